"""Typed queries on the refunds read model.

What a refund owes *now* changes with the date: it is computed at query time by the engine
(``contracts.policies``), from the recorded obligation and the policy in force; what was paid is
what ``RefundIssued`` recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias

import asyncpg
from pydantic import BaseModel, Field

from contracts.policies import Policy, compute_surcharge
from contracts.refunds import RefundSituation

__all__ = ["EscalationView", "MissingRate", "OverdueRefunds", "RateView", "RefundView",
           "escalation_candidates", "missing_rates", "order_of_refund", "overdue_refunds",
           "rates_missing",
           "recorded_rates", "refund_by_id", "refunds_of_order"]

Db: TypeAlias = asyncpg.Pool | asyncpg.Connection


class EscalationView(BaseModel):
    """One recorded escalation step (with the figure it had before a correction, if any)."""

    escalated_on: dt.date
    delay_days: int
    schedule: str | None
    tier: str
    rate: str
    surcharge_cents: int
    total_cents: int
    policy_version: str
    provisional: bool
    missing_half_years: list[str]
    corrected_from_cents: int | None = None


class RefundView(BaseModel):
    """A refund: its obligation, deadline, figures as at ``as_of`` (paid: as at ``paid_on``),
    every recorded escalation, and its payout."""

    refund_id: str
    order_id: str
    situation: RefundSituation
    status: Literal["due", "overdue", "paid", "voided"]
    rule: str
    cause_type: str
    cause_event_id: str
    owed_since: dt.date
    deadline: dt.date
    as_of: dt.date
    base_cents: int
    products_cents: int
    delay_days: int
    schedule: str | None
    tier: str
    surcharge_cents: int
    total_cents: int
    policy_version: str
    provisional: bool
    missing_half_years: list[str]
    payout: Literal["pending", "refused"] | None
    attempts: int
    last_refusal: str | None
    paid_on: dt.date | None
    bank_reference: str | None
    refunded_cents: int = Field(description="what the bank refunded for it so far")
    balance_cents: int = Field(description="paid, then raised by a correction: what is owed "
                               "beyond what was refunded (POST /refunds/{id}/pay pays it)")
    voided_on: dt.date | None = Field(default=None, description=(
        "its cause did not take effect (a termination the delivery came before): owed no "
        "more; what was refunded for it already is for operators to recover"))
    void_reason: str | None = Field(default=None, description="why it was voided: the day of "
                                    "delivery and the day the termination was received")
    recovered_cents: int = Field(default=0, description=(
        "voided: what the buyer gave back of what was refunded for it (POST "
        "/refunds/{id}/recovery records it)"))
    escalations: list[EscalationView]


class MissingRate(BaseModel):
    """A half-year whose legal-interest rate is not recorded while refunds' figures borrow
    another half-year's rate in its place (RULES: provisional, with an operator alert)."""

    half_year: str
    refunds: int = Field(description="refunds, owed or paid, with a figure borrowing for it")


class OverdueRefunds(BaseModel):
    """The overdue refunds as at ``as_of``, the largest amount owed first, with totals; and
    the paid refunds a correction raised since, whose balance is owed."""

    as_of: dt.date
    count: int
    base_cents: int
    surcharge_cents: int
    total_cents: int
    provisional: int
    refunds: list[RefundView]
    balance_cents: int = 0
    balances: list[RefundView] = []
    to_recover_cents: int = Field(default=0, description=(
        "refunded for refunds voided since (their cause did not take effect), less what "
        "came back: the buyers' to give back"))
    to_recover: list[RefundView] = Field(default=[], description=(
        "the voided refunds refunded already and not all recovered (POST "
        "/refunds/{id}/recovery), or whose payout awaited the bank's answer when they were "
        "voided"))
    rates_missing: list[MissingRate] = Field(default=[], description=(
        "the operators' alert: half-years whose legal-interest rate is not recorded while "
        "figures of refunds owed or paid borrow another in its place; record each with POST "
        "/legal-interest-rates, and the next pass of the sweep corrects those figures"))


class RateView(BaseModel):
    """A legal-interest rate operators recorded."""

    half_year: str
    percent: str
    source: str
    recorded_at: dt.datetime


