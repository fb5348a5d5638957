"""What the orders worker consumes and runs: the payments service's captures and identity
checks, fulfilment's reports, the refunds paid (credit notes); the mailer of confirmations, the
sweep of unpaid orders and the issuing of invoices."""

from __future__ import annotations

import datetime as dt
import functools
import logging

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import BillingRetentionEnded
from contracts.policies import paris_date
from contracts.topics import events_topic
from services.orders import domain, invoices, policies
from services.orders.confirmation import send_confirmations, send_unavailability_notices
from services.orders.handlers import ORDERS
from services.orders.lines import CancelUnansweredLines
from services.orders.projections import project
from services.orders.rights import billing_key, erase_when_performed
from services.orders.settings import OrdersSettings
from services.orders.views import (
    billing_retention_over,
    erasures_due,
    lines_awaiting_answer,
    unpaid_since,
)
from services.platform.agents import Periodic, Subscription
from services.platform.personal import PostgresKeyStore
from services.platform.runtime import Context
from services.platform.sweep import Sweep, sweep_once

__all__ = ["billing_retention_sweep", "erasure_sweep", "periodic", "project_and_destroy",
           "subscriptions", "unanswered_lines_sweep", "unpaid_orders_sweep"]
log = logging.getLogger(__name__)


def subscriptions(ctx: Context) -> list[Subscription]:
    """The orders service's subscriptions, their policies bound to ``ctx``."""
    reply_within = OrdersSettings().unavailable_reply_time

    def bind(policy):  # type: ignore[no-untyped-def]
        return functools.partial(policy, ctx=ctx)

    return [
        Subscription("payments", events_topic("payments"), {
            "PaymentCaptured": bind(policies.when_payment_captured_record_payment),
            "VerificationRequested": bind(policies.when_verification_requested_await_it),
            "VerificationCompleted": bind(policies.when_verification_completed_record_it)}),
        Subscription("fulfilment", events_topic("fulfilment"), {
            "ItemUnavailable": functools.partial(policies.when_item_unavailable_ask_the_buyer,
                                                 ctx=ctx, reply_within=reply_within),
            "Shipped": bind(policies.when_shipped_record_it),
            "Delivered": bind(policies.when_delivered_record_it),
            "DeliveryReserved": bind(policies.when_delivered_record_it),
            "DeliveryOverdue": bind(policies.when_delivery_overdue_record_it),
            "DeliveryOverdueWithdrawn": bind(
                policies.when_delivery_overdue_withdrawn_withdraw_it)}),
        Subscription("refunds", events_topic("refunds"), {
            "RefundIssued": bind(invoices.when_refund_issued_credit_it)}),
    ]


def periodic(ctx: Context) -> list[Periodic]:
    """The orders worker's timed work: sending due confirmations, cancelling unpaid orders and
    unanswered lines, erasing once the orders were performed, ending billing retentions,
    issuing invoices."""
    settings = OrdersSettings()
    unpaid = unpaid_orders_sweep(settings.unpaid_order_timeout)

    unanswered = unanswered_lines_sweep()
    retention = billing_retention_sweep()

    async def mailer(pool: asyncpg.Pool) -> int:
        keys = PostgresKeyStore(pool)
        return (await send_confirmations(pool, ctx, keys, settings)
                + await send_unavailability_notices(pool, ctx, keys, settings))

    async def sweeps(pool: asyncpg.Pool) -> int:
        return (await sweep_once(pool, unpaid, ctx) + await sweep_once(pool, unanswered, ctx)
                + await sweep_once(pool, retention, ctx) + await erasure_sweep(pool, ctx))

    async def invoicing(pool: asyncpg.Pool) -> int:
        return await invoices.issue_invoices(pool, ctx)

    return [Periodic("mail", 0.5, mailer), Periodic("orders-sweeps", 2.0, sweeps),
            Periodic("invoices", 0.5, invoicing)]


def unpaid_orders_sweep(timeout: dt.timedelta) -> Sweep[domain.OrderState]:
    """Cancel every order still unpaid ``timeout`` after it was placed or last unblocked."""
    async def candidates(pool: asyncpg.Pool, now: dt.datetime) -> list[str]:
        return await unpaid_since(pool, now - timeout)

    return Sweep("unpaid-orders", ORDERS, candidates,
                 lambda state, now: domain.cancel_if_unpaid(state, now, timeout), project)


def billing_retention_sweep() -> Sweep[domain.OrderState]:
    """Destroy the billing data erasure kept for an invoiced order once its retention ended
    (RULES: restricted until the retention expires, then destroyed)."""
    async def candidates(pool: asyncpg.Pool, now: dt.datetime) -> list[str]:
        return await billing_retention_over(pool, paris_date(now))

    def decide(state: domain.OrderState | None, now: dt.datetime) -> list[Event]:
        return domain.decide(state, domain.EndBillingRetention(), now) if state else []

    return Sweep("billing-retention", ORDERS, candidates, decide, project_and_destroy)


async def erasure_sweep(pool: asyncpg.Pool, ctx: Context) -> int:
    """Erase every buyer who asked while orders of theirs awaited performance and none does
    any more (RULES: personal data is destroyed on request). Returns how many were erased.
    A buyer whose erasure fails is logged and left to the next pass, not the others."""
    erased = 0
    for buyer_id in await erasures_due(pool):
        try:
            async with pool.acquire() as conn, conn.transaction():
                erased += await erase_when_performed(conn, PostgresKeyStore(conn), ctx,
                                                     buyer_id)
        except (domain.OrderConflictError, ValueError) as error:  # the read model disagrees
            log.error("erasure of buyer %s left to the next pass: %s", buyer_id, error)
    return erased


async def project_and_destroy(conn: asyncpg.Connection, envelope: Envelope,
                              event: Event) -> None:
    """Project the event; with the end of a billing retention, destroy the key that sealed
    the billing data in the same transaction."""
    await project(conn, envelope, event)
    if isinstance(event, BillingRetentionEnded):
        await PostgresKeyStore(conn).destroy(billing_key(envelope.order_id))


def unanswered_lines_sweep() -> Sweep[domain.OrderState]:
    """Cancel every unavailable line whose buyer did not choose in time."""
    def decide(state: domain.OrderState | None, now: dt.datetime) -> list[Event]:
        return domain.decide(state, CancelUnansweredLines(), now) if state else []

    return Sweep("unanswered-lines", ORDERS, lines_awaiting_answer, decide, project)
