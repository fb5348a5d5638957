"""Reactions of the payments service to the orders' events (``when_<event>_<action>``): what
they mean for the order's payment."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import OrderBlocked, OrderPlaced
from services.payments import domain, handlers
from services.platform.runtime import Context

__all__ = ["when_order_blocked_hold_payments", "when_order_cancelled_hold_payments",
           "when_order_placed_expect_payment",
           "when_order_unblocked_release_payments"]


async def when_order_placed_expect_payment(conn: asyncpg.Connection, envelope: Envelope,
                                           event: Event, ctx: Context) -> None:
    """The order's total, as the order recorded it, is now owed by its buyer."""
    assert isinstance(event, OrderPlaced)
    command = domain.ExpectPayment(event.buyer_id, event.total_cents, event.personal)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_order_blocked_hold_payments(conn: asyncpg.Connection, envelope: Envelope,
                                           event: Event, ctx: Context) -> None:
    """A blocked order cannot be paid (Art. 4)."""
    assert isinstance(event, OrderBlocked)
    await handlers.handle(conn, envelope.order_id, domain.HoldPayments(event.reason),
                                  ctx, envelope)


async def when_order_cancelled_hold_payments(conn: asyncpg.Connection, envelope: Envelope,
                                             event: Event, ctx: Context) -> None:
    """A cancelled order cannot be paid any more (it is never released)."""
    await handlers.handle(conn, envelope.order_id, domain.HoldPayments("cancelled"), ctx,
                                  envelope)


async def when_order_unblocked_release_payments(conn: asyncpg.Connection, envelope: Envelope,
                                                event: Event, ctx: Context) -> None:
    """An unblocked order can be paid again."""
    await handlers.handle(conn, envelope.order_id, domain.ReleasePayments(), ctx,
                                  envelope)
