"""What the payments worker consumes, and which policy reacts to each event type."""

from __future__ import annotations

import functools

from contracts.topics import events_topic
from services.payments import policies
from services.payments.handlers import Bank
from services.payments.settings import PaymentsSettings
from services.platform.agents import Subscription
from services.platform.runtime import Context

__all__ = ["subscriptions"]


def subscriptions(ctx: Context) -> list[Subscription]:
    """The payments service's subscriptions, their policies bound to ``ctx`` and the bank
    (whose account is read from the settings when the worker starts)."""
    bank = Bank.from_settings(PaymentsSettings())

    def bind(policy):  # type: ignore[no-untyped-def]
        return functools.partial(policy, ctx=ctx)

    return [
        Subscription("orders", events_topic("orders"), {
            "OrderPlaced": bind(policies.when_order_placed_expect_payment),
            "OrderBlocked": bind(policies.when_order_blocked_hold_payments),
            "OrderUnblocked": bind(policies.when_order_unblocked_release_payments),
            "OrderCancelled": bind(policies.when_order_cancelled_hold_payments)}),
        Subscription("capture", events_topic("payments"), {
            "PaymentAuthorised": functools.partial(policies.when_payment_authorised_capture,
                                                   ctx=ctx, bank=bank)}),
    ]
