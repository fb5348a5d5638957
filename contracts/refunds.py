"""Events the refunds service emits on ``refunds.events``: obligations, their deadlines, the
late-refund surcharge escalation, payouts, and the legal-interest rates operators record.

Every figure here comes from ``contracts.policies`` and names the ``policy_version`` it was
computed with, so an auditor replaying the log recomputes it to the cent. Refund events are on
their order's stream; ``LegalInterestRateRecorded`` is on the stream ``RATES_STREAM``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from contracts.base import Event
from contracts.vocabulary import Cents

__all__ = [
    "RATES_STREAM",
    "HalfYear",
    "LegalInterestRateRecorded",
    "RefundBalanceIssued",
    "RefundBalancePayoutRequested",
    "RefundDeadlineMoved",
    "RefundDue",
    "RefundIssued",
    "RefundIssuedLater",
    "RefundPayoutRefused",
    "RefundPayoutRequested",
    "RefundPenaltyEscalated",
    "RefundPenaltyRecomputed",
    "RefundSituation",
    "RefundVoided",
    "ReturnOfGoodsNoted",
    "TerminationVoidNoted",
    "VoidedRefundRecovered",
]

RATES_STREAM = "legal-interest-rates"
"""The stream (the key on ``refunds.events``) of the legal-interest rates operators record."""

RefundSituation = Literal["withdrawal", "late_delivery", "unavailable", "blocked"]
HalfYear = Annotated[str, Field(pattern=r"^\d{4}-S[12]$", description="e.g. 2026-S2")]
Tier = Annotated[str, Field(min_length=1, max_length=40)]
RefundId = Annotated[str, Field(min_length=1, max_length=80)]


class RefundDue(Event):
    """Money is owed back on the order: one obligation per cause event (``cause_event_id``),
    with its situation, base (the sums due), the products' price (the surcharge's cap), its
    deadline and the rule that set the deadline."""

    refund_id: RefundId
    situation: RefundSituation
    base_cents: Cents
    products_cents: Cents
    deadline: dt.date
    rule: str
    cause_type: str
    cause_event_id: str
    owed_since: dt.date
    notice_on: dt.date | None = Field(
        default=None, description="withdrawal: the notice the deadline is counted from")


class ReturnOfGoodsNoted(Event):
    """The withdrawn goods came back (``goods_received``) or the buyer proved sending them
    (``proof_of_dispatch``): a date the withdrawal-refund deadline may be deferred to."""

    kind: Literal["goods_received", "proof_of_dispatch"]
    on: dt.date


class RefundDeadlineMoved(Event):
    """A later fact moved the refund's deadline (the withdrawal refund's deferral)."""

    refund_id: RefundId
    previous_deadline: dt.date
    deadline: dt.date
    reason: str


class RefundPenaltyEscalated(Event):
    """The unpaid refund entered a new surcharge tier (or reached the cap) on ``escalated_on``:
    the engine's figures for that day."""

    refund_id: RefundId
    escalated_on: dt.date
    delay_days: Annotated[int, Field(ge=1)]
    schedule: str | None
    tier: Tier
    rate: Decimal
    rate_basis: str
    base_cents: Cents
    surcharge_cents: Cents
    total_cents: Cents
    policy_version: str
    provisional: bool = False
    missing_half_years: tuple[HalfYear, ...] = ()


class RefundPenaltyRecomputed(Event):
    """A provisional figure (escalation step, or the amount of a payout) recomputed once the
    missing legal-interest rate was recorded: the correction, never a silent change. The rate
    can change which schedule gives the most, so the tier, schedule and rate are the
    recomputed ones too (``schedule`` and ``rate`` are absent from corrections recorded before
    they were added: those left the figure's own)."""

    refund_id: RefundId
    escalated_on: dt.date
    delay_days: Annotated[int, Field(ge=0)]
    tier: Tier
    schedule: str | None = None
    rate: Decimal | None = None
    previous_surcharge_cents: Cents
    previous_policy_version: str
    surcharge_cents: Cents
    total_cents: Cents
    difference_cents: int
    policy_version: str
    provisional: bool = False
    missing_half_years: tuple[HalfYear, ...] = ()


class RefundPayoutRequested(Event):
    """Operators ordered the refund paid on ``paid_on``: base plus the surcharge the engine
    gives for that date; payments asks the bank to refund ``total_cents`` (attempt
    ``attempt``, so a refused payout can be asked again as a new question)."""

    refund_id: RefundId
    attempt: Annotated[int, Field(ge=1)]
    paid_on: dt.date
    delay_days: Annotated[int, Field(ge=0)]
    schedule: str | None
    tier: Tier
    rate: Decimal
    base_cents: Cents
    surcharge_cents: Cents
    total_cents: Cents
    policy_version: str
    provisional: bool = False
    missing_half_years: tuple[HalfYear, ...] = ()


