"""Command handlers of the refunds service: each takes its command and its collaborators and
records the decision through the one write path.

The policy every figure is computed with is the shipped one plus the legal-interest rates
operators recorded (``current_policy``); it is read in the same transaction as the decision.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.policies import Policy, load_policy, with_recorded_rates
from contracts.refunds import RATES_STREAM
from services.platform.eventstore import Aggregate, Metadata, load_stream
from services.platform.runtime import Context
from services.platform.write_path import record_command, record_together
from services.refunds import domain
from services.refunds.projections import project, project_together
from services.refunds.views import order_of_refund

log = logging.getLogger(__name__)

__all__ = ["RATES", "REFUNDS", "alert_if_provisional", "current_policy", "escalate", "handle",
           "pay_refund", "record_rate", "record_recovery"]

REFUNDS = Aggregate(domain.RefundsState, domain.evolve)
RATES = Aggregate(domain.RatesState, domain.evolve_rates)


async def handle(conn: asyncpg.Connection, order_id: str, command: domain.Command, ctx: Context,
                 cause: Envelope | None = None) -> list[Envelope]:
    """Decide ``command`` on the order's refunds and record it: what another service's event
    means for them (with ``cause``), or what the sweep or operators say."""
    return await record_command(conn, order_id, command, ctx, aggregate=REFUNDS,
                                decide=domain.decide, project=project, cause=cause)


async def current_policy(conn: asyncpg.Connection) -> Policy:
    """The latest shipped policy with every rate operators recorded."""
    rates = RATES.load(await load_stream(conn, RATES_STREAM))
    return with_recorded_rates(load_policy(), rates.recorded if rates else {})


async def escalate(conn: asyncpg.Connection, order_ids: Sequence[str], ctx: Context,
                   policy: Policy) -> dict[str, list[Envelope]]:
    """Record on each order the escalation steps and corrections that time (or a rate) made
    due, in a few statements for them all (the sweep's batches): the clock read once, each
    order's decision a command of its own."""
    now = ctx.clock.now()
    command = domain.Escalate(policy)

    def decide(state: domain.RefundsState | None) -> list[Event]:
        return domain.decide(state, command, now)

    return await record_together(
        conn, REFUNDS, dict.fromkeys(order_ids, decide),
        lambda: Metadata.for_command(ctx.emitter, now), project_together)


async def pay_refund(conn: asyncpg.Connection, refund_id: str, ctx: Context) -> str:
    """Order the refund paid today for what the engine owes today; its order's id."""
    order_id = await order_of_refund(conn, refund_id)
    if order_id is None:
        raise domain.RefundNotFoundError(f"no refund {refund_id}")
    recorded = await handle(conn, order_id, domain.PayRefund(refund_id,
                                                             await current_policy(conn)), ctx)
    alert_if_provisional(order_id, recorded)  # a payout may be the first figure to borrow
    return order_id


async def record_recovery(conn: asyncpg.Connection, command: domain.RecordRecovery,
                          ctx: Context) -> None:
    """Record money the buyer gave back for a voided refund."""
    order_id = await order_of_refund(conn, command.refund_id)
    if order_id is None:
        raise domain.RefundNotFoundError(f"no refund {command.refund_id}")
    await handle(conn, order_id, command, ctx)


def alert_if_provisional(order_id: str, recorded: Sequence[Envelope]) -> None:
    """Operators are told when a figure recorded borrows a legal-interest rate not recorded
    yet (RULES: the result is provisional and raises an operator alert)."""
    missing = sorted({half_year for envelope in recorded
                      for half_year in envelope.payload.get("missing_half_years", ())})
    if missing:
        log.warning("order %s: provisional surcharge, no legal-interest rate recorded for %s; "
                    "record it with POST /legal-interest-rates", order_id, ", ".join(missing))


async def record_rate(conn: asyncpg.Connection, command: domain.RecordRate,
                      ctx: Context) -> list[Envelope]:
    """Record a half-year's legal-interest rate on the rates' stream (refused if the shipped
    table or an earlier record gives the half-year another rate)."""
    shipped = load_policy().rates.percent_by_half_year.get(command.half_year)
    command = dataclasses.replace(command, shipped=shipped)
    return await record_command(conn, RATES_STREAM, command, ctx, aggregate=RATES,
                                decide=domain.decide_rate, project=project)
