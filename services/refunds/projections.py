"""The refunds read model: ``refund_view`` (one row per obligation), its recorded escalation
steps (``refund_escalation_view``) and the recorded legal-interest rates. Folded from
``refunds.events`` in the transaction that records the events, so a replay gives them back.

``refund_view.next_escalation_on`` is the day the escalation sweep may next record a step for
the refund (``next_escalation``): set when it is owed, when its deadline moves and at each step
recorded, cleared when it is paid or voided; a function of the refund's own events, as a
replay needs."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.policies import load_policy
from contracts.refunds import (
    LegalInterestRateRecorded,
    RefundBalanceIssued,
    RefundBalancePayoutRequested,
    RefundDeadlineMoved,
    RefundDue,
    RefundIssued,
    RefundIssuedLater,
    RefundPayoutRefused,
    RefundPayoutRequested,
    RefundPenaltyEscalated,
    RefundPenaltyRecomputed,
    RefundVoided,
    VoidedRefundRecovered,
)
from services.platform.rebuild import ReadModel
from services.refunds.next_escalation import Owed, next_escalation_on

__all__ = ["READ_MODEL", "project", "project_together", "rounds"]


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one refunds event into the read model."""
    at = envelope.occurred_at
    match event:
        case RefundDue():
            await _owed(conn, envelope, event)
        case RefundDeadlineMoved():
            moved = await _update(conn, envelope, event.refund_id, "deadline = $4",
                                  event.deadline)
            # its steps' tiers were the old deadline's: the domain judges what follows the
            # last one under the new deadline, so the next day is looked for under it too
            await _reschedule(conn, moved, None)
        case RefundPenaltyEscalated():
            await _escalated(conn, [(envelope, event)])
        case RefundPenaltyRecomputed():
            await _recomputed(conn, envelope, event)
        case RefundVoided():
            await _update(conn, envelope, event.refund_id, "voided_on = $4, void_reason = $5, "
                          "next_escalation_on = NULL, missing_half_years = '{}'",
                          event.voided_on, event.reason)
        case VoidedRefundRecovered():
            await _update(conn, envelope, event.refund_id, "recovered_cents = $4",
                          event.recovered_cents)
        case LegalInterestRateRecorded():
            await conn.execute(
                "INSERT INTO legal_interest_rate_view VALUES ($1, $2, $3, $4) ON CONFLICT "
                "(half_year) DO UPDATE SET percent = $2, source = $3, recorded_at = $4",
                event.half_year, str(event.percent), event.source, at)
        case _:
            await _project_payout(conn, envelope, event)


