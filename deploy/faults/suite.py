"""The fault suite (``make faults``; a short form runs in the test suite): lifecycles under one
fault at a time, the guarantees checked after each, then overload and a bounded soak.

The report (``bench-results/faults.json`` and ``faults.md``) lists each fault with its counts:
lifecycles driven and completed, events on the log, events applied, and every finding.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from deploy.faults.checks import Findings, at_rest, check_log, check_rebuilds
from deploy.faults.injections import Fault, Stack
from deploy.faults.shop import Lifecycle, Shop, drive
from services.platform.service import Service
from services.platform.settings import LogSettings

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Scale:
    """How much load each part of the suite drives."""

    lifecycles_per_fault: int
    refunded_every: int
    rebuild_after_each: bool
    overload_seconds: float
    overload_concurrency: tuple[int, ...]
    soak_seconds: float
    soak_rate: float
    """Lifecycles started per second during the soak."""
    spacing: float
    """Seconds between two lifecycles' starts while a fault acts."""


SHORT = Scale(lifecycles_per_fault=6, refunded_every=2, rebuild_after_each=False,
              overload_seconds=3, overload_concurrency=(8, 16, 32), soak_seconds=30,
              soak_rate=1.0, spacing=1.0)
FULL = Scale(lifecycles_per_fault=16, refunded_every=3, rebuild_after_each=True,
             overload_seconds=15, overload_concurrency=(8, 16, 32), soak_seconds=300,
             soak_rate=3.0, spacing=0.4)


@dataclass
class Suite:
    """Everything a round needs."""

    stack: Stack
    shop: Shop
    settings: LogSettings
    services: Sequence[Service]
    pools: Mapping[str, asyncpg.Pool]
    process_env: Mapping[str, str]
    scale: Scale

    async def round(self, fault: Fault) -> dict[str, Any]:
        """Lifecycles started ``scale.spacing`` apart from before ``fault`` is injected until it is
        healed (at least ``lifecycles_per_fault``); the guarantees checked after."""
        started, restarts_before = time.monotonic(), dict(self.stack.restarts)
        supervisor = asyncio.create_task(self._supervise())
        tasks: list[asyncio.Task[Lifecycle]] = []
        act: asyncio.Task[None] | None = None
        try:
            while len(tasks) < self.scale.lifecycles_per_fault or act is None or not act.done():
                kind = "refunded" if len(tasks) % self.scale.refunded_every == 0 else "delivered"
                tasks.append(asyncio.create_task(drive(self.shop, kind)))
                if len(tasks) == 2:
                    act = asyncio.create_task(fault.act(self.stack))
                await asyncio.sleep(self.scale.spacing)
            await act
            lifecycles = list(await asyncio.gather(*tasks))
        finally:
            supervisor.cancel()
        findings = await self.check({lc.order_id for lc in lifecycles if lc.order_id},
                                    self.scale.rebuild_after_each)
        return {"fault": fault.name, "kind": fault.kind,
                "seconds": round(time.monotonic() - started, 1),
                **lifecycle_counts(lifecycles),
                "restarted": {name: n - restarts_before.get(name, 0)
                              for name, n in self.stack.restarts.items()
                              if n > restarts_before.get(name, 0)},
                **findings.as_dict()}

    async def _supervise(self) -> None:
        while True:
            await self.stack.supervise()
            await asyncio.sleep(0.5)

    async def check(self, orders: set[str], rebuild: bool) -> Findings:
        """Wait until the system is at rest, then check every guarantee for ``orders``."""
        findings = Findings()
        deadline = time.monotonic() + 180
        while not await at_rest(self.settings, self.services, self.pools):
            await self.stack.supervise()
            if time.monotonic() > deadline:
                findings.verify_findings.append("not at rest within 180 s")
                break
            await asyncio.sleep(0.5)
        await check_log(self.settings, self.services, orders, self.pools, findings)
        if rebuild:
            await check_rebuilds(self.services, self.pools, self.process_env, findings)
        return findings


def lifecycle_counts(lifecycles: Sequence[Lifecycle]) -> dict[str, Any]:
    """How many lifecycles were driven, completed, and which got stuck."""
    stuck = [f"{lc.kind} {lc.order_id}: {lc.error}" for lc in lifecycles if lc.error]
    return {"lifecycles": len(lifecycles), "completed": len(lifecycles) - len(stuck),
            "stuck": stuck[:20], "slowest_lifecycle_s": round(max(
                (lc.seconds for lc in lifecycles), default=0.0), 1)}


async def overload(shop: Shop, concurrency: Sequence[int], seconds: float) -> list[dict[str, Any]]:
    """Closed-loop POST /orders at each concurrency, measured by an independent client process
    (``bench.overload``): orders/s, the accepted orders' latency, and how many were shed with
    503 (admission control) rather than left to wait, with the refusals' latency."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.overload", shop.urls.orders,
        "--clients", ",".join(str(clients) for clients in concurrency),
        "--seconds", str(seconds), stdout=asyncio.subprocess.PIPE, cwd=REPO,
        env={**os.environ, "OVERLOAD_AUTHORIZATION": shop.roles["shop"]["Authorization"]})
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"bench.overload ended with {process.returncode}")
    return list(json.loads(out))


def write_report(report: Mapping[str, Any], directory: Path) -> Path:
    """``faults.json`` and a Markdown table ``faults.md``; the JSON's path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "faults.json").write_text(json.dumps(report, indent=2, default=str))
    (directory / "faults.md").write_text(markdown(report))
    return directory / "faults.json"


def markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown tables."""
    at_end = (report.get("faults") or [{}])[-1].get("read_models_at_end", {}).get(
        "ok", "checked after each fault (column `rebuild checked`)")
    lines = ["# Fault suite", "", f"All guarantees held: **{report.get('ok')}**", "",
             f"Scale: {report.get('scale')}", "",
             f"Read models equal to their rebuild after the last fault: {at_end}", "",
             "| fault | lifecycles | completed | events on log | applied | restarted | "
             "findings | rebuild checked |", "|---|---|---|---|---|---|---|---|"]
    for r in report.get("faults", []):
        found = sum(r["counts"].values())
        lines.append(f"| {r['fault']} | {r['lifecycles']} | {r['completed']} | "
                     f"{r['events_on_log']} | {r['applied']} | {r['restarted'] or '-'} | "
                     f"{found} | {r['rebuild_checked']} |")
    lines += ["", "## Overload (POST /orders, closed loop)", "",
              "| clients | orders/s | p50 ms (201) | p99 ms (201) | shed 503 | p99 ms (503) | "
              "answers |", "|---|---|---|---|---|---|---|"]
    for o in report.get("overload", []):
        lines.append(f"| {o['clients']} | {o['orders_per_s']} | {o['p50_ms']} | {o['p99_ms']} "
                     f"| {o['shed_503']} | {o['shed_p99_ms']} | {o['statuses']} |")
    soak = report.get("soak")
    if soak:
        lines += ["", f"## Soak ({soak['seconds']} s, {soak['lifecycles']} lifecycles, "
                  f"{soak['completed']} completed)", "",
                  "| process | RSS first MB | RSS last MB | growth MB |", "|---|---|---|---|"]
        for name, m in soak["memory"].items():
            lines.append(f"| {name} | {m['first_mb']} | {m['last_mb']} | {m['growth_mb']} |")
        lines += ["", f"Max consumer lag: {soak['max_lag']}; errors in logs: "
                  f"{len(soak['errors'])}"]
    return "\n".join(lines) + "\n"


Now = Callable[[], str]
