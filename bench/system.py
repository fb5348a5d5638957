"""The system's figures, through its HTTP APIs on the stack ``make run`` starts (``bench.stack``):

* ``commands``: sustained ``POST /orders`` per second, closed loop, until every read model has
  caught up (the catch-up time counts);
* ``lifecycles``: whole lives per second (place → pay on the bank's page, the bank's
  server-to-server answer → capture and confirmation → ship → deliver), every read model caught
  up at the end;
* ``paced``: ``POST /orders`` at a fixed rate (open loop): command latency, and the end-to-end
  lag of every event recorded meanwhile, from its commit in its service to its effect in each
  consuming service (the event store's ``recorded_at`` → the consumer's ``processed_events``
  row, one PostgreSQL server and one clock; both are the transactions' start times, which the
  commits follow by a few milliseconds), and the machine's speed meanwhile (``bench.speed``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
import httpx

from bench import speed
from bench.cpu import cpu_seconds, per_order_ms
from bench.load import Request, closed_loop, open_loop, percentiles
from bench.stack import BenchStack
from deploy.demo import order_body
from deploy.faults.shop import Shop, Urls, drive
from services.ops.lag import measure
from services.ops.settings import OpsSettings
from services.platform.clock import SharedClock

SERVICES = ("orders", "payments", "fulfilment", "refunds")
WINES = ("COTES-ROUSSILLON-ROUGE-2022", "COTES-ROUSSILLON-BLANC-2024",
         "COTES-ROUSSILLON-ROSE-2025", "VILLAGES-TRADITION-2021", "MUSCAT-RIVESALTES-2023",
         "RIVESALTES-GRENAT-2019")
"""The demo stock's wines with 100,000 bottles each: one bottle of two of them per order, so
that the benchmark never runs out of stock."""


def place_order(stack: BenchStack) -> Any:
    """The request factory of ``POST /orders``: a new buyer, two bottles, an idempotency key."""
    headers = stack.bearer("shop")

    def make(index: int) -> Request:
        lines = [{"sku": WINES[index % 6], "quantity": 1},
                 {"sku": WINES[(index + 1) % 6], "quantity": 1}]
        return Request("POST", "/orders", json=order_body(lines=lines),
                       headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    return make


async def caught_up(stack: BenchStack, timeout: float = 300) -> float:
    """Wait until every outbox is published and every consumer group has no lag; seconds."""
    settings = OpsSettings(kafka_bootstrap=stack.kafka_bootstrap,
                           database_url=stack.server_url)
    started = time.monotonic()
    while True:
        report = await measure(settings)
        lag = sum(group.lag for group in report.groups.values())
        unpublished = sum(box.unpublished or 0 for box in report.outboxes.values())
        if lag == 0 and unpublished == 0:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not caught up after {timeout} s: lag {lag}, "
                               f"unpublished {unpublished}")
        await asyncio.sleep(0.2)


async def commands(stack: BenchStack, concurrency: int, seconds: float) -> dict[str, Any]:
    """(a) Sustained ``POST /orders`` per second, caught up at the end; with the CPU each
    part of the stack spent per order (``bench.cpu``), what bounds the figure."""
    before = cpu_seconds(stack)
    result = await closed_loop(stack.url("orders"), place_order(stack),
                               concurrency=concurrency, duration_s=seconds)
    catch_up = await caught_up(stack)
    accepted = result.statuses.get(201, 0)
    return {"concurrency": concurrency, "seconds": round(result.seconds, 2),
            "catch_up_s": round(catch_up, 2), "accepted": accepted,
            "commands_per_s": round(accepted / (result.seconds + catch_up), 1),
            "latency": result.summary(),
            "cpu_ms_per_order": per_order_ms(before, cpu_seconds(stack), accepted)}


async def lifecycles(stack: BenchStack, concurrency: int, seconds: float,
                     kill_midway: Sequence[str] = ()) -> dict[str, Any]:
    """(b) Whole lifecycles per second, every read model caught up at the end; the processes
    ``kill_midway`` (supervisord names) are SIGKILLed halfway through (they are restarted).
    With nothing killed, the CPU each part of the stack spent per lifecycle completed, and the
    load client's own (it shares the cores)."""
    clock = SharedClock(stack.layout.data_dir / "clock.json")
    before, client_before = cpu_seconds(stack), time.process_time()
    urls = Urls(**{service: stack.url(service) for service in SERVICES})
    deadline, done = time.monotonic() + seconds, []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(
            max_connections=4 * concurrency)) as http:
        shop = Shop(http, lambda: clock.now().isoformat(), urls, patience=60,
                    token=stack.bearer)

        async def driver() -> None:
            while time.monotonic() < deadline:
                done.append(await drive(shop, "delivered"))

        started = time.monotonic()
        await asyncio.gather(*(driver() for _ in range(concurrency)),
                             _kill_after(stack, seconds / 2, kill_midway))
        elapsed = time.monotonic() - started
    catch_up = await caught_up(stack)
    completed = [life for life in done if life.error is None]
    cpu = {} if kill_midway else {
        "cpu_ms_per_lifecycle": per_order_ms(before, cpu_seconds(stack), len(completed)),
        "client_cpu_ms_per_lifecycle": round(
            1000 * (time.process_time() - client_before) / max(len(completed), 1), 2)}
    return {"concurrency": concurrency, "seconds": round(elapsed, 2), **cpu,
            "catch_up_s": round(catch_up, 2), "completed": len(completed),
            "killed_midway": list(kill_midway), "doubled_effects": await doubled_effects(stack),
            "stuck": [life.error for life in done if life.error][:5],
            "lifecycles_per_s": round(len(completed) / (elapsed + catch_up), 2),
            "lifecycle_seconds": percentiles([life.seconds * 1000 for life in completed])}


