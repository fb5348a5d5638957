"""Reactions of the payments service to the orders' and the refunds' events
(``when_<event>_<action>``): what they mean for the order's payment."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import OrderBlocked, OrderLineCancelled, OrderPlaced
from contracts.refunds import RefundBalancePayoutRequested, RefundPayoutRequested
from services.payments import domain, handlers
from services.platform.runtime import Context

__all__ = ["when_order_blocked_hold_payments", "when_order_cancelled_hold_payments",
           "when_order_line_cancelled_reduce_the_amount_due",
           "when_order_placed_expect_payment",
           "when_order_unblocked_release_payments",
           "when_refund_balance_payout_requested_order_the_payout",
           "when_refund_payout_requested_order_the_payout"]


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


async def when_order_line_cancelled_reduce_the_amount_due(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """A line cancelled before the order was paid is not asked of the buyer (a paid one is
    owed back by the refunds service)."""
    assert isinstance(event, OrderLineCancelled)
    if event.paid_on is None:
        await handlers.handle(conn, envelope.order_id,
                              domain.ReduceAmountDue(event.sku, event.refund_cents), ctx,
                              envelope)


async def when_order_unblocked_release_payments(conn: asyncpg.Connection, envelope: Envelope,
                                                event: Event, ctx: Context) -> None:
    """An unblocked order can be paid again."""
    await handlers.handle(conn, envelope.order_id, domain.ReleasePayments(), ctx,
                                  envelope)


async def when_refund_payout_requested_order_the_payout(conn: asyncpg.Connection,
                                                        envelope: Envelope, event: Event,
                                                        ctx: Context) -> None:
    """The refund's total (base and surcharge) is to be paid back on the order's captured
    payment: ordered for the payments worker's payout, or declined at once if nothing was
    captured; the same attempt asked again records nothing."""
    assert isinstance(event, RefundPayoutRequested)
    await _order_payout(conn, envelope, event.refund_id, event.attempt, event.total_cents, ctx)


async def when_refund_balance_payout_requested_order_the_payout(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """What a correction added to a refund already paid is paid back as a further attempt of
    its payouts, on the same captured payment."""
    assert isinstance(event, RefundBalancePayoutRequested)
    await _order_payout(conn, envelope, event.refund_id, event.attempt, event.amount_cents, ctx)


async def _order_payout(conn: asyncpg.Connection, envelope: Envelope, refund_id: str,
                        attempt: int, amount_cents: int, ctx: Context) -> None:
    command = domain.OrderRefundPayout(refund_id, attempt, amount_cents,
                                       await handlers.next_question(conn))
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)
