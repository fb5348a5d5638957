"""Timed work woken by the commit that makes it due (on a real PostgreSQL server): the
events each service's migrations name wake the worker's pass at once, others wake nothing, and
without the database a pass still runs at its interval."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from services.orders import domain, handlers
from services.orders.subscriptions import periodic as orders_periodic
from services.payments.subscriptions import CAPTURE, PAYOUT
from services.platform.wakeups import Wakeups
from tests.component.conftest import context
from tests.component.support import recorded
from tests.component.test_orders_timed_work import place

pytestmark = pytest.mark.asyncio(loop_scope="session")
NEVER = 60.0  # an interval no test waits out: a wait that returns was woken


@contextlib.asynccontextmanager
async def listening(server_url: str, service: str) -> AsyncIterator[Wakeups]:
    wakeups = Wakeups(urlunsplit(urlsplit(server_url)._replace(path=f"/component_{service}")))
    await wakeups.listen()
    try:
        yield wakeups
    finally:
        await wakeups.close()


@pytest_asyncio.fixture(loop_scope="session")
async def orders_wakeups(orders_pool, server_url: str) -> AsyncIterator[Wakeups]:
    async with listening(server_url, "orders") as wakeups:
        yield wakeups


@pytest_asyncio.fixture(loop_scope="session")
async def payments_wakeups(payments_pool, server_url: str) -> AsyncIterator[Wakeups]:
    async with listening(server_url, "payments") as wakeups:
        yield wakeups


async def pay(pool: asyncpg.Pool, order_id: str, clock) -> None:
    async with pool.acquire() as conn, conn.transaction():
        [placed] = await recorded(conn, order_id)
        await handlers.handle(conn, order_id, domain.RecordPayment(
            f"{order_id}.aa", 4680, clock.now()), context(clock, "orders"), placed)


async def append_raw(pool: asyncpg.Pool, *types: str) -> str:
    """Events of ``types`` committed on a new stream of their own (what the triggers see)."""
    order_id = f"wake-{uuid.uuid4()}"
    async with pool.acquire() as conn, conn.transaction():
        for version, kind in enumerate(types, start=1):
            await conn.execute(
                "INSERT INTO events (event_id, order_id, version, type, envelope) "
                "VALUES ($1, $2, $3, $4, $5)", uuid.uuid4(), order_id, version, kind,
                json.loads('{"raw": true}'))
    return order_id


async def test_an_order_paid_wakes_the_mailer_when_the_payment_commits(
        orders_pool, orders_wakeups, clock) -> None:
    order_id = await place(orders_pool, clock)
    woken = asyncio.create_task(orders_wakeups.wait("mail", NEVER))

    await pay(orders_pool, order_id, clock)

    assert await asyncio.wait_for(woken, 10) is True


async def test_an_order_placed_wakes_no_timed_work(orders_pool, orders_wakeups, clock) -> None:
    woken = [asyncio.create_task(orders_wakeups.wait(work, 0.5)) for work in ("mail", "invoices")]

    await place(orders_pool, clock)

    assert await asyncio.gather(*woken) == [False, False]


async def test_a_payment_authorised_wakes_the_capture_and_a_payout_ordered_the_payout(
        payments_pool, payments_wakeups) -> None:
    capture = asyncio.create_task(payments_wakeups.wait("capture", NEVER))
    await append_raw(payments_pool, "PaymentExpected", "PaymentAuthorised")
    assert await asyncio.wait_for(capture, 10) is True

    payout = asyncio.create_task(payments_wakeups.wait("payout", NEVER))
    capture_again = asyncio.create_task(payments_wakeups.wait("capture", 0.5))
    await append_raw(payments_pool, "RefundPayoutOrdered")
    assert await asyncio.wait_for(payout, 10) is True
    assert await capture_again is False


async def test_a_commit_during_a_pass_wakes_the_next_pass_at_once(
        payments_pool, payments_wakeups) -> None:
    first = asyncio.create_task(payments_wakeups.wait("capture", NEVER))
    await append_raw(payments_pool, "PaymentAuthorised")
    assert await asyncio.wait_for(first, 10) is True

    # the pass runs; meanwhile another payment is authorised
    await append_raw(payments_pool, "PaymentAuthorised")
    await asyncio.sleep(0.2)  # its notification arrives before the pass asks again

    assert await asyncio.wait_for(payments_wakeups.wait("capture", NEVER), 10) is True


async def test_without_the_database_passes_run_at_their_interval_and_it_is_said_once(
        caplog: pytest.LogCaptureFixture) -> None:
    # given a worker whose database does not answer, tried again every 50 ms
    unreachable = Wakeups("postgresql://postgres@127.0.0.1:9/nowhere", check_seconds=0.05,
                          reconnect_seconds=0.05)
    keeping = asyncio.create_task(unreachable.keep_listening())
    try:
        # then its passes still come at their interval, and the listener keeps trying
        assert await unreachable.wait("capture", 0.3) is False
        assert await unreachable.wait("capture", 0.3) is False
        assert not keeping.done()
    finally:
        keeping.cancel()
        await unreachable.close()
    said = [r for r in caplog.records if "not woken by commits" in r.getMessage()]
    assert len(said) == 1  # once for the outage, not at every try


async def test_every_work_a_trigger_wakes_is_timed_work_of_the_service_worker(
        orders_pool, payments_pool, clock) -> None:
    woken = {"orders": await triggered_works(orders_pool),
             "payments": await triggered_works(payments_pool)}
    works = {"orders": {work.name for work in orders_periodic(context(clock, "orders"))},
             "payments": {CAPTURE, PAYOUT}}  # its periodic() needs the bank's keys

    assert woken == {"orders": {"mail", "invoices"}, "payments": {"capture", "payout"}}
    assert all(woken[service] <= works[service] for service in woken)


async def triggered_works(pool: asyncpg.Pool) -> set[str]:
    rows = await pool.fetch(
        "SELECT tgargs FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal "
        "AND tgfoid = 'wake_timed_work'::regproc")
    return {bytes(row["tgargs"]).rstrip(b"\0").decode() for row in rows}


async def test_a_lost_listening_connection_is_opened_again(payments_pool, server_url) -> None:
    # given a worker listening, whose connection the server ends
    wakeups = Wakeups(urlunsplit(urlsplit(server_url)._replace(path="/component_payments")),
                      check_seconds=0.05, reconnect_seconds=0.05)
    keeping = asyncio.create_task(wakeups.keep_listening())
    try:
        first = await listener_pid(payments_pool)
        await payments_pool.execute("SELECT pg_terminate_backend($1)", first)

        # when it listens again, a payment authorised still wakes the capture
        async with asyncio.timeout(10):
            while (await listener_pid(payments_pool, other_than=first)) is None:
                await asyncio.sleep(0.02)
        capture = asyncio.create_task(wakeups.wait("capture", NEVER))
        await append_raw(payments_pool, "PaymentAuthorised")
        assert await asyncio.wait_for(capture, 10) is True
    finally:
        keeping.cancel()
        await wakeups.close()


async def listener_pid(pool: asyncpg.Pool, other_than: int | None = None) -> int | None:
    """The backend of the wake-ups' listening connection (waiting for one to exist)."""
    async with asyncio.timeout(10):
        while True:
            pid = await pool.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE application_name = "
                "'timed-work-wakeups' AND datname = current_database() AND pid <> $1",
                other_than or 0)
            if pid is not None or other_than is not None:
                return pid
            await asyncio.sleep(0.02)