async def _kill_after(stack: BenchStack, delay: float, names: Sequence[str]) -> None:
    if names:
        await asyncio.sleep(delay)
        await asyncio.to_thread(stack.control, "signal", "KILL", *names)


async def doubled_effects(stack: BenchStack) -> dict[str, int]:
    """Reactions recorded twice for one cause (a consumer that applied an event twice would
    record its reaction twice), out of every event recorded in reaction to another: ``doubled``
    is 0 when nothing was doubled, and ``reactions`` shows there was something to double."""
    counts = {"reactions": 0, "doubled": 0}
    for service in SERVICES:
        conn = await asyncpg.connect(stack.database_url(service))
        try:
            row = await conn.fetchrow(
                "SELECT count(*) AS reactions, count(*) - count(DISTINCT (cause, type)) AS doubled "
                "FROM (SELECT envelope->>'causation_id' AS cause, type FROM events "
                "WHERE envelope->>'causation_id' IS NOT NULL) AS caused")
        finally:
            await conn.close()
        counts = {key: counts[key] + int(row[key]) for key in counts}
    return counts


async def paced(stack: BenchStack, rate: float, seconds: float) -> dict[str, Any]:
    """(c) ``POST /orders`` at ``rate`` per second: command latency and end-to-end lag; the
    orders the API shed (503) are counted in the command's ``errors_503``; ``work_cpu_ms``: the
    machine's speed while the orders were sent (``bench.speed``), to compare phases by."""
    window_start = await _server_now(stack)
    async with speed.sampled() as readings:
        # a 503 is not asked again: at a fixed rate, what the system sheds is part of the answer
        result = await open_loop(stack.url("orders"), place_order(stack), rate_per_s=rate,
                                 duration_s=seconds, retry_503=False)
    window_end = await _server_now(stack)
    await caught_up(stack)
    lags = await end_to_end_lags(stack, window_start, window_end)
    return {"rate_per_s": rate, "seconds": seconds, "work_cpu_ms": speed.summary(readings),
            "command": result.summary(),
            "lag": {consumer: percentiles(values) for consumer, values in lags.items()},
            "lag_all": percentiles([v for values in lags.values() for v in values])}


async def _server_now(stack: BenchStack) -> Any:
    conn = await asyncpg.connect(stack.server_url)
    try:
        return await conn.fetchval("SELECT clock_timestamp()")
    finally:
        await conn.close()


async def end_to_end_lags(stack: BenchStack, since: Any, until: Any) -> dict[str, list[float]]:
    """Milliseconds from each event's commit (recorded in ``[since, until]``) to its
    application by each consumer that applied it, by consumer."""
    recorded: dict[Any, Any] = {}
    applied: list[asyncpg.Record] = []
    for service in SERVICES:
        conn = await asyncpg.connect(stack.database_url(service))
        try:
            for row in await conn.fetch("SELECT event_id, recorded_at FROM events WHERE "
                                        "recorded_at BETWEEN $1 AND $2", since, until):
                recorded[row["event_id"]] = row["recorded_at"]
            applied += await conn.fetch("SELECT consumer, event_id, processed_at FROM "
                                        "processed_events WHERE processed_at >= $1", since)
        finally:
            await conn.close()
    return _lags(recorded, applied)


def _lags(recorded: dict[Any, Any], applied: Sequence[asyncpg.Record]) -> dict[str, list[float]]:
    lags: dict[str, list[float]] = {}
    for row in applied:
        at = recorded.get(row["event_id"])
        if at is not None:
            lag = (row["processed_at"] - at).total_seconds() * 1000
            lags.setdefault(row["consumer"], []).append(lag)
    return lags
