"""Orders handlers and projection on real PostgreSQL: given a state, when a command is handled,
then these events are recorded and the read model shows them, in one transaction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import asyncpg
import pytest

from contracts.orders import OrderBlocked, OrderPlaced, OrderUnblocked
from services.orders import domain, handlers
from services.orders.projections import project
from services.orders.views import order_record, present
from services.platform.clock import ControllableClock
from services.platform.personal import PostgresKeyStore
from tests.component.conftest import context
from tests.component.support import recorded, recorded_events

pytestmark = pytest.mark.asyncio(loop_scope="session")

REQUEST = domain.OrderRequest(
    buyer_id="buyer-component", email="jeanne.martin@example.org",
    lines=(domain.RequestedLine("VILLAGES-TRADITION-2021", 2),
           domain.RequestedLine("MUSCAT-RIVESALTES-2023", 1)),
    delivery_address=domain.RequestedAddress(recipient="Jeanne Martin", street="12 rue des Vignes",
                                              postcode="66300", city="Thuir"),
    delivery_method="standard", accepted_terms_version="CGV-2026-01",
    date_of_birth=dt.date(1980, 4, 2))


async def place(conn: asyncpg.Connection, clock: ControllableClock,
                request: domain.OrderRequest = REQUEST) -> str:
    return await handlers.place_order(conn, request, context(clock, "orders"),
                                      PostgresKeyStore(conn))


async def test_placing_records_the_prices_in_force_at_the_clocks_time(orders_conn, clock) -> None:
    # the demo catalogue raises the Villages Tradition from 12.50 to 12.90 on 1 September 2026
    before = await place(orders_conn, clock)
    clock.set(dt.datetime(2026, 9, 1, 0, 0, tzinfo=dt.UTC))
    after = await place(orders_conn, clock)

    [placed_before] = await recorded_events(orders_conn, before)
    [placed_after] = await recorded_events(orders_conn, after)
    assert isinstance(placed_before, OrderPlaced) and isinstance(placed_after, OrderPlaced)
    assert placed_before.lines[0].unit_price_cents == 1250
    assert placed_after.lines[0].unit_price_cents == 1290


async def test_the_clock_is_read_once_per_decision(orders_conn, clock) -> None:
    order_id = await place(orders_conn, clock)

    [envelope] = await recorded(orders_conn, order_id)
    placed = envelope.event()
    assert isinstance(placed, OrderPlaced)
    assert placed.validated_at == envelope.occurred_at == clock.now()


async def test_the_read_model_shows_the_order_in_the_same_transaction(orders_conn, clock) -> None:
    order_id = await place(orders_conn, clock)

    record = await order_record(orders_conn, order_id)
    assert record is not None
    assert (record.status, record.version, record.total_cents) == (
        "placed", 1, 2 * 1250 + 1190 + 990)
    [view] = await present(PostgresKeyStore(orders_conn), [record], reveal_restricted=False)
    assert view.delivery_address.recipient == "Jeanne Martin"


async def test_a_refused_order_records_nothing(orders_conn, clock) -> None:
    abroad = dataclasses.replace(REQUEST, delivery_address=dataclasses.replace(
        REQUEST.delivery_address, country="BE"))

    with pytest.raises(domain.InvalidOrderError) as refused:
        await place(orders_conn, clock, abroad)

    assert refused.value.field == "delivery_address.country"
    assert await orders_conn.fetchval(
        "SELECT count(*) FROM events WHERE envelope->'payload'->>'buyer_id' = $1",
        REQUEST.buyer_id) == 0


async def test_given_placed_when_blocked_then_unblocked(orders_conn, clock) -> None:
    order_id = await place(orders_conn, clock)
    ctx = context(clock, "orders")

    await handlers.block_order(orders_conn, order_id, domain.BlockOrder("non_payment"), ctx)
    blocked = await order_record(orders_conn, order_id)
    await handlers.unblock_order(orders_conn, order_id, domain.UnblockOrder("paid"), ctx)

    assert blocked is not None and (blocked.blocked, blocked.block_reason) == (
        True, "non_payment")
    assert (await recorded_events(orders_conn, order_id))[1:] == [
        OrderBlocked(reason="non_payment"), OrderUnblocked(resolution="paid",
                                                           unblocked_at=clock.now())]
    view = await order_record(orders_conn, order_id)
    assert view is not None and (view.blocked, view.block_reason, view.version) == (
        False, None, 3)
    assert view.payable_since == clock.now()  # the time to pay runs again from here


async def test_given_an_address_in_doubt_when_placed_then_recorded_and_held(
        orders_conn, clock) -> None:
    request = dataclasses.replace(
        REQUEST, buyer_id=f"buyer-{uuid.uuid4()}", delivery_address=dataclasses.replace(
            REQUEST.delivery_address, street="Hôtel Ibis, 10 avenue du Maréchal Foch"))

    order_id = await place(orders_conn, clock, request)

    placed, blocked = await recorded_events(orders_conn, order_id)
    assert isinstance(placed, OrderPlaced)
    assert isinstance(blocked, OrderBlocked) and blocked.reason == "incorrect_address"
    record = await order_record(orders_conn, order_id)
    assert record is not None and (record.blocked, record.block_reason) == (
        True, "incorrect_address")


async def test_blocking_an_unknown_order_is_not_found(orders_conn, clock) -> None:
    with pytest.raises(domain.OrderNotFoundError):
        await handlers.block_order(orders_conn, "no-such-order", domain.BlockOrder("non_payment"),
                                   context(clock, "orders"))


async def test_projecting_an_event_again_changes_nothing(orders_conn, clock) -> None:
    order_id = await place(orders_conn, clock)
    await handlers.block_order(orders_conn, order_id, domain.BlockOrder("non_payment"),
                               context(clock, "orders"))
    first = await order_record(orders_conn, order_id)

    for envelope in await recorded(orders_conn, order_id):  # a replay over a live read model
        await project(orders_conn, envelope, envelope.event())

    assert await order_record(orders_conn, order_id) == first

