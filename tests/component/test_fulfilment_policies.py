"""Fulfilment's reaction to a placed order on real PostgreSQL: given stock, when ``OrderPlaced``
is applied, then stock is reserved or reported unavailable, once, in one transaction."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from contracts.envelope import EmittingService, Envelope, seal
from contracts.fulfilment import (
    ItemUnavailable,
    ReservationReleased,
    ShippingHeld,
    StockReserved,
)
from contracts.hashing import GENESIS_HASH
from contracts.orders import ContractTerminated, OrderPlaced
from contracts.vocabulary import LineQuantity, PricedLine
from services.fulfilment.policies import (
    when_contract_terminated_hold_shipping,
    when_order_placed_reserve_stock,
)
from services.fulfilment.projections import project
from services.fulfilment.views import reservation, stock_level
from services.platform.clock import ControllableClock
from tests.component.conftest import context
from tests.component.support import recorded, recorded_events
from tests.support.sealed import SEALED

pytestmark = pytest.mark.asyncio(loop_scope="session")


def order_placed(*lines: tuple[str, int]) -> Envelope:
    """An ``OrderPlaced`` as it arrives from orders.events, for a new order."""
    event = OrderPlaced(
        buyer_id="buyer-component",
        lines=tuple(PricedLine(sku=sku, name=sku, quantity=quantity, unit_price_cents=100,
                               line_total_cents=100 * quantity) for sku, quantity in lines),
        personal=SEALED,
        delivery_method="standard", delivery_charge_cents=990, products_total_cents=0,
        total_cents=990, terms_version="CGV-2026-01",
        validated_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    return seal(event, order_id=str(uuid.uuid4()), version=1, prev_hash=GENESIS_HASH,
                occurred_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                producer=EmittingService(service="orders", build="component-test"),
                correlation_id=uuid.uuid4())


async def apply(conn: asyncpg.Connection, clock: ControllableClock, placed: Envelope) -> None:
    await when_order_placed_reserve_stock(conn, placed, placed.event(),
                                          context(clock, "fulfilment"))


async def test_given_stock_when_order_placed_then_reserved_and_set_aside(fulfilment_conn,
                                                                        clock) -> None:
    before = await stock_level(fulfilment_conn, "RIVESALTES-AMBRE-2012")
    placed = order_placed(("RIVESALTES-AMBRE-2012", 5))

    await apply(fulfilment_conn, clock, placed)

    [envelope] = await recorded(fulfilment_conn, placed.order_id)
    assert envelope.event() == StockReserved(
        lines=(LineQuantity(sku="RIVESALTES-AMBRE-2012", quantity=5),))
    assert (envelope.causation_id, envelope.correlation_id) == (placed.event_id,
                                                                placed.correlation_id)
    assert envelope.occurred_at == clock.now()
    after = await stock_level(fulfilment_conn, "RIVESALTES-AMBRE-2012")
    assert before is not None and after is not None
    assert (after.reserved - before.reserved, after.available) == (5, before.available - 5)


async def test_given_too_little_stock_then_the_line_is_unavailable(fulfilment_conn,
                                                                   clock) -> None:
    placed = order_placed(("COTES-ROUSSILLON-ROSE-2025", 3), ("IGP-COTES-CATALANES-2024", 2))

    await apply(fulfilment_conn, clock, placed)

    assert await recorded_events(fulfilment_conn, placed.order_id) == [
        StockReserved(lines=(LineQuantity(sku="COTES-ROUSSILLON-ROSE-2025", quantity=3),)),
        ItemUnavailable(sku="IGP-COTES-CATALANES-2024", requested=2, available=0)]
    view = await reservation(fulfilment_conn, placed.order_id)
    assert view is not None
    assert [(line.sku, line.status, line.available) for line in view.lines] == [
        ("COTES-ROUSSILLON-ROSE-2025", "reserved", None),
        ("IGP-COTES-CATALANES-2024", "unavailable", 0)]


async def test_stock_is_decided_once_per_order(fulfilment_conn, clock) -> None:
    placed = order_placed(("RIVESALTES-AMBRE-2012", 1))
    await apply(fulfilment_conn, clock, placed)
    reserved = await stock_level(fulfilment_conn, "RIVESALTES-AMBRE-2012")

    await apply(fulfilment_conn, clock, placed)

    assert len(await recorded(fulfilment_conn, placed.order_id)) == 1
    assert await stock_level(fulfilment_conn, "RIVESALTES-AMBRE-2012") == reserved


async def test_projecting_a_reservation_again_sets_nothing_aside_twice(fulfilment_conn,
                                                                       clock) -> None:
    placed = order_placed(("MUSCAT-RIVESALTES-2023", 4))
    await apply(fulfilment_conn, clock, placed)
    reserved = await stock_level(fulfilment_conn, "MUSCAT-RIVESALTES-2023")

    for envelope in await recorded(fulfilment_conn, placed.order_id):
        await project(fulfilment_conn, envelope, envelope.event())

    assert await stock_level(fulfilment_conn, "MUSCAT-RIVESALTES-2023") == reserved


async def test_a_terminated_contracts_stock_is_set_aside_no_more(fulfilment_conn,
                                                                 clock) -> None:
    # given an order whose bottles are reserved, not shipped
    placed = order_placed(("RIVESALTES-AMBRE-2012", 3))
    before = await stock_level(fulfilment_conn, "RIVESALTES-AMBRE-2012")
    await apply(fulfilment_conn, clock, placed)
    # when the buyer terminates the contract (the product manifestly not delivered)
    terminated = seal(ContractTerminated(cause="manifest_non_delivery",
                                         received_on=dt.date(2026, 6, 2), refund_cents=1290),
                      order_id=placed.order_id, version=2, prev_hash=placed.hash,
                      occurred_at=dt.datetime(2026, 6, 2, tzinfo=dt.UTC),
                      producer=placed.producer, correlation_id=placed.correlation_id)
    await when_contract_terminated_hold_shipping(fulfilment_conn, terminated,
                                                 terminated.event(),
                                                 context(clock, "fulfilment"))
    # then its bottles are available again, and it never ships
    assert [type(event) for event in await recorded_events(
        fulfilment_conn, placed.order_id)] == [StockReserved, ReservationReleased, ShippingHeld]
    assert await stock_level(fulfilment_conn, "RIVESALTES-AMBRE-2012") == before
