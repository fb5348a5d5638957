"""What the refunds worker consumes, which policy reacts to each event type, and its timed
work: the escalation sweep."""

from __future__ import annotations

import functools
import logging
import os

import asyncpg

from contracts.envelope import Envelope
from contracts.policies import paris_date
from contracts.topics import events_topic
from services.platform.agents import Periodic, Subscription
from services.platform.eventstore import ConcurrencyError
from services.platform.runtime import Context
from services.refunds import handlers, policies
from services.refunds.views import escalation_candidates

__all__ = ["ESCALATION_INTERVAL_SECONDS", "escalate_refunds", "periodic", "subscriptions"]

ESCALATION_INTERVAL_SECONDS = 1.0
SWEEP_FAILPOINT = "REFUNDS_SWEEP_FAILPOINT"
"""Crash tests only: ``after_first_order`` ends the worker once a pass has recorded on one
order (the relay's ``RELAY_FAILPOINT`` does the same for publication)."""
log = logging.getLogger(__name__)


def subscriptions(ctx: Context) -> list[Subscription]:
    """The refunds service's subscriptions, their policies bound to ``ctx``."""
    def bind(policy):  # type: ignore[no-untyped-def]
        return functools.partial(policy, ctx=ctx)

    owe = bind(policies.when_a_cause_is_recorded_owe_the_refund)
    return [
        Subscription("orders", events_topic("orders"), {
            **{cause: owe for cause in policies.CAUSES},
            "ProofOfDispatchReceived": bind(
                policies.when_proof_of_dispatch_is_received_note_it)}),
        Subscription("fulfilment", events_topic("fulfilment"), {
            "ReturnReceived": bind(policies.when_goods_are_returned_note_it)}),
        Subscription("payments", events_topic("payments"), {
            "RefundPaid": bind(policies.when_refund_paid_issue_it),
            "RefundPayoutDeclined": bind(policies.when_refund_payout_declined_keep_it_open)}),
    ]


def periodic(ctx: Context) -> list[Periodic]:
    """The refunds worker's timed work: escalating the overdue refunds."""
    async def sweep(pool: asyncpg.Pool) -> int:
        return await escalate_refunds(pool, ctx)

    return [Periodic("escalation", ESCALATION_INTERVAL_SECONDS, sweep)]


async def escalate_refunds(pool: asyncpg.Pool, ctx: Context) -> int:
    """One pass of the escalation sweep at the clock's date, under the policy in force (read
    once); each order in its own transaction. How many events it recorded."""
    today = paris_date(ctx.clock.now())
    async with pool.acquire() as conn:
        policy = await handlers.current_policy(conn)
    known = sorted(policy.rates.percent_by_half_year)
    recorded_events = 0
    for order_id in await escalation_candidates(pool, today, known):
        try:
            async with pool.acquire() as conn, conn.transaction():
                recorded = await handlers.escalate(conn, order_id, ctx, policy)
            recorded_events += len(recorded)
            _alert_if_provisional(order_id, recorded)
        except ConcurrencyError:
            continue  # the order changed meanwhile: the next pass looks again
        if recorded_events and os.environ.get(SWEEP_FAILPOINT) == "after_first_order":
            os._exit(137)  # crash tests: die halfway through a pass, as a SIGKILL would
    if recorded_events:
        log.info("escalation: %d events recorded", recorded_events)
    return recorded_events


def _alert_if_provisional(order_id: str, recorded: list[Envelope]) -> None:
    """Operators are told when a figure borrows a legal-interest rate not yet recorded."""
    missing = sorted({half_year for envelope in recorded
                      for half_year in envelope.payload.get("missing_half_years", ())})
    if missing:
        log.warning("order %s: provisional surcharge, no legal-interest rate recorded for %s; "
                    "record it with POST /legal-interest-rates", order_id, ", ".join(missing))