class RefundPayoutRefused(Event):
    """The bank refused the payout: the refund stays open (and keeps escalating)."""

    refund_id: RefundId
    attempt: Annotated[int, Field(ge=1)]
    code: str
    reason: str


class RefundIssued(Event):
    """The bank refunded the buyer: base plus the surcharge owed on ``paid_on``, as requested."""

    refund_id: RefundId
    paid_on: dt.date
    delay_days: Annotated[int, Field(ge=0)]
    schedule: str | None
    tier: Tier
    rate: Decimal
    base_cents: Cents
    surcharge_cents: Cents
    total_cents: Cents
    policy_version: str
    provisional: bool = False
    missing_half_years: tuple[HalfYear, ...] = ()
    bank_reference: str


class RefundIssuedLater(Event):
    """The bank paid the refund (``RefundIssued``, attempt ``attempt``: the figure of the day its
    payout was ordered, ``ordered_on``) on a later day, ``paid_on`` (its answer held up, the
    payout asked again): the delay runs until the refund is issued, so the figure owed is
    that of ``paid_on``. ``difference_cents`` more than the bank paid is the refund's balance,
    which operators pay as any other (``RefundBalancePayoutRequested``)."""

    refund_id: RefundId
    attempt: Annotated[int, Field(ge=1)]
    ordered_on: dt.date
    paid_on: dt.date
    delay_days: Annotated[int, Field(ge=0)]
    schedule: str | None
    tier: Tier
    rate: Decimal
    surcharge_cents: Cents
    total_cents: Cents
    difference_cents: Annotated[int, Field(gt=0)]
    policy_version: str
    provisional: bool = False
    missing_half_years: tuple[HalfYear, ...] = ()


class RefundVoided(Event):
    """The obligation no longer stands: its cause did not take effect (a termination the
    delivery came before: the orders service's ``TerminationVoided``, ``cause_event_id``).
    It escalates no more and is not paid; ``refunded_cents`` were paid out for it already
    (and ``payout_under_way`` says whether a payout awaited the bank's answer): money the
    buyer was refunded for a contract that stands, which operators recover."""

    refund_id: RefundId
    voided_on: dt.date
    reason: str
    cause_event_id: str
    refunded_cents: Cents
    payout_under_way: bool = False


class TerminationVoidNoted(Event):
    """A termination voided before refunds owed anything for it, noted for its cause to come.

    The orders service's ``TerminationVoided`` (``cause_event_id``: delivered on
    ``delivered_on``, before the termination was received on ``received_on``) came before
    refunds owed anything for the termination: the termination owed nothing, or its
    record had not reached refunds (set aside in a dead-letter topic). Should that record come
    later (put back), its refund is owed and voided at once, in one decision: nothing is owed
    for a termination that did not take effect, whichever of the two records came first."""

    cause_event_id: str
    delivered_on: dt.date
    received_on: dt.date


class VoidedRefundRecovered(Event):
    """Operators recorded money the buyer gave back for a voided refund already refunded.

    The refund was voided after it was refunded (``RefundVoided``: a termination the delivery
    came before): ``amount_cents`` received on ``recovered_on`` by the transfer ``reference``
    (each reference recorded once per refund), and
    ``recovered_cents``, what is recovered of the refund in all. Never more than was
    refunded."""

    refund_id: RefundId
    amount_cents: Annotated[int, Field(gt=0)]
    recovered_cents: Cents
    reference: Annotated[str, Field(min_length=1, max_length=100)]
    recovered_on: dt.date


class RefundBalancePayoutRequested(Event):
    """Operators ordered paid what a correction added to a refund already paid: its figure as
    corrected (``total_cents``, the day it was paid) less what the bank already refunded for
    it (``refunded_cents``). Payments asks the bank to refund ``amount_cents``, the
    difference, as attempt ``attempt`` of the refund's payouts. The balance does not escalate:
    the delay ended the day the refund was paid."""

    refund_id: RefundId
    attempt: Annotated[int, Field(ge=2)]
    requested_on: dt.date
    total_cents: Cents
    refunded_cents: Cents
    amount_cents: Annotated[int, Field(gt=0)]


class RefundBalanceIssued(Event):
    """The bank refunded the buyer the balance of a refund already paid (``amount_cents``, as
    requested by attempt ``attempt``): ``refunded_cents`` is what it has refunded for the
    refund in all since, this balance included."""

    refund_id: RefundId
    attempt: Annotated[int, Field(ge=2)]
    amount_cents: Annotated[int, Field(gt=0)]
    refunded_cents: Cents
    bank_reference: str


class LegalInterestRateRecorded(Event):
    """Operators recorded a half-year's legal-interest rate (annual percent) with its source:
    from then on the engine uses it alongside the shipped table."""

    half_year: HalfYear
    percent: Annotated[Decimal, Field(ge=0, le=100)]
    source: Annotated[str, Field(min_length=1, max_length=500)]
