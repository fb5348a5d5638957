"""What the payments worker consumes, and which policy reacts to each event type."""

from __future__ import annotations

import functools

import asyncpg

from contracts.topics import events_topic
from services.payments import handlers, policies
from services.payments.handlers import Bank
from services.payments.settings import PaymentsSettings
from services.payments.views import authorised_payments, ordered_payouts
from services.platform.agents import Periodic, Subscription
from services.platform.eventstore import ConcurrencyError
from services.platform.runtime import Context

__all__ = ["CAPTURE", "PAYOUT", "capture_authorised", "pay_out_ordered", "periodic",
           "subscriptions"]


def subscriptions(ctx: Context) -> list[Subscription]:
    """The payments service's subscriptions, their policies bound to ``ctx``."""

    def bind(policy):  # type: ignore[no-untyped-def]
        return functools.partial(policy, ctx=ctx)

    return [
        Subscription("orders", events_topic("orders"), {
            "OrderPlaced": bind(policies.when_order_placed_expect_payment),
            "OrderBlocked": bind(policies.when_order_blocked_hold_payments),
            "OrderUnblocked": bind(policies.when_order_unblocked_release_payments),
            "OrderCancelled": bind(policies.when_order_cancelled_hold_payments),
            "OrderLineCancelled": bind(
                policies.when_order_line_cancelled_reduce_the_amount_due)}),
        Subscription("refunds", events_topic("refunds"), {
            "RefundPayoutRequested": bind(
                policies.when_refund_payout_requested_order_the_payout),
            "RefundBalancePayoutRequested": bind(
                policies.when_refund_balance_payout_requested_order_the_payout)}),
    ]


CAPTURE, PAYOUT = "capture", "payout"
"""The payments worker's timed work, by the names its migrations' triggers wake (007)."""


def periodic(ctx: Context) -> list[Periodic]:
    """The payments worker's timed work: capturing every authorised payment (the terms take the
    full price at ordering) and paying out every ordered refund, each retried on the next pass
    while the bank does not answer."""
    bank = Bank.from_settings(PaymentsSettings())

    async def capture(pool: asyncpg.Pool) -> int:
        return await capture_authorised(pool, ctx, bank)

    async def payout(pool: asyncpg.Pool) -> int:
        return await pay_out_ordered(pool, ctx, bank)

    return [Periodic(CAPTURE, 0.5, capture), Periodic(PAYOUT, 0.5, payout)]


async def capture_authorised(pool: asyncpg.Pool, ctx: Context, bank: Bank) -> int:
    """One pass: capture each authorised payment; how many the bank answered."""
    answered = 0
    for order_id in await authorised_payments(pool):
        try:
            answered += await handlers.capture_payment(pool, order_id, ctx, bank)
        except ConcurrencyError:
            continue  # recorded meanwhile (another pass): nothing to do
    return answered


async def pay_out_ordered(pool: asyncpg.Pool, ctx: Context, bank: Bank) -> int:
    """One pass: ask the bank to pay each ordered refund payout; how many it answered."""
    answered = 0
    for payout in await ordered_payouts(pool):
        try:
            answered += await handlers.pay_out_refund(pool, payout.order_id, payout.refund_id,
                                                      ctx, bank)
        except ConcurrencyError:
            continue  # recorded meanwhile (another pass): nothing to do
    return answered
