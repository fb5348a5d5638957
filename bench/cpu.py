"""Where the stack's CPU goes: the CPU time of each of its parts around a measurement.

On a two-core machine every part of the stack (the APIs, the relays, the workers, Kafka,
PostgreSQL) shares the same cores, so the figure that bounds the commands per second is the
CPU time each part spends per command. ``make bench`` reports it for (a), per part, in
milliseconds per order placed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import psutil

from bench.stack import BenchStack
from deploy.local._proc import read_pid
from deploy.local.postgres import LocalPostgres

__all__ = ["cpu_seconds", "per_order_ms", "supervised_pids"]


def cpu_seconds(stack: BenchStack) -> dict[str, float]:
    """The CPU seconds (user and system) each part of the stack has used so far: each process
    supervisord runs (copies of one program together), the broker, and PostgreSQL with every
    backend (those that ended too, as the postmaster has reaped them)."""
    used: dict[str, float] = defaultdict(float)
    for name, pid in supervised_pids(stack.control("status")):
        used[name] += _used(pid)
    used["kafka"] += _used(read_pid(stack.layout.data_dir / "kafka" / "kafka.pid"))
    used["postgres"] += _postgres(LocalPostgres(stack.layout.data_dir / "postgres").pid())
    return dict(used)


def per_order_ms(before: Mapping[str, float], after: Mapping[str, float],
                 orders: int) -> dict[str, float]:
    """Milliseconds of CPU per order for each part (busiest first), and their ``total``."""
    spent = {part: after[part] - before.get(part, 0.0) for part in after}
    shares = {part: round(1000 * seconds / max(orders, 1), 2)
              for part, seconds in sorted(spent.items(), key=lambda item: -item[1])
              if seconds > 0}
    return {**shares, "total": round(sum(shares.values()), 2)}


def supervised_pids(status: str) -> list[tuple[str, int]]:
    """(program, pid) of each running process, from ``supervisorctl status`` lines such as
    ``orders-worker:orders-worker-1   RUNNING   pid 4242, uptime 0:01:02``."""
    found = []
    for line in status.splitlines():
        words = line.split()
        if len(words) > 3 and words[1] == "RUNNING" and words[2] == "pid":
            found.append((words[0].split(":")[0], int(words[3].rstrip(","))))
    return found


def _used(pid: int | None) -> float:
    try:
        times = psutil.Process(pid).cpu_times() if pid else None
    except psutil.Error:
        return 0.0  # ended meanwhile
    return 0.0 if times is None else times.user + times.system


def _postgres(postmaster: int | None) -> float:
    if postmaster is None:
        return 0.0
    try:
        process = psutil.Process(postmaster)
        times = process.cpu_times()
        backends = process.children()
    except psutil.Error:
        return 0.0
    reaped = times.children_user + times.children_system
    return times.user + times.system + reaped + sum(_used(child.pid) for child in backends)
