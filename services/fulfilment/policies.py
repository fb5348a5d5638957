"""Reactions of the fulfilment service to other services' events (``when_<event>_<action>``).

Each policy turns the event into a command and calls its handler; ``subscriptions.py`` binds
the policies to the service's context and to the topics they consume.
"""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import (
    LineExchanged,
    OrderConfirmed,
    OrderLineCancelled,
    OrderPlaced,
    PersonalDataRectified,
    WithdrawalRequested,
)
from contracts.policies import paris_date
from contracts.vocabulary import LineQuantity
from services.fulfilment import handlers
from services.fulfilment.domain import ReleaseLine, ReleaseReservation
from services.fulfilment.shipping import (
    CorrectAddress,
    ExpectReturn,
    HoldShipping,
    ReleaseShipping,
    SetDeadline,
)
from services.platform.runtime import Context

__all__ = [
    "when_contract_terminated_hold_shipping",
    "when_delivery_address_rectified_let_the_parcel_go_again",
    "when_order_blocked_hold_shipping",
    "when_order_cancelled_release_stock",
    "when_order_confirmed_set_the_delivery_deadline",
    "when_order_placed_reserve_stock",
    "when_order_unblocked_release_shipping",
]


async def when_order_placed_reserve_stock(conn: asyncpg.Connection, envelope: Envelope,
                                          event: Event, ctx: Context) -> None:
    """Reserve the placed order's lines from stock, or report them unavailable."""
    assert isinstance(event, OrderPlaced)
    lines = [LineQuantity(sku=line.sku, quantity=line.quantity) for line in event.lines]
    await handlers.reserve_stock(conn, envelope.order_id, lines, ctx, envelope)


async def when_order_cancelled_release_stock(conn: asyncpg.Connection, envelope: Envelope,
                                             event: Event, ctx: Context) -> None:
    """A cancelled order's stock is available again, and it never ships."""
    await handlers.handle(conn, envelope.order_id, ReleaseReservation(), ctx, envelope)
    await handlers.handle(conn, envelope.order_id, HoldShipping("cancelled"), ctx,
                               envelope)


async def when_order_confirmed_set_the_delivery_deadline(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """The sale is final: the order may ship, and must be delivered within 5 working days."""
    assert isinstance(event, OrderConfirmed)
    confirmed_on = paris_date(event.confirmed_at)
    await handlers.handle(conn, envelope.order_id, SetDeadline(confirmed_on), ctx,
                               envelope)


async def when_order_blocked_hold_shipping(conn: asyncpg.Connection, envelope: Envelope,
                                           event: Event, ctx: Context) -> None:
    """A blocked order does not ship (Art. 4)."""
    await handlers.handle(conn, envelope.order_id, HoldShipping("blocked"), ctx, envelope)


async def when_order_unblocked_release_shipping(conn: asyncpg.Connection, envelope: Envelope,
                                                event: Event, ctx: Context) -> None:
    """An unblocked order may ship again."""
    await handlers.handle(conn, envelope.order_id, ReleaseShipping(), ctx, envelope)


async def when_delivery_address_rectified_let_the_parcel_go_again(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """A parcel back with the seller for an incorrect or incomplete address ships again once
    the buyer has given the address again (any other rectification changes nothing here)."""
    assert isinstance(event, PersonalDataRectified)
    if event.delivery_address_rectified:
        command = CorrectAddress(paris_date(event.rectified_at))
        await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_contract_terminated_hold_shipping(conn: asyncpg.Connection, envelope: Envelope,
                                                 event: Event, ctx: Context) -> None:
    """A terminated contract is not performed any more: what was set aside for it and never
    left the warehouse is available again."""
    await handlers.handle(conn, envelope.order_id, ReleaseReservation(), ctx, envelope)
    await handlers.handle(conn, envelope.order_id, HoldShipping("terminated"), ctx,
                               envelope)


async def when_withdrawal_requested_expect_the_return(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """The withdrawn lines are to come back within 14 days of the notice."""
    assert isinstance(event, WithdrawalRequested)
    await handlers.handle(conn, envelope.order_id,
                               ExpectReturn(event.lines, event.notice_on), ctx, envelope)


async def when_line_exchanged_reserve_the_replacement(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """The buyer took an equivalent wine: set it aside."""
    assert isinstance(event, LineExchanged)
    line = LineQuantity(sku=event.replacement_sku, quantity=event.quantity)
    await handlers.reserve_replacement(conn, envelope.order_id, line, ctx, envelope)


async def when_line_cancelled_release_it(conn: asyncpg.Connection, envelope: Envelope,
                                         event: Event, ctx: Context) -> None:
    """A cancelled line's bottles are available again."""
    assert isinstance(event, OrderLineCancelled)
    await handlers.handle(conn, envelope.order_id, ReleaseLine(event.sku), ctx, envelope)
