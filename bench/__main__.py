"""``make bench``: one run on the local stack, the figures of issue 10 in
``bench-results/report.json`` and ``bench-results/report.md``.

``python -m bench [--smoke] [--api-instances N] [--worker-instances N] [--refunds N] [--out DIR]``;
``--smoke`` measures the same things at tiny counts (CI runs it so that the benchmark cannot
rot); ``--worker-instances 2`` runs two copies of every worker in each consumer group (the way
to use more cores and more machines).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

from bench import system
from bench.ceilings import measure_ceilings
from bench.growth import grow_log, rebuild_on
from bench.peer import measure_peer
from bench.report import markdown, ratios, targets
from bench.scale import FULL, SMOKE, Scale
from bench.stack import BENCH_DATA, REPO, BenchStack, bench_stack
from bench.sweep import measure_sweep
from services.platform.eventloop import run_on_uvloop

RESULTS = REPO / "bench-results"


async def measure(stack: BenchStack, scale: Scale, workers: int) -> dict[str, Any]:
    """Every figure, in an order where each step leaves the next a known state, and the wall
    time of each step (``steps_seconds``). With copies of every worker, one copy of each is
    SIGKILLed halfway through the lifecycles."""
    killed = [f"{s}-worker:{s}-worker-1" for s in system.SERVICES] if workers > 1 else []
    steps: dict[str, float] = {}

    async def timed(step: str, work: Awaitable[Any]) -> Any:
        started = time.monotonic()
        try:
            return await work
        finally:
            steps[step] = round(time.monotonic() - started, 1)

    figures: dict[str, Any] = {"ceilings": await timed("ceilings", measure_ceilings(
        stack.kafka_bootstrap, stack.server_url, http_port=stack.layout.offset + 8090,
        scale=scale.ceilings))}
    figures["peer"] = await timed("peer", asyncio.to_thread(
        measure_peer, stack.server_url, scale.peer_orders))
    found = figures["system"] = {}
    await timed("warm_up", system.commands(stack, scale.concurrency, scale.warm_up_seconds))
    found["commands"] = await timed("commands", system.commands(
        stack, scale.concurrency, scale.commands_seconds))
    found["lifecycles"] = await timed("lifecycles", system.lifecycles(
        stack, scale.lifecycle_concurrency, scale.lifecycle_seconds, killed))
    found["paced"] = await timed("paced", system.paced(stack, scale.rate, scale.paced_seconds))
    found["rebuild"] = await timed("rebuild", rebuild_on(stack, scale.rebuild_events))
    found["growth"] = {"log": await timed("growth", grow_log(stack, scale.growth_orders))}
    found["growth"]["paced"] = await timed("growth_paced", system.paced(
        stack, scale.rate, scale.paced_seconds))
    # last: its scratch database of 11 GB is written out and dropped behind it, which would
    # weigh on whatever came next
    found["sweep"] = await timed("sweep", measure_sweep(stack.server_url, scale.refunds))
    figures["steps_seconds"] = steps
    return figures


def report(figures: dict[str, Any], scale: Scale, started: dt.datetime,
           options: argparse.Namespace) -> dict[str, Any]:
    """The figures with their ratios and targets, and what they were measured on."""
    return {"started_at": started.isoformat(timespec="seconds"), "scale": scale.name,
            "machine": f"{os.cpu_count()} cores, {platform.platform()}, "
                       f"Python {platform.python_version()}",
            "api_instances": options.api_instances,
            "worker_instances": options.worker_instances, "open_refunds": scale.refunds,
            "ratios": ratios(figures), "targets": targets(figures), "figures": figures,
            "bounds": _bounds()}


BOUNDS_HEADING = "## Targets missed, and what bounds them"


def _bounds() -> list[str]:
    """What bounds the missed targets, as found by profiling: that section of
    docs/decisions/0017, where the profiles and what was tried are written down."""
    note = REPO / "docs" / "decisions" / "0017-performance.md"
    _, _, after = note.read_text().partition(BOUNDS_HEADING)
    section = after.split("\n## ", 1)[0]
    return [*section.strip().splitlines(), "", f"From {note.relative_to(REPO)}."]


def _free_bytes(data_dir: Path) -> int:
    """The disk free for the run's data: what is free now, and what the previous run left in
    ``data_dir``, which the run deletes first."""
    held = sum(entry.stat().st_size for entry in data_dir.rglob("*")
               if entry.is_file() and not entry.is_symlink()) if data_dir.exists() else 0
    return shutil.disk_usage(data_dir.parent if data_dir.parent.exists() else REPO).free + held


def main(argv: Sequence[str] | None = None) -> int:
    """Start the stack, measure, write the report, stop everything."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="tiny counts (CI)")
    parser.add_argument("--api-instances", type=int, default=1)
    parser.add_argument("--worker-instances", type=int, default=1)
    parser.add_argument("--refunds", type=int, default=None,
                        help="open refunds for the sweep (default 1,000,000; 2,000 with --smoke)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    options = parser.parse_args(argv)
    scale = SMOKE if options.smoke else FULL
    if options.refunds:
        scale = dataclasses.replace(scale, refunds=options.refunds)
    if shortfall := scale.disk_shortfall(_free_bytes(BENCH_DATA)):
        parser.error(shortfall)  # before starting anything: not six minutes into the run
    started, clock = dt.datetime.now(dt.UTC), time.monotonic()
    with bench_stack(api_instances=options.api_instances,
                     worker_instances=options.worker_instances) as stack:
        ready = round(time.monotonic() - clock, 1)
        figures = run_on_uvloop(measure(stack, scale, options.worker_instances))
        stopping = time.monotonic()
    figures["steps_seconds"] = {"stack_start": ready, **figures["steps_seconds"],
                                "stack_stop": round(time.monotonic() - stopping, 1)}
    figures["bench_seconds"] = round(time.monotonic() - clock, 1)
    result = report(figures, scale, started, options)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "report.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (options.out / "report.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
