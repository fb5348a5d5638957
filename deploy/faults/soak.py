"""The bounded soak: steady lifecycles for N seconds while the memory of every process and the
consumers' lag are sampled, and the processes' logs are read for errors afterwards."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import psutil

from deploy.faults.checks import lag
from deploy.faults.shop import Lifecycle, drive
from deploy.faults.suite import Suite, lifecycle_counts

ERROR = re.compile(r"\b(ERROR|CRITICAL|Traceback)\b")
SAMPLE_SECONDS = 5.0


async def soak(suite: Suite) -> dict[str, Any]:
    """Lifecycles at ``scale.soak_rate`` per second for ``scale.soak_seconds``; memory growth
    per process (after a warm-up fifth), the largest lag seen, and the error lines logged."""
    seconds, rate = suite.scale.soak_seconds, suite.scale.soak_rate
    log_sizes = {name: p.log_path.stat().st_size if p.log_path.exists() else 0
                 for name, p in suite.stack.processes.items()}
    memory: dict[str, list[float]] = {name: [] for name in suite.stack.processes}
    lags: list[int] = []
    tasks: list[asyncio.Task[Lifecycle]] = []
    end, next_sample, kinds = time.monotonic() + seconds, 0.0, 0
    while time.monotonic() < end:
        kinds += 1
        kind = "refunded" if kinds % suite.scale.refunded_every == 0 else "delivered"
        tasks.append(asyncio.create_task(drive(suite.shop, kind)))
        if time.monotonic() >= next_sample:
            next_sample = time.monotonic() + SAMPLE_SECONDS
            _sample_memory(suite, memory)
            lags.append(sum((await lag(suite.settings, suite.services)).values()))
        await asyncio.sleep(1 / rate)
    lifecycles = list(await asyncio.gather(*tasks))
    return {"seconds": seconds, "rate_per_s": rate, **lifecycle_counts(lifecycles),
            "memory": _growth(memory), "max_lag": max(lags, default=0), "lag_samples": lags,
            "errors": _errors(suite, log_sizes)}


def _sample_memory(suite: Suite, memory: dict[str, list[float]]) -> None:
    for name, process in suite.stack.processes.items():
        if process.running and process.process is not None and name in memory:
            try:
                rss = psutil.Process(process.process.pid).memory_info().rss
            except psutil.NoSuchProcess:  # died between the check and the read
                continue
            memory[name].append(rss / 2**20)


def _growth(memory: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    grown = {}
    for name, samples in memory.items():
        if len(samples) < 2:
            continue
        warm = samples[len(samples) // 5:]  # start-up and first caches are not growth
        grown[name] = {"first_mb": round(warm[0], 1), "last_mb": round(warm[-1], 1),
                       "growth_mb": round(warm[-1] - warm[0], 1)}
    return grown


def _errors(suite: Suite, sizes: dict[str, int]) -> list[str]:
    found = []
    for name, process in suite.stack.processes.items():
        if not process.log_path.exists():
            continue
        with process.log_path.open("rb") as log:
            log.seek(sizes.get(name, 0))
            text = log.read().decode(errors="replace")
        found += [f"{name}: {line[:200]}" for line in text.splitlines() if ERROR.search(line)]
    return found