async def order_of_refund(db: Db, refund_id: str) -> str | None:
    """The order a refund belongs to."""
    order_id: str | None = await db.fetchval(
        "SELECT order_id FROM refund_view WHERE refund_id = $1", refund_id)
    return order_id


async def refund_by_id(db: Db, refund_id: str, today: dt.date,
                       policy: Policy) -> RefundView | None:
    """One refund as at ``today``."""
    rows = await db.fetch("SELECT * FROM refund_view WHERE refund_id = $1", refund_id)
    views = await _views(db, rows, today, policy)
    return views[0] if views else None


async def refunds_of_order(db: Db, order_id: str, today: dt.date,
                           policy: Policy) -> list[RefundView]:
    """The order's refunds as at ``today``, oldest obligation first."""
    rows = await db.fetch("SELECT * FROM refund_view WHERE order_id = $1 "
                          "ORDER BY owed_since, refund_id", order_id)
    return await _views(db, rows, today, policy)


async def overdue_refunds(db: Db, today: dt.date, policy: Policy) -> OverdueRefunds:
    """Every unpaid refund past its deadline, sorted by amount owed today (largest first); the
    paid refunds a correction raised since; the voided refunds whose money is to recover."""
    rows = await db.fetch("SELECT * FROM refund_view WHERE paid_on IS NULL AND deadline < $1 "
                          "AND voided_on IS NULL", today)
    views = sorted(await _views(db, rows, today, policy),
                   key=lambda view: (-view.total_cents, view.refund_id))
    raised = await db.fetch("SELECT * FROM refund_view WHERE paid_total_cents > refunded_cents "
                            "AND voided_on IS NULL")
    balances = sorted(await _views(db, raised, today, policy),
                      key=lambda view: (-view.balance_cents, view.refund_id))
    voided = await _views(db, await db.fetch(
        "SELECT * FROM refund_view WHERE voided_on IS NOT NULL AND (refunded_cents > "
        "recovered_cents OR payout = 'pending') ORDER BY refunded_cents - recovered_cents "
        "DESC, refund_id"), today, policy)
    return OverdueRefunds(
        as_of=today, count=len(views), base_cents=sum(v.base_cents for v in views),
        surcharge_cents=sum(v.surcharge_cents for v in views),
        total_cents=sum(v.total_cents for v in views),
        provisional=sum(v.provisional for v in views), refunds=views,
        balance_cents=sum(v.balance_cents for v in balances), balances=balances,
        to_recover_cents=sum(v.refunded_cents - v.recovered_cents for v in voided),
        to_recover=voided,
        rates_missing=await rates_missing(db, views))


async def rates_missing(db: Db, live: Iterable[RefundView] = ()) -> list[MissingRate]:
    """The half-years not recorded that figures of refunds (owed or paid, not voided) borrow a
    rate for: the figures recorded (through the partial index of provisional figures) and the
    ``live`` ones, as owed today (a refund at the cap, or in its days of interest, accrues
    without recording a step)."""
    rows = await db.fetch(
        "SELECT half_year, array_agg(refund_id) AS refunds FROM refund_view, "
        "unnest(missing_half_years) AS half_year WHERE missing_half_years <> '{}' "
        "GROUP BY half_year")
    recorded = {row["half_year"] for row in await db.fetch(
        "SELECT half_year FROM legal_interest_rate_view")}
    return missing_rates({row["half_year"]: row["refunds"] for row in rows}, live, recorded)


def missing_rates(figures: Mapping[str, Iterable[str]], live: Iterable[RefundView],
                  recorded: Iterable[str]) -> list[MissingRate]:
    """Each half-year the recorded ``figures`` (half-year → refunds) or the ``live``
    provisional ones borrow a rate for, unless its rate is ``recorded`` since (the sweep's next
    pass corrects those figures), with how many refunds borrow for it."""
    borrowing = {half_year: set(refunds) for half_year, refunds in figures.items()}
    for view in live:
        if view.provisional and view.voided_on is None:
            for half_year in view.missing_half_years:
                borrowing.setdefault(half_year, set()).add(view.refund_id)
    known = set(recorded)
    return [MissingRate(half_year=half_year, refunds=len(refunds))
            for half_year, refunds in sorted(borrowing.items()) if half_year not in known]


