"""How fast the machine is while a phase runs: the CPU time one fixed piece of Python work takes,
sampled every few seconds by a process of its own.

The bench runs on a shared machine whose speed changes from one minute to the next, with no
sign of it in the guest (no steal time): on 2026-12-04 one fixed loop (the sum of ten million
integers) took 133 to 213 ms of CPU in phases a few minutes apart. (f) is judged against (c),
measured minutes earlier, so each fixed-rate phase records the machine's speed while it runs
(``sampled``): a verdict made across a change of speed can then be read as such
(docs/decisions/0017-performance.md). One reading taken before a phase was not enough: in one
run it called the machine faster in (f) than in (c), and (f) then shed orders.

Process CPU time, not wall time: the work is counted only while it runs, so what it measures
is how much a core gets done, not how many other processes wanted it. ``python -m bench.speed
SECONDS`` prints a reading every SECONDS until it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

__all__ = ["WORK", "sampled", "summary", "work_cpu_ms"]

REPO = Path(__file__).resolve().parents[1]
"""``bench.stack.REPO``, not imported from there: the sampling process would load the deploy
modules with it, half a second of CPU in the phase it measures."""

WORK = 300_000
"""Iterations of the fixed work: about 15 ms of CPU on a fast machine."""

EVERY_SECONDS = 2.0
"""Between two readings: three runs of the work every two seconds, about 2 % of one core."""


def work_cpu_ms(rounds: int = 3) -> float:
    """The median CPU time, in milliseconds, of ``rounds`` runs of the fixed work: lower is a
    faster machine. A median, so one run interrupted by the scheduler does not decide it."""
    return round(statistics.median(_one_round() for _ in range(rounds)), 2)


def _one_round() -> float:
    started = time.process_time()
    sum((i * i) % 7 for i in range(WORK))
    return (time.process_time() - started) * 1000


@contextlib.asynccontextmanager
async def sampled(every: float = EVERY_SECONDS) -> AsyncIterator[list[float]]:
    """While the body runs, a process of its own appends a reading of ``work_cpu_ms`` to the
    yielded list every ``every`` seconds, the first at once; at least that one is there when
    the body ends."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.speed", str(every), stdout=asyncio.subprocess.PIPE,
        cwd=REPO)  # where ``bench`` is importable, wherever the caller runs from
    readings: list[float] = []
    first = asyncio.Event()
    reader = asyncio.create_task(_read(process, readings, first))
    try:
        yield readings
    finally:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(first.wait(), timeout=10)
        process.terminate()
        await process.wait()
        await reader


async def _read(process: asyncio.subprocess.Process, readings: list[float],
                first: asyncio.Event) -> None:
    if process.stdout is None:
        raise RuntimeError("the sampling process has no output")
    async for line in process.stdout:
        readings.append(float(line))
        first.set()


def summary(readings: list[float]) -> dict[str, float | int | None]:
    """The readings' median (what the report compares), fastest and slowest, and how many."""
    if not readings:
        return {"median": None, "min": None, "max": None, "readings": 0}
    return {"median": round(statistics.median(readings), 2), "min": min(readings),
            "max": max(readings), "readings": len(readings)}


def main(argv: list[str]) -> None:
    """Print a reading every ``argv[0]`` seconds until stopped."""
    every = float(argv[0]) if argv else EVERY_SECONDS
    while True:
        print(work_cpu_ms(), flush=True)
        time.sleep(every)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        main(sys.argv[1:])
