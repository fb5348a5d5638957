"""Running the whole fault suite on a running system: every fault, the guarantees after each,
overload and soak; the report."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from deploy.faults.injections import Fault, Stack
from deploy.faults.shop import Shop
from deploy.faults.soak import soak
from deploy.faults.suite import Scale, Suite, overload
from deploy.infrastructure import Infrastructure
from deploy.system import TEST_CLOCK
from services.fulfilment.main import SERVICE as FULFILMENT
from services.orders.main import SERVICE as ORDERS
from services.payments.main import SERVICE as PAYMENTS
from services.platform.clock import SharedClock
from services.platform.db import create_pool
from services.platform.settings import LogSettings
from services.refunds.main import SERVICE as REFUNDS

SERVICES = (ORDERS, PAYMENTS, FULFILMENT, REFUNDS)
log = logging.getLogger("faults")


@contextlib.asynccontextmanager
async def suite_on(stack: Stack, infra: Infrastructure, scale: Scale) -> AsyncIterator[Suite]:
    """A suite on the running ``stack``: its pools, its HTTP client, its shop."""
    pools = {s.name: await create_pool(infra.database_url(s.name), max_size=4) for s in SERVICES}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    try:
        async with httpx.AsyncClient(timeout=30, limits=limits) as http:
            shop = Shop(http, lambda: SharedClock(TEST_CLOCK).now().isoformat())
            env = {**stack.processes["orders-api"].env, "PATH": "/usr/bin:/bin"}
            yield Suite(stack, shop, LogSettings(kafka_bootstrap=infra.kafka_bootstrap,
                                                 database_url=infra.database_server_url),
                        SERVICES, pools, env, scale)
    finally:
        for pool in pools.values():
            await pool.close()


async def run_faults(suite: Suite, faults: Sequence[Fault]) -> list[dict[str, Any]]:
    """One round per fault; the last round also rebuilds every read model when the scale does
    not rebuild after each."""
    rounds = []
    for index, fault in enumerate(faults):
        log.warning("fault %d/%d: %s", index + 1, len(faults), fault.name)
        result = await suite.round(fault)
        rounds.append(result)
        log.warning("  → ok=%s %s", result["ok"], result["counts"])
    if rounds and not suite.scale.rebuild_after_each:
        findings = await suite.check(set(), rebuild=True)
        rounds[-1]["read_models_at_end"] = findings.as_dict()
        rounds[-1]["ok"] = rounds[-1]["ok"] and findings.ok
    return rounds


async def run_all(suite: Suite, faults: Sequence[Fault], *, with_overload: bool = True,
                  with_soak: bool = True) -> dict[str, Any]:
    """The whole report."""
    report: dict[str, Any] = {"scale": {"name": scale_name(suite.scale), **vars(suite.scale)}}
    report["faults"] = await run_faults(suite, faults)
    if with_soak:
        report["soak"] = await soak(suite)
    if with_overload:
        scale = suite.scale
        report["overload"] = await overload(suite.shop, scale.overload_concurrency,
                                            scale.overload_seconds)
    report["ok"] = all(r["ok"] and not r["stuck"] for r in report["faults"]) and (
        not with_soak or not report["soak"]["stuck"])
    return report


def scale_name(scale: Scale) -> str:
    """``short`` or ``full``, for the report."""
    return "short" if scale.lifecycles_per_fault < 10 else "full"
