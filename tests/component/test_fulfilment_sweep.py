"""The delivery-deadline sweep on real PostgreSQL: run twice it records nothing new, and a
pass killed halfway leaves each order with its ``DeliveryOverdue`` exactly once after the next
pass."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest

from contracts.fulfilment import DeliveryOverdue
from services.fulfilment import handlers
from services.fulfilment.shipping import HoldShipping, SetDeadline
from services.fulfilment.subscriptions import mark_overdue_deliveries
from services.fulfilment.views import awaiting_delivery, overdue_deliveries
from services.platform.clock import ControllableClock
from tests.component.conftest import context
from tests.component.support import recorded_events

pytestmark = pytest.mark.asyncio(loop_scope="session")
PARIS = ZoneInfo("Europe/Paris")


async def confirmed_on_wednesday_13_may(pool, clock, count: int = 5) -> list[str]:
    order_ids = [f"sweep-{uuid.uuid4()}" for _ in range(count)]
    for order_id in order_ids:
        async with pool.acquire() as conn, conn.transaction():
            await handlers.handle(conn, order_id, SetDeadline(dt.date(2026, 5, 13)),
                                       context(clock, "fulfilment"))
    return order_ids


async def overdue_events(pool, order_id: str) -> list[DeliveryOverdue]:
    async with pool.acquire() as conn:
        return [e for e in await recorded_events(conn, order_id)
                if isinstance(e, DeliveryOverdue)]


async def test_a_pass_killed_halfway_then_run_twice_records_each_overdue_once(
        fulfilment_pool, monkeypatch) -> None:
    clock = ControllableClock(dt.datetime(2026, 5, 13, 10, tzinfo=PARIS))
    order_ids = await confirmed_on_wednesday_13_may(fulfilment_pool, clock)
    clock.set(dt.datetime(2026, 5, 22, 9, tzinfo=PARIS))
    ctx, real, calls = context(clock, "fulfilment"), handlers.mark_overdue, []

    async def dies_on_the_third(conn, order_id, *args):  # type: ignore[no-untyped-def]
        calls.append(order_id)
        if len(calls) == 3:
            raise RuntimeError("killed mid-pass")
        await real(conn, order_id, *args)

    monkeypatch.setattr(handlers, "mark_overdue", dies_on_the_third)
    with pytest.raises(RuntimeError):
        await mark_overdue_deliveries(fulfilment_pool, ctx)
    monkeypatch.setattr(handlers, "mark_overdue", real)
    await mark_overdue_deliveries(fulfilment_pool, ctx)
    await mark_overdue_deliveries(fulfilment_pool, ctx)

    for order_id in order_ids:
        assert await overdue_events(fulfilment_pool, order_id) == [
            DeliveryOverdue(deadline=dt.date(2026, 5, 21))]


async def test_held_orders_do_not_keep_newer_ones_off_the_work_list(
        fulfilment_conn, clock) -> None:
    # given a cancelled order whose deadline passed first, and a newer order awaiting delivery
    held, awaiting = f"sweep-{uuid.uuid4()}", f"sweep-{uuid.uuid4()}"
    ctx = context(clock, "fulfilment")
    await handlers.handle(fulfilment_conn, held, SetDeadline(dt.date(2026, 5, 11)), ctx)
    await handlers.handle(fulfilment_conn, held, HoldShipping("cancelled"), ctx)
    await handlers.handle(fulfilment_conn, awaiting, SetDeadline(dt.date(2026, 5, 13)), ctx)
    # when the sweep reads one candidate at a time
    listed = await awaiting_delivery(fulfilment_conn, dt.date(2026, 6, 1), limit=1)
    # then it is the order that may fall overdue, not the held one (never overdue)
    assert listed == [awaiting]


async def test_a_blocked_order_falls_overdue_and_stays_on_the_operators_list(
        fulfilment_pool) -> None:
    # given an order confirmed on Wednesday 13 May (due the 21st), blocked by the seller
    clock = ControllableClock(dt.datetime(2026, 5, 13, 10, tzinfo=PARIS))
    [blocked] = await confirmed_on_wednesday_13_may(fulfilment_pool, clock, count=1)
    ctx = context(clock, "fulfilment")
    async with fulfilment_pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, blocked, HoldShipping("blocked"), ctx)
    # when the sweep passes on the 22nd
    clock.set(dt.datetime(2026, 5, 22, 9, tzinfo=PARIS))
    async with fulfilment_pool.acquire() as conn:
        assert blocked in await awaiting_delivery(conn, dt.date(2026, 5, 22), limit=100_000)
    await mark_overdue_deliveries(fulfilment_pool, ctx)
    # then it is overdue (the block suspends no deadline), and operators see it late
    assert await overdue_events(fulfilment_pool, blocked) == [
        DeliveryOverdue(deadline=dt.date(2026, 5, 21))]
    async with fulfilment_pool.acquire() as conn:
        late = await overdue_deliveries(conn, dt.date(2026, 5, 22))
    assert [(o.order_id, o.days_late, o.blocked) for o in late if o.order_id == blocked] == [
        (blocked, 1, True)]


async def test_deliveries_recorded_overdue_are_asked_again_when_the_suspensions_change(
        fulfilment_pool, monkeypatch, clock) -> None:
    # given two deliveries recorded overdue, and the suspensions the sweep reads
    from services.fulfilment import subscriptions
    from services.platform.eventstore import ConcurrencyError

    periods = [((dt.date(2026, 5, 19), dt.date(2026, 5, 20)),)]
    asked: list[str] = []
    changing = {"late-2"}  # changed meanwhile once: the next pass looks again

    async def mark_overdue(conn, order_id, ctx, suspended):  # type: ignore[no-untyped-def]
        asked.append(order_id)
        if order_id in changing:
            changing.discard(order_id)
            raise ConcurrencyError(order_id)

    async def none_awaiting(db, today):  # type: ignore[no-untyped-def]
        return []

    async def recorded(db):  # type: ignore[no-untyped-def]
        return ["late-1", "late-2"]

    async def current(db):  # type: ignore[no-untyped-def]
        return periods[-1]

    monkeypatch.setattr(subscriptions, "awaiting_delivery", none_awaiting)
    monkeypatch.setattr(subscriptions, "recorded_overdue", recorded)
    monkeypatch.setattr(subscriptions, "suspensions", current)
    monkeypatch.setattr(handlers, "mark_overdue", mark_overdue)
    ctx, marker = context(clock, "fulfilment"), subscriptions.Asked()

    async def a_pass() -> list[str]:
        asked.clear()
        await mark_overdue_deliveries(fulfilment_pool, ctx, marker)
        return list(asked)

    # the first pass of a process asks about both; one changed meanwhile, so the next asks again
    assert await a_pass() == ["late-1", "late-2"]
    assert await a_pass() == ["late-1", "late-2"]
    # then, with the suspensions as they were, nobody
    assert await a_pass() == []
    # and once a suspension is declared, both again
    periods.append((*periods[-1], (dt.date(2026, 6, 2), dt.date(2026, 6, 3))))
    assert await a_pass() == ["late-1", "late-2"]
    assert await a_pass() == []
