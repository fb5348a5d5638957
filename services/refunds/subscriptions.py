"""What the refunds worker consumes, which policy reacts to each event type, and its timed
work: the escalation sweep."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Iterator

import asyncpg

from contracts.envelope import Envelope
from contracts.policies import Policy, paris_date
from contracts.topics import events_topic
from services.platform.agents import Periodic, Subscription
from services.platform.collector import collector_paused
from services.platform.eventstore import ConcurrencyError
from services.platform.runtime import Context
from services.refunds import handlers, policies
from services.refunds.views import escalation_candidates

__all__ = ["BATCH_ORDERS", "ESCALATION_INTERVAL_SECONDS", "SWEEP_CONNECTIONS",
           "escalate_refunds", "periodic", "subscriptions"]

ESCALATION_INTERVAL_SECONDS = 1.0
BATCH_ORDERS = 256
"""Orders escalated in one transaction at most."""
SWEEP_CONNECTIONS = 3
"""Batches escalated at a time, each on a connection of the worker's pool (which its
consumers share)."""
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
                policies.when_proof_of_dispatch_is_received_note_it),
            "TerminationVoided": bind(policies.when_termination_voided_void_its_refund)}),
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
    once), over the refunds whose next escalation day has come; how many events it recorded.

    Orders are escalated in batches, one transaction and a few statements per batch, through
    the one write path's batch form (``record_together``): an order another command changed
    meanwhile is decided on its new state (or, a deadlock's victim, left to the next pass) and
    the others' steps are kept. ``SWEEP_CONNECTIONS`` batches run at a time, on orders of their
    own; Python's cyclic collector is paused meanwhile (``collector_paused``)."""
    today = paris_date(ctx.clock.now())
    async with pool.acquire() as conn:
        policy = await handlers.current_policy(conn)
    candidates = await escalation_candidates(pool, today,
                                             sorted(policy.rates.percent_by_half_year))
    batches = _batches(candidates)
    with collector_paused():
        async with asyncio.TaskGroup() as group:
            workers = [group.create_task(_escalate_batches(pool, batches, ctx, policy))
                       for _ in range(SWEEP_CONNECTIONS)]
    recorded_events = sum(worker.result() for worker in workers)
    if recorded_events:
        log.info("escalation: %d events recorded", recorded_events)
    return recorded_events


async def _escalate_batches(pool: asyncpg.Pool, batches: Iterator[list[str]], ctx: Context,
                            policy: Policy) -> int:
    """Escalate the batches left, one after the other; how many events it recorded."""
    recorded_events = 0
    for batch in batches:
        recorded_events += await _escalate_batch(pool, batch, ctx, policy)
        if recorded_events and os.environ.get(SWEEP_FAILPOINT) == "after_first_order":
            os._exit(137)  # crash tests: die halfway through a pass, as a SIGKILL would
    return recorded_events


def _batches(order_ids: list[str]) -> Iterator[list[str]]:
    """Batches of 1, 2, 4… up to ``BATCH_ORDERS`` orders: a pass commits its first order at
    once (a short pass keeps its latency), a long one spreads the cost of its commits."""
    start, size = 0, 1
    while start < len(order_ids):
        yield order_ids[start:start + size]
        start, size = start + size, min(2 * size, BATCH_ORDERS)


async def _escalate_batch(pool: asyncpg.Pool, order_ids: list[str], ctx: Context,
                          policy: Policy) -> int:
    """The orders' escalations in one transaction; how many events it recorded.

    The batch waits for the orders another transaction is recording on, then decides on what
    that one committed. Should it lose anyway (a deadlock with a transaction locking orders in
    another order, whose victim it is), or should an order not be decidable (its state or a
    decided event invalid), each half is tried again on its own: the others' steps are kept; a
    lone order that still loses is left to the next pass, one that cannot be decided is left
    out with an error naming it, so that it cannot hold back every refund after it."""
    try:
        recorded = await _escalate_together(pool, order_ids, ctx, policy)
    except (ConcurrencyError, asyncpg.DeadlockDetectedError):
        if len(order_ids) == 1:
            log.info("escalation: order %s changed meanwhile; next pass", order_ids[0])
            return 0
        return await _in_halves(pool, order_ids, ctx, policy)
    except ValueError as error:
        if len(order_ids) == 1:
            log.error("escalation: order %s cannot be decided, left out of this pass: %s",
                      order_ids[0], error)
            return 0
        return await _in_halves(pool, order_ids, ctx, policy)
    for order_id, envelopes in recorded.items():
        handlers.alert_if_provisional(order_id, envelopes)
    return sum(len(envelopes) for envelopes in recorded.values())


async def _in_halves(pool: asyncpg.Pool, order_ids: list[str], ctx: Context,
                     policy: Policy) -> int:
    half = len(order_ids) // 2
    return (await _escalate_batch(pool, order_ids[:half], ctx, policy)
            + await _escalate_batch(pool, order_ids[half:], ctx, policy))


async def _escalate_together(pool: asyncpg.Pool, order_ids: list[str], ctx: Context,
                             policy: Policy) -> dict[str, list[Envelope]]:
    async with pool.acquire() as conn, conn.transaction():
        return await handlers.escalate(conn, order_ids, ctx, policy)