async def escalation_candidates(db: Db, today: dt.date, recorded: list[str]) -> list[str]:
    """Orders, in id order, with an unpaid refund whose next escalation day has come (no payout
    under way), or a provisional figure a recorded rate may now settle. It may list too many,
    never too few: ``next_escalation_on`` is never later than the day a step is due. Both
    halves are index scans (partial indexes on unpaid refunds and on provisional figures)."""
    rows = await db.fetch(
        "SELECT order_id FROM refund_view WHERE paid_on IS NULL AND next_escalation_on <= $1 "
        "AND payout IS DISTINCT FROM 'pending' UNION SELECT order_id FROM refund_view "
        "WHERE missing_half_years <> '{}' AND missing_half_years && $2::text[] ORDER BY 1",
        today, recorded)
    return [row["order_id"] for row in rows]


async def recorded_rates(db: Db) -> list[RateView]:
    """The legal-interest rates operators recorded, by half-year."""
    rows = await db.fetch("SELECT * FROM legal_interest_rate_view ORDER BY half_year")
    return [RateView.model_validate(dict(row)) for row in rows]


async def _views(db: Db, rows: list[asyncpg.Record], today: dt.date,
                 policy: Policy) -> list[RefundView]:
    if not rows:
        return []
    steps = await db.fetch(
        "SELECT * FROM refund_escalation_view WHERE refund_id = ANY($1::text[]) "
        "ORDER BY escalated_on", [row["refund_id"] for row in rows])
    by_refund: dict[str, list[EscalationView]] = {}
    for step in steps:
        by_refund.setdefault(step["refund_id"], []).append(
            EscalationView.model_validate(dict(step)))
    return [_view(row, by_refund.get(row["refund_id"], []), today, policy) for row in rows]


def _view(row: asyncpg.Record, escalations: list[EscalationView], today: dt.date,
          policy: Policy) -> RefundView:
    return RefundView(
        refund_id=row["refund_id"], order_id=row["order_id"], situation=row["situation"],
        rule=row["rule"], cause_type=row["cause_type"], cause_event_id=row["cause_event_id"],
        owed_since=row["owed_since"], deadline=row["deadline"], base_cents=row["base_cents"],
        products_cents=row["products_cents"], payout=row["payout"], attempts=row["attempts"],
        last_refusal=row["last_refusal"], paid_on=row["paid_on"],
        bank_reference=row["bank_reference"], escalations=escalations,
        refunded_cents=row["refunded_cents"], balance_cents=_balance(row),
        voided_on=row["voided_on"], void_reason=row["void_reason"],
        recovered_cents=row["recovered_cents"], **_figures(row, today, policy))


def _balance(row: asyncpg.Record) -> int:
    if row["paid_on"] is None or row["voided_on"] is not None:
        return 0
    return max(0, row["paid_total_cents"] - row["refunded_cents"])


def _figures(row: asyncpg.Record, today: dt.date, policy: Policy) -> dict[str, Any]:
    """Paid: as paid; voided unpaid: as owed the day it was voided; else as owed today."""
    voided = row["voided_on"]
    if voided is not None:
        figures = _figures_of(row, min(today, voided), policy)
        return {**figures, "status": "voided"}
    return _figures_of(row, today, policy)


def _figures_of(row: asyncpg.Record, today: dt.date, policy: Policy) -> dict[str, Any]:
    if row["paid_on"] is not None:
        return {"status": "paid", "as_of": row["paid_on"], "delay_days": row["paid_delay_days"],
                "schedule": row["paid_schedule"], "tier": row["paid_tier"],
                "surcharge_cents": row["paid_surcharge_cents"],
                "total_cents": row["paid_total_cents"],
                "policy_version": row["paid_policy_version"],
                "provisional": row["paid_provisional"],
                "missing_half_years": list(row["paid_missing"])}
    now = compute_surcharge(row["situation"], row["base_cents"], row["products_cents"],
                            row["deadline"], today, policy)
    return {"status": "overdue" if now.delay_days else "due", "as_of": today,
            "delay_days": now.delay_days, "schedule": now.schedule, "tier": now.tier,
            "surcharge_cents": now.surcharge_cents, "total_cents": now.total_cents,
            "policy_version": now.policy_version, "provisional": now.provisional,
            "missing_half_years": list(now.missing_half_years)}