async def project_together(conn: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
    """Fold the events a sweep recorded on many orders (each order's in their order): as
    ``project`` does, the escalation steps of different orders set-based, a few statements for
    the whole batch.

    The k-th event of every order is folded before any (k+1)-th: a round holds one event per
    order, so its rows belong to different refunds and the order within it does not matter."""
    for round_ in rounds(envelopes):
        steps = []
        for envelope in round_:
            event = envelope.event()
            if isinstance(event, RefundPenaltyEscalated):
                steps.append((envelope, event))
            else:
                await project(conn, envelope, event)
        if steps:
            await _escalated(conn, steps)


def rounds(envelopes: Sequence[Envelope]) -> list[list[Envelope]]:
    """The events of many orders (each order's in their order) in rounds: the k-th round
    holds the k-th event of every order that has one, in the orders' order."""
    by_order: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        by_order.setdefault(envelope.order_id, []).append(envelope)
    return [[envelope for envelope in round_ if envelope is not None]
            for round_ in itertools.zip_longest(*by_order.values())]


async def _project_payout(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    match event:
        case RefundPayoutRequested():
            await _update(conn, envelope, event.refund_id,
                          "payout = 'pending', attempts = $4", event.attempt)
        case RefundPayoutRefused():
            await _update(conn, envelope, event.refund_id,
                          "payout = 'refused', last_refusal = $4",
                          f"{event.code}: {event.reason}")
        case RefundIssued():
            await _paid_figure(conn, envelope, event, "payout = NULL, bank_reference = $13, "
                               "next_escalation_on = NULL, refunded_cents = $8",
                               event.bank_reference)
        case RefundIssuedLater():  # the figure owed is the later day's; refunded_cents stays
            await _paid_figure(conn, envelope, event)
        case RefundBalancePayoutRequested():
            await _update(conn, envelope, event.refund_id,
                          "payout = 'pending', attempts = $4", event.attempt)
        case RefundBalanceIssued():
            await _update(conn, envelope, event.refund_id,
                          "payout = NULL, refunded_cents = $4", event.refunded_cents)


async def _paid_figure(conn: asyncpg.Connection, envelope: Envelope,
                       event: RefundIssued | RefundIssuedLater, more: str = "",
                       *values: object) -> None:
    """The figure the refund was paid at ($4–$12), and ``more`` assignments from $13."""
    await _update(
        conn, envelope, event.refund_id,
        ", ".join(filter(None, (
            "paid_on = $4, paid_delay_days = $5, paid_tier = $6, paid_surcharge_cents = $7, "
            "paid_total_cents = $8, paid_policy_version = $9, paid_provisional = $10, "
            "paid_missing = $11, paid_schedule = $12", more))),
        event.paid_on, event.delay_days, event.tier, event.surcharge_cents, event.total_cents,
        event.policy_version, event.provisional, list(event.missing_half_years),
        event.schedule, *values)
    await _refresh_missing(conn, event.refund_id)


async def _owed(conn: asyncpg.Connection, envelope: Envelope, event: RefundDue) -> None:
    owed = Owed(event.situation, event.base_cents, event.products_cents, event.deadline)
    await conn.execute(
        "INSERT INTO refund_view (refund_id, order_id, version, situation, base_cents, "
        "products_cents, deadline, rule, cause_type, cause_event_id, owed_since, notice_on, "
        "updated_at, next_escalation_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
        "$12, $13, $14) ON CONFLICT (refund_id) DO NOTHING", event.refund_id,
        envelope.order_id, envelope.version, event.situation, event.base_cents,
        event.products_cents, event.deadline, event.rule, event.cause_type,
        event.cause_event_id, event.owed_since, event.notice_on, envelope.occurred_at,
        next_escalation_on(owed, None, None, load_policy()))


_STEPS = (
    "WITH steps AS (INSERT INTO refund_escalation_view (refund_id, escalated_on, delay_days, "
    "schedule, tier, rate, surcharge_cents, total_cents, policy_version, provisional, "
    "missing_half_years, recorded_at) SELECT refund_id, escalated_on, delay_days, schedule, "
    "tier, rate, surcharge_cents, total_cents, policy_version, provisional, "
    "string_to_array(missing, ','), recorded_at FROM unnest($1::text[], $2::date[], "
    "$3::integer[], $4::text[], $5::text[], $6::text[], $7::integer[], $8::integer[], "
    "$9::text[], $10::boolean[], $11::text[], $12::timestamptz[]) AS step (refund_id, "
    "escalated_on, delay_days, schedule, tier, rate, surcharge_cents, total_cents, "
    "policy_version, provisional, missing, recorded_at) ON CONFLICT DO NOTHING) "
    "SELECT refund_id, situation, base_cents, products_cents, deadline, paid_on, voided_on "
    "FROM refund_view WHERE refund_id = ANY($1)")
"""The steps' rows, and what each refund owes: the half-years a figure lacks are passed joined
by commas, as arrays of arrays must all have one length."""


async def _escalated(conn: asyncpg.Connection,
                     steps: Sequence[tuple[Envelope, RefundPenaltyEscalated]]) -> None:
    """The steps' rows (of different refunds), then each refund's last step, next escalation
    day and the half-years its provisional figures lack: two statements, the first reading
    what the refunds owe."""
    events = [event for _, event in steps]
    if len({event.refund_id for event in events}) != len(events):
        # an UPDATE … FROM applies only one of a row's matches, whichever the plan meets first
        raise ValueError("two steps of one refund in one set-based statement")
    owed = {row["refund_id"]: row for row in await conn.fetch(
        _STEPS, [e.refund_id for e in events], [e.escalated_on for e in events],
        [e.delay_days for e in events], [e.schedule for e in events],
        [e.tier for e in events], [str(e.rate) for e in events],
        [e.surcharge_cents for e in events], [e.total_cents for e in events],
        [e.policy_version for e in events], [e.provisional for e in events],
        [",".join(e.missing_half_years) for e in events],
        [envelope.occurred_at for envelope, _ in steps])}
    known = [(envelope, event) for envelope, event in steps if event.refund_id in owed]
    await conn.execute(
        _STEPPED, [event.refund_id for _, event in known],
        [envelope.version for envelope, _ in known],
        [envelope.occurred_at for envelope, _ in known],
        [event.escalated_on for _, event in known],
        [_next_on(owed[event.refund_id], event.escalated_on, event.tier)
         for _, event in known], [event.provisional for _, event in known])


_CORRECT_STEP = (
    "UPDATE refund_escalation_view SET corrected_from_cents = coalesce("
    "corrected_from_cents, surcharge_cents), surcharge_cents = $3, total_cents = $4, "
    "policy_version = $5, provisional = $6, missing_half_years = $7, delay_days = $8, "
    "tier = $9, schedule = CASE WHEN $11::text IS NULL THEN schedule ELSE $10 END, "
    "rate = coalesce($11, rate) WHERE refund_id = $1 AND escalated_on = $2")
_CORRECT_PAYMENT = (
    "UPDATE refund_view SET paid_surcharge_cents = $3, paid_total_cents = $4, "
    "paid_policy_version = $5, paid_provisional = $6, paid_missing = $7, "
    "paid_delay_days = $8, paid_tier = $9, paid_schedule = CASE WHEN $11::text IS NULL "
    "THEN paid_schedule ELSE $10 END WHERE refund_id = $1 AND paid_on = $2")
"""A correction of a step, and of the payment made on that step's day; a correction recorded
before it carried its schedule and rate leaves the figure's own."""


async def _recomputed(conn: asyncpg.Connection, envelope: Envelope,
                      event: RefundPenaltyRecomputed) -> None:
    values = (event.refund_id, event.escalated_on, event.surcharge_cents, event.total_cents,
              event.policy_version, event.provisional, list(event.missing_half_years),
              event.delay_days, event.tier, event.schedule,
              None if event.rate is None else str(event.rate))
    await conn.execute(_CORRECT_STEP, *values)
    await conn.execute(_CORRECT_PAYMENT, *values)
    row = await _update(conn, envelope, event.refund_id)
    # the next escalation day follows the last step's tier, which a correction may change
    await _reschedule(conn, row, await _last_tier(conn, row))


async def _update(conn: asyncpg.Connection, envelope: Envelope, refund_id: str,
                  assignments: str = "", *values: object) -> asyncpg.Record | None:
    """Set ``assignments`` on the refund's row; the row as it is now."""
    sets = ", ".join(filter(None, ("version = $2, updated_at = $3", assignments)))
    row: asyncpg.Record | None = await conn.fetchrow(
        f"UPDATE refund_view SET {sets} WHERE refund_id = $1 RETURNING *", refund_id,
        envelope.version, envelope.occurred_at, *values)
    return row


def _missing_half_years(refund_id: str) -> str:
    """The half-years some still-provisional figure of the refund (``refund_id``, an SQL
    expression; ``r``, its row) lacks."""
    return (
        "coalesce(ARRAY(SELECT DISTINCT m FROM (SELECT "
        "unnest(missing_half_years) AS m FROM refund_escalation_view WHERE refund_id = "
        f"{refund_id} AND provisional UNION SELECT unnest(r.paid_missing) WHERE "
        "r.paid_provisional) figures ORDER BY m), '{}')")


_MISSING = f"missing_half_years = {_missing_half_years('$1')}"
_STEPPED = (
    "UPDATE refund_view r SET version = step.version, updated_at = step.updated_at, "
    "last_escalated_on = step.escalated_on, next_escalation_on = step.next_on, "
    "missing_half_years = CASE WHEN step.provisional THEN "
    f"{_missing_half_years('step.refund_id')} ELSE r.missing_half_years END "
    "FROM unnest($1::text[], $2::integer[], $3::timestamptz[], $4::date[], $5::date[], "
    "$6::boolean[]) AS step (refund_id, version, updated_at, escalated_on, next_on, "
    "provisional) WHERE r.refund_id = step.refund_id")
"""Each refund's last step and next escalation day. A step that lacks no rate leaves the
half-years the refund's figures lack as they were: its rows are not read again for it (most
steps of a pass; reading them was the pass's costliest statement)."""


async def _refresh_missing(conn: asyncpg.Connection, refund_id: str) -> None:
    # a voided refund's figures are settled by nothing: no rate makes it a sweep's candidate
    await conn.execute(f"UPDATE refund_view r SET {_MISSING} WHERE refund_id = $1 "
                       "AND voided_on IS NULL", refund_id)


async def _reschedule(conn: asyncpg.Connection, row: asyncpg.Record | None,
                      last_tier: str | None) -> None:
    """The refund's next escalation day after its last step (in ``last_tier``; None: not
    known under the refund's deadline), with the half-years its provisional figures lack."""
    if row is not None:
        await conn.execute(
            f"UPDATE refund_view r SET next_escalation_on = $2, {_MISSING} WHERE refund_id = $1",
            row["refund_id"], _next_on(row, row["last_escalated_on"], last_tier))


def _next_on(row: asyncpg.Record, last_on: dt.date | None,
             last_tier: str | None) -> dt.date | None:
    """The day the sweep may next record a step for the refund of ``row`` (none once paid or
    voided)."""
    if row["paid_on"] is not None or row["voided_on"] is not None:
        return None
    owed = Owed(row["situation"], row["base_cents"], row["products_cents"], row["deadline"])
    return next_escalation_on(owed, last_on, last_tier, load_policy())


async def _last_tier(conn: asyncpg.Connection, row: asyncpg.Record | None) -> str | None:
    if row is None or row["last_escalated_on"] is None:
        return None
    tier: str | None = await conn.fetchval(
        "SELECT tier FROM refund_escalation_view WHERE refund_id = $1 AND escalated_on = $2",
        row["refund_id"], row["last_escalated_on"])
    return tier


READ_MODEL = ReadModel(service="refunds", project=project,
                       tables=("refund_view", "refund_escalation_view",
                               "legal_interest_rate_view"))
"""What ``python -m services.refunds.main rebuild`` replays."""
