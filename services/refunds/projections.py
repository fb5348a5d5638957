"""The refunds read model: ``refund_view`` (one row per obligation), its recorded escalation
steps (``refund_escalation_view``) and the recorded legal-interest rates. Folded from
``refunds.events`` in the transaction that records the events, so a replay gives them back."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.refunds import (
    LegalInterestRateRecorded,
    RefundDeadlineMoved,
    RefundDue,
    RefundIssued,
    RefundPayoutRefused,
    RefundPayoutRequested,
    RefundPenaltyEscalated,
    RefundPenaltyRecomputed,
)
from services.platform.rebuild import ReadModel

__all__ = ["READ_MODEL", "project"]


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one refunds event into the read model."""
    at = envelope.occurred_at
    match event:
        case RefundDue():
            await conn.execute(
                "INSERT INTO refund_view (refund_id, order_id, version, situation, base_cents, "
                "products_cents, deadline, rule, cause_type, cause_event_id, owed_since, "
                "notice_on, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                "$12, $13) ON CONFLICT (refund_id) DO NOTHING", event.refund_id,
                envelope.order_id, envelope.version, event.situation, event.base_cents,
                event.products_cents, event.deadline, event.rule, event.cause_type,
                event.cause_event_id, event.owed_since, event.notice_on, at)
        case RefundDeadlineMoved():
            await _update(conn, envelope, event.refund_id, "deadline = $4", event.deadline)
        case RefundPenaltyEscalated():
            await _escalated(conn, envelope, event)
        case RefundPenaltyRecomputed():
            await _recomputed(conn, envelope, event)
        case LegalInterestRateRecorded():
            await conn.execute(
                "INSERT INTO legal_interest_rate_view VALUES ($1, $2, $3, $4) ON CONFLICT "
                "(half_year) DO UPDATE SET percent = $2, source = $3, recorded_at = $4",
                event.half_year, str(event.percent), event.source, at)
        case _:
            await _project_payout(conn, envelope, event)


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
            await _update(
                conn, envelope, event.refund_id,
                "payout = NULL, paid_on = $4, paid_delay_days = $5, paid_tier = $6, "
                "paid_surcharge_cents = $7, paid_total_cents = $8, paid_policy_version = $9, "
                "paid_provisional = $10, paid_missing = $11, bank_reference = $12, "
                "paid_schedule = $13", event.paid_on, event.delay_days, event.tier,
                event.surcharge_cents, event.total_cents, event.policy_version,
                event.provisional, list(event.missing_half_years), event.bank_reference,
                event.schedule)
            await _refresh_missing(conn, event.refund_id)


async def _escalated(conn: asyncpg.Connection, envelope: Envelope,
                     event: RefundPenaltyEscalated) -> None:
    await conn.execute(
        "INSERT INTO refund_escalation_view (refund_id, escalated_on, delay_days, schedule, "
        "tier, rate, surcharge_cents, total_cents, policy_version, provisional, "
        "missing_half_years, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "$11, $12) ON CONFLICT DO NOTHING", event.refund_id, event.escalated_on,
        event.delay_days, event.schedule, event.tier, str(event.rate), event.surcharge_cents,
        event.total_cents, event.policy_version, event.provisional,
        list(event.missing_half_years), envelope.occurred_at)
    await _update(conn, envelope, event.refund_id, "last_escalated_on = $4", event.escalated_on)
    await _refresh_missing(conn, event.refund_id)


async def _recomputed(conn: asyncpg.Connection, envelope: Envelope,
                      event: RefundPenaltyRecomputed) -> None:
    values = (event.surcharge_cents, event.total_cents, event.policy_version, event.provisional,
              list(event.missing_half_years))
    await conn.execute(
        "UPDATE refund_escalation_view SET corrected_from_cents = coalesce("
        "corrected_from_cents, surcharge_cents), surcharge_cents = $3, total_cents = $4, "
        "policy_version = $5, provisional = $6, missing_half_years = $7 "
        "WHERE refund_id = $1 AND escalated_on = $2", event.refund_id, event.escalated_on,
        *values)
    await conn.execute(
        "UPDATE refund_view SET paid_surcharge_cents = $3, paid_total_cents = $4, "
        "paid_policy_version = $5, paid_provisional = $6, paid_missing = $7 "
        "WHERE refund_id = $1 AND paid_on = $2", event.refund_id, event.escalated_on, *values)
    await _update(conn, envelope, event.refund_id)
    await _refresh_missing(conn, event.refund_id)


async def _update(conn: asyncpg.Connection, envelope: Envelope, refund_id: str,
                  assignments: str = "", *values: object) -> None:
    sets = ", ".join(filter(None, ("version = $2, updated_at = $3", assignments)))
    await conn.execute(f"UPDATE refund_view SET {sets} WHERE refund_id = $1", refund_id,
                       envelope.version, envelope.occurred_at, *values)


async def _refresh_missing(conn: asyncpg.Connection, refund_id: str) -> None:
    """The half-years some still-provisional figure of the refund lacks."""
    await conn.execute(
        "UPDATE refund_view r SET missing_half_years = coalesce(ARRAY(SELECT DISTINCT m FROM ("
        "SELECT unnest(missing_half_years) AS m FROM refund_escalation_view "
        "WHERE refund_id = $1 AND provisional UNION SELECT unnest(r.paid_missing) "
        "WHERE r.paid_provisional) figures ORDER BY m), '{}') WHERE refund_id = $1", refund_id)


READ_MODEL = ReadModel(service="refunds", project=project,
                       tables=("refund_view", "refund_escalation_view",
                               "legal_interest_rate_view"))
"""What ``python -m services.refunds.main rebuild`` replays."""
