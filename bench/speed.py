"""How fast the machine is at a moment: the CPU time one fixed piece of Python work takes.

The bench runs on a shared machine whose speed changes from one minute to the next, with no
sign of it in the guest (no steal time): on 2026-12-04 one fixed loop (the sum of ten million
integers) took 133 to 213 ms of CPU in phases a few minutes apart, and the stack's CPU per
order moved with it. (f) is judged against (c), measured minutes earlier, so each fixed-rate
phase records the machine's speed just before it starts (the stack caught up and idle): a
verdict made across a change of speed can then be read as such
(docs/decisions/0017-performance.md).

Process CPU time, not wall time: the work is counted only while it runs, so what it measures
is how much a core gets done, not how many other processes wanted it.
"""

from __future__ import annotations

import statistics
import time

__all__ = ["WORK", "work_cpu_ms"]

WORK = 300_000
"""Iterations of the fixed work: about 15 ms of CPU on a fast machine."""


def work_cpu_ms(rounds: int = 5) -> float:
    """The median CPU time, in milliseconds, of ``rounds`` runs of the fixed work: lower is a
    faster machine. A median, so one run interrupted by the scheduler does not decide it."""
    return round(statistics.median(_one_round() for _ in range(rounds)), 2)


def _one_round() -> float:
    started = time.process_time()
    total = 0
    for i in range(WORK):
        total += (i * i) % 7
    if total < 0:  # never: keeps the loop's result used
        raise AssertionError(total)
    return (time.process_time() - started) * 1000
