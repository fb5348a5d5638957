"""What the orders worker consumes and runs: the payments service's captures and identity
checks; the mailer of confirmations and the sweep of unpaid orders."""

from __future__ import annotations

import datetime as dt
import functools

import asyncpg

from contracts.topics import events_topic
from services.orders import domain, policies
from services.orders.confirmation import send_confirmations
from services.orders.handlers import ORDERS
from services.orders.projections import project
from services.orders.settings import OrdersSettings
from services.orders.views import unpaid_since
from services.platform.agents import Periodic, Subscription
from services.platform.personal import PostgresKeyStore
from services.platform.runtime import Context
from services.platform.sweep import Sweep, sweep_once

__all__ = ["periodic", "subscriptions"]


def subscriptions(ctx: Context) -> list[Subscription]:
    """The orders service's subscriptions, their policies bound to ``ctx``."""
    def bind(policy):  # type: ignore[no-untyped-def]
        return functools.partial(policy, ctx=ctx)

    return [
        Subscription("payments", events_topic("payments"), {
            "PaymentCaptured": bind(policies.when_payment_captured_record_payment),
            "VerificationRequested": bind(policies.when_verification_requested_await_it),
            "VerificationCompleted": bind(policies.when_verification_completed_record_it)}),
        Subscription("fulfilment", events_topic("fulfilment"), {
            "Shipped": bind(policies.when_shipped_record_it),
            "Delivered": bind(policies.when_delivered_record_it),
            "DeliveryReserved": bind(policies.when_delivered_record_it),
            "DeliveryOverdue": bind(policies.when_delivery_overdue_record_it)}),
    ]


def periodic(ctx: Context) -> list[Periodic]:
    """The orders worker's timed work: sending due confirmations, cancelling unpaid orders."""
    settings = OrdersSettings()
    unpaid = unpaid_orders_sweep(settings.unpaid_order_timeout)

    async def mailer(pool: asyncpg.Pool) -> int:
        return await send_confirmations(pool, ctx, PostgresKeyStore(pool), settings)

    async def cancel_unpaid(pool: asyncpg.Pool) -> int:
        return await sweep_once(pool, unpaid, ctx)

    return [Periodic("confirmations", 0.5, mailer), Periodic("unpaid-orders", 5.0, cancel_unpaid)]


def unpaid_orders_sweep(timeout: dt.timedelta) -> Sweep[domain.OrderState]:
    """Cancel every order still unpaid ``timeout`` after it was placed."""
    async def candidates(pool: asyncpg.Pool, now: dt.datetime) -> list[str]:
        return await unpaid_since(pool, now - timeout)

    return Sweep("unpaid-orders", ORDERS, candidates,
                 lambda state, now: domain.cancel_if_unpaid(state, now, timeout), project)
