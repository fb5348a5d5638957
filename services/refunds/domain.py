"""Refunds: the pure decisions on an order's refunds and how their events change its state.

No I/O, no clock: ``now`` and the policy (the shipped rules with the rates operators recorded)
are parameters. Every figure comes from ``contracts.policies``; this module only decides which
figures are due to be recorded, and records each once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import Event
from contracts.fulfilment import ReturnReceived
from contracts.orders import ProofOfDispatchReceived
from contracts.policies import (
    Policy,
    SurchargeResult,
    compute_surcharge,
    delay_in_days,
    paris_date,
    withdrawal_refund_deadline,
)
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
    RefundSituation,
    RefundVoided,
    ReturnOfGoodsNoted,
    TerminationVoidNoted,
    VoidedRefundRecovered,
)

__all__ = [
    "Command",
    "Escalate",
    "Figure",
    "NoteReturnOfGoods",
    "OweRefund",
    "PayRefund",
    "RateConflictError",
    "RatesState",
    "RecordPayoutOutcome",
    "RecordRate",
    "RecordRecovery",
    "Refund",
    "RefundConflictError",
    "RefundNotFoundError",
    "RefundsState",
    "VoidNote",
    "VoidTerminationRefund",
    "decide",
    "decide_rate",
    "evolve",
    "evolve_rates",
    "figure_deadline",
    "issued_later",
    "note_return_of_goods",
    "record_recovery",
    "return_of_goods",
    "to_recover_cents",
    "void_termination_refund",
]


class RefundNotFoundError(LookupError):
    """No such refund on this order."""


class RefundConflictError(Exception):
    """The refund's state forbids the command (already paid, a payout under way)."""


class RateConflictError(Exception):
    """A half-year's rate is already known (shipped or recorded) with another value."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Figure(_Frozen):
    """One recorded figure of a refund: an escalation step, or the amount of a payout."""

    on: dt.date
    delay_days: int
    schedule: str | None = None
    tier: str
    rate: Decimal = Decimal(0)
    surcharge_cents: int
    total_cents: int
    policy_version: str
    provisional: bool = False
    missing_half_years: tuple[str, ...] = ()


class Refund(_Frozen):
    """One obligation of the order, with what was recorded about it since."""

    refund_id: str
    situation: RefundSituation
    base_cents: int
    products_cents: int
    deadline: dt.date
    notice_on: dt.date | None = None  # withdrawal: the notice its deadline is counted from
    steps: tuple[Figure, ...] = ()
    attempts: int = 0
    payout: Figure | None = None  # requested, the bank's answer awaited
    issued: Figure | None = None
    # what the bank refunded for it (None in states kept before it was: the issued figure)
    refunded_cents: int | None = None
    balance_payout: int | None = None  # a balance requested, the bank's answer awaited
    voided_on: dt.date | None = None  # its cause did not take effect: nothing more is owed
    recoveries: dict[str, int] = {}  # voided: transfer reference → cents the buyer gave back

    @property
    def open(self) -> bool:
        """Unpaid, no payout under way and not voided: it keeps escalating."""
        return self.issued is None and self.payout is None and self.voided_on is None

    @property
    def balance_cents(self) -> int:
        """What corrections added to the refund's figure once it was paid, not yet refunded
        (never negative: a figure corrected downwards is not taken back from the buyer)."""
        if self.issued is None or self.refunded_cents is None or self.voided_on is not None:
            return 0
        return max(0, self.issued.total_cents - self.refunded_cents)


class VoidNote(_Frozen):
    """A termination voided before its refund was owed (``TerminationVoidNoted``)."""

    cause_event_id: str
    delivered_on: dt.date
    received_on: dt.date


class RefundsState(_Frozen):
    """An order's refunds, the dates its withdrawn goods came back, and a termination voided
    before its refund was owed."""

    refunds: dict[str, Refund] = {}
    goods_received_on: dt.date | None = None
    proof_of_dispatch_on: dt.date | None = None
    termination_void: VoidNote | None = None


@dataclass(frozen=True)
class OweRefund:
    """A cause event says money is owed back (see ``services.refunds.causes``)."""

    refund_id: str
    situation: RefundSituation
    base_cents: int
    products_cents: int
    deadline: dt.date
    rule: str
    cause_type: str
    cause_event_id: str
    notice_on: dt.date | None = None


@dataclass(frozen=True)
class NoteReturnOfGoods:
    """The withdrawn goods were received back, or the buyer proved sending them."""

    kind: Literal["goods_received", "proof_of_dispatch"]
    on: dt.date


def return_of_goods(fact: ReturnReceived | ProofOfDispatchReceived,
                    recorded_at: dt.datetime) -> NoteReturnOfGoods:
    """What the warehouse's ``ReturnReceived`` or the buyer's ``ProofOfDispatchReceived``,
    recorded at ``recorded_at``, notes: its day, never after the day it was recorded (a
    refund is deferred on a fact, not on a date to come)."""
    if isinstance(fact, ReturnReceived):
        return NoteReturnOfGoods("goods_received", min(fact.received_on, paris_date(recorded_at)))
    return NoteReturnOfGoods("proof_of_dispatch", min(fact.dispatched_on, paris_date(recorded_at)))


@dataclass(frozen=True)
class Escalate:
    """The sweep: record what time made due under ``policy`` (steps, corrections)."""

    policy: Policy


@dataclass(frozen=True)
class PayRefund:
    """Operators order the refund paid today, for what the engine says it owes today."""

    refund_id: str
    policy: Policy


@dataclass(frozen=True)
class RecordPayoutOutcome:
    """The bank's answer to a payout, as payments recorded it (``code`` empty: paid on
    ``paid_on``, the figure of that day computed under ``policy``)."""

    refund_id: str
    attempt: int
    bank_reference: str = ""
    code: str = ""
    reason: str = ""
    paid_on: dt.date | None = None
    policy: Policy | None = None


@dataclass(frozen=True)
class VoidTerminationRefund:
    """The termination did not take effect (orders' ``TerminationVoided``, ``cause_event_id``):
    its refund is owed no more."""

    cause_event_id: str
    delivered_on: dt.date
    received_on: dt.date


@dataclass(frozen=True)
class RecordRecovery:
    """Operators record money the buyer gave back for a voided refund, received by the
    transfer ``reference``."""

    refund_id: str
    amount_cents: int
    reference: str


Command = (OweRefund | NoteReturnOfGoods | Escalate | PayRefund | RecordPayoutOutcome
           | VoidTerminationRefund | RecordRecovery)


def decide(state: RefundsState | None, command: Command, now: dt.datetime) -> list[Event]:
    """The events ``command`` produces on the order's refunds at ``now``, or a domain error."""
    state = state or RefundsState()
    today = paris_date(now)
    if isinstance(command, OweRefund):
        return owe_refund(state, command, today)
    if isinstance(command, NoteReturnOfGoods):
        return note_return_of_goods(state, command)
    if isinstance(command, Escalate):
        return escalate(state, command.policy, today)
    if isinstance(command, PayRefund):
        return pay_refund(state, command, today)
    if isinstance(command, VoidTerminationRefund):
        return void_termination_refund(state, command, today)
    if isinstance(command, RecordRecovery):
        return record_recovery(state, command, today)
    return record_payout_outcome(state, command)


def owe_refund(state: RefundsState, command: OweRefund, today: dt.date) -> list[Event]:
    """One obligation per cause: nothing for a cause already noted, or for nothing paid."""
    if command.refund_id in state.refunds or command.base_cents <= 0:
        return []
    deadline = command.deadline
    if command.situation == "withdrawal" and command.notice_on is not None:
        deadline = withdrawal_refund_deadline(command.notice_on, state.goods_received_on,
                                              state.proof_of_dispatch_on)
    due = RefundDue(
        refund_id=command.refund_id, situation=command.situation, base_cents=command.base_cents,
        products_cents=command.products_cents, deadline=deadline, rule=command.rule,
        cause_type=command.cause_type, cause_event_id=command.cause_event_id,
        owed_since=today, notice_on=command.notice_on)
    void = state.termination_void
    if command.situation != "late_delivery" or void is None:
        return [due]
    # the termination was voided before its cause came (put back from a dead-letter topic)
    return [due, *void_termination_refund(evolve(state, due), VoidTerminationRefund(
        void.cause_event_id, void.delivered_on, void.received_on), today)]


def void_termination_refund(state: RefundsState, command: VoidTerminationRefund,
                            today: dt.date) -> list[Event]:
    """The termination's refund (an order has one: the only ``late_delivery`` situation) is
    voided, whatever was paid of it already, which the event says (nothing when the refund is
    voided already). When refunds owes nothing for the termination yet, the void is noted, so
    that its cause, should it come later, is voided at once (``owe_refund``)."""
    if not any(refund.situation == "late_delivery" for refund in state.refunds.values()):
        if state.termination_void is not None:
            return []
        return [TerminationVoidNoted(cause_event_id=command.cause_event_id,
                                     delivered_on=command.delivered_on,
                                     received_on=command.received_on)]
    reason = (f"delivered on {command.delivered_on}, before the termination was received on "
              f"{command.received_on}: the termination did not take effect (L.216-6)")
    return [RefundVoided(refund_id=refund.refund_id, voided_on=today, reason=reason,
                         cause_event_id=command.cause_event_id,
                         refunded_cents=_refunded(refund),
                         payout_under_way=(refund.payout is not None
                                           or refund.balance_payout is not None))
            for refund in state.refunds.values()
            if refund.situation == "late_delivery" and refund.voided_on is None]


def record_recovery(state: RefundsState, command: RecordRecovery,
                    today: dt.date) -> list[Event]:
    """Money the buyer gave back for a voided refund: never more than is left to recover, and
    each transfer once (the same reference and amount again records nothing)."""
    refund = _refund(state, command.refund_id)
    if refund.voided_on is None:
        raise RefundConflictError(f"refund {refund.refund_id} is not voided: the buyer owes "
                                  "nothing back for it")
    known = refund.recoveries.get(command.reference)
    if known == command.amount_cents:
        return []
    if known is not None:
        raise RefundConflictError(f"the transfer {command.reference} was recorded for {known} "
                                  "cents")
    if refund.payout is not None or refund.balance_payout is not None:
        raise RefundConflictError(f"a payout of refund {refund.refund_id} awaits the bank's "
                                  "answer: what the buyer owes back is not known yet")
    left = to_recover_cents(refund)
    if command.amount_cents > left:
        raise RefundConflictError(f"{left} cents are left to recover of refund "
                                  f"{refund.refund_id}, not {command.amount_cents}")
    return [VoidedRefundRecovered(
        refund_id=refund.refund_id, amount_cents=command.amount_cents,
        recovered_cents=sum(refund.recoveries.values()) + command.amount_cents,
        reference=command.reference, recovered_on=today)]


def to_recover_cents(refund: Refund) -> int:
    """What the buyer still owes back for a voided refund: what was refunded for it, less
    what was recovered (0 for a refund not voided)."""
    if refund.voided_on is None:
        return 0
    return _refunded(refund) - sum(refund.recoveries.values())


def _refunded(refund: Refund) -> int:
    """What the bank refunded for it (a state kept before that was: its issued figure)."""
    if refund.refunded_cents is not None:
        return refund.refunded_cents
    return 0 if refund.issued is None else refund.issued.total_cents


def note_return_of_goods(state: RefundsState, command: NoteReturnOfGoods) -> list[Event]:
    """Note the date once; each open withdrawal refund whose deadline it defers moves."""
    known = (state.goods_received_on if command.kind == "goods_received"
             else state.proof_of_dispatch_on)
    if known is not None and known <= command.on:
        return []  # the earliest such date is the one that counts
    noted = ReturnOfGoodsNoted(kind=command.kind, on=command.on)
    reason = f"{command.kind.replace('_', ' ')} on {command.on}"
    return [noted, *_moved_deadlines(evolve(state, noted), reason)]


def _moved_deadlines(state: RefundsState, reason: str,
                     only: str | None = None, settled: bool = False) -> list[Event]:
    """Each open withdrawal refund (or only ``only``, also ``settled``) whose deadline the
    goods' return dates of ``state`` move. A refund with a payout under way keeps its
    deadline (its figure is being paid) until the payout is refused, or paid on a later day."""
    moved: list[Event] = []
    for refund in state.refunds.values():
        if (refund.situation != "withdrawal" or refund.notice_on is None
                or not (refund.open or settled) or only not in (None, refund.refund_id)):
            continue
        deadline = withdrawal_refund_deadline(refund.notice_on, state.goods_received_on,
                                              state.proof_of_dispatch_on)
        if deadline != refund.deadline:
            moved.append(RefundDeadlineMoved(
                refund_id=refund.refund_id, previous_deadline=refund.deadline,
                deadline=deadline, reason=reason))
    return moved


def escalate(state: RefundsState, policy: Policy, today: dt.date) -> list[Event]:
    """Every escalation step up to today not yet recorded, and every provisional figure the
    recorded rates now settle, recomputed."""
    events: list[Event] = []
    for refund in state.refunds.values():
        if refund.voided_on is not None:
            continue  # nothing is owed for it: its figures are not corrected either
        events += _corrections(refund, policy)
        if refund.open:
            events += _new_steps(refund, policy, today)
    return events


def _new_steps(refund: Refund, policy: Policy, until: dt.date) -> list[Event]:
    # none lies on or before the deadline, which a return of goods may move past the last step
    last = max(refund.steps[-1].on, refund.deadline) if refund.steps else refund.deadline
    if until <= last:
        return []
    now = _surcharge(refund, until, policy)
    if refund.steps and now.tier == _last_tier(refund, policy):
        return []  # still in the last step's tier: tiers only move forward (the engine's
        # percentages never decrease), so no step can lie in between; one figure, not a replay
    return [RefundPenaltyEscalated(
        refund_id=refund.refund_id, escalated_on=step.paid_on, delay_days=step.delay_days,
        schedule=step.schedule, tier=step.tier, rate=step.rate, rate_basis=step.rate_basis,
        base_cents=refund.base_cents, surcharge_cents=step.surcharge_cents,
        total_cents=step.total_cents, policy_version=step.policy_version,
        provisional=step.provisional, missing_half_years=step.missing_half_years)
        for step in _tier_changes(refund, policy, last, now)]


def _last_tier(refund: Refund, policy: Policy) -> str:
    """The last step's tier under the deadline in force: as recorded, unless the deadline
    moved since (a return of goods), which may put the step's day in a lower tier again."""
    step = refund.steps[-1]
    if delay_in_days(refund.deadline, step.on) == step.delay_days:
        return step.tier
    return _surcharge(refund, step.on, policy).tier


def _tier_changes(refund: Refund, policy: Policy, last: dt.date,
                  now: SurchargeResult) -> list[SurchargeResult]:
    """The figures of the days after ``last`` up to ``now``'s on which the tier changes (the
    first day of delay included): ``escalation_steps`` after ``last``, each found by bisection
    between the last step and today rather than day by day from the deadline, since tiers only
    move forward."""
    first = refund.deadline + dt.timedelta(days=1)
    if last < first:  # the first day of delay is a step
        current = now if now.paid_on == first else _surcharge(refund, first, policy)
        changes = [current]
    else:
        current, changes = _surcharge(refund, last, policy), []
    while current.tier != now.tier:
        current = _first_day_leaving(refund, policy, current, now)
        changes.append(current)
    return changes


def _first_day_leaving(refund: Refund, policy: Policy, inside: SurchargeResult,
                       beyond: SurchargeResult) -> SurchargeResult:
    """The figure of the first day after ``inside``'s on which the tier is no longer its tier
    (``beyond``'s tier differs); the day before ``beyond`` is tried first, as a daily sweep
    finds the tier changed on the day it runs."""
    day_before = beyond.paid_on - dt.timedelta(days=1)
    if day_before > inside.paid_on:
        probe = _surcharge(refund, day_before, policy)
        if probe.tier == inside.tier:
            return beyond
        beyond = probe
    while (beyond.paid_on - inside.paid_on).days > 1:
        halfway = dt.timedelta(days=(beyond.paid_on - inside.paid_on).days // 2)
        middle = _surcharge(refund, inside.paid_on + halfway, policy)
        inside, beyond = (middle, beyond) if middle.tier == inside.tier else (inside, middle)
    return beyond


def _corrections(refund: Refund, policy: Policy) -> list[Event]:
    figures = [*refund.steps, *([refund.issued] if refund.issued else [])]
    # one per day: a correction applies to every figure of its day (a step and the payout
    # of the same day would otherwise each record it, and the difference be owed twice)
    settled = {figure.on: figure for figure in figures if _settled_by(figure, policy)}
    return [_recomputed(refund, figure, policy) for figure in settled.values()]


def _settled_by(figure: Figure, policy: Policy) -> bool:
    """A provisional figure is recomputed once a rate it lacked is recorded."""
    return figure.provisional and any(
        not policy.rates.lookup(half_year).missing for half_year in figure.missing_half_years)


def _recomputed(refund: Refund, figure: Figure, policy: Policy) -> RefundPenaltyRecomputed:
    # what the rate changes, on the day as it was judged: under the deadline of its figure,
    # not one a return of goods moved since (the days after are judged under the new one)
    result = _surcharge(refund, figure.on, policy, figure_deadline(figure))
    return RefundPenaltyRecomputed(
        refund_id=refund.refund_id, escalated_on=figure.on, delay_days=result.delay_days,
        tier=result.tier, schedule=result.schedule, rate=result.rate,
        previous_surcharge_cents=figure.surcharge_cents,
        previous_policy_version=figure.policy_version, surcharge_cents=result.surcharge_cents,
        total_cents=result.total_cents,
        difference_cents=result.surcharge_cents - figure.surcharge_cents,
        policy_version=result.policy_version, provisional=result.provisional,
        missing_half_years=result.missing_half_years)


def figure_deadline(figure: Figure) -> dt.date:
    """The deadline a late figure was computed under: its day less its days of delay."""
    return figure.on - dt.timedelta(days=figure.delay_days)


def _surcharge(refund: Refund, on: dt.date, policy: Policy,
               deadline: dt.date | None = None) -> SurchargeResult:
    """The refund's figure on ``on``, counted from its deadline (or ``deadline``)."""
    return compute_surcharge(refund.situation, refund.base_cents, refund.products_cents,
                             deadline or refund.deadline, on, policy)


def pay_refund(state: RefundsState, command: PayRefund, today: dt.date) -> list[Event]:
    """The steps up to today, then the payout of base + surcharge as at today; on a refund
    paid, the balance a correction added since."""
    refund = _refund(state, command.refund_id)
    if refund.voided_on is not None:
        raise RefundConflictError(f"refund {refund.refund_id} was voided on "
                                  f"{refund.voided_on}: its cause did not take effect")
    if refund.payout is not None or refund.balance_payout is not None:
        raise RefundConflictError(f"a payout of refund {refund.refund_id} is under way")
    if refund.issued is not None:
        return [_balance_payout(refund, refund.issued, today)]
    result = _surcharge(refund, today, command.policy)
    return [*_new_steps(refund, command.policy, today), RefundPayoutRequested(
        refund_id=refund.refund_id, attempt=refund.attempts + 1, paid_on=today,
        delay_days=result.delay_days, schedule=result.schedule, tier=result.tier,
        rate=result.rate, base_cents=refund.base_cents, surcharge_cents=result.surcharge_cents,
        total_cents=result.total_cents, policy_version=result.policy_version,
        provisional=result.provisional, missing_half_years=result.missing_half_years)]


def _balance_payout(refund: Refund, issued: Figure,
                    today: dt.date) -> RefundBalancePayoutRequested:
    """The payout of what a correction added to the paid refund's figure (``issued``)."""
    balance = refund.balance_cents
    if balance <= 0:
        raise RefundConflictError(f"refund {refund.refund_id} was paid on {issued.on}")
    return RefundBalancePayoutRequested(
        refund_id=refund.refund_id, attempt=refund.attempts + 1, requested_on=today,
        total_cents=issued.total_cents, refunded_cents=issued.total_cents - balance,
        amount_cents=balance)


def record_payout_outcome(state: RefundsState, command: RecordPayoutOutcome) -> list[Event]:
    """The bank's answer closes the payout under way (a stale or repeated answer is ignored)."""
    refund = state.refunds.get(command.refund_id)
    if refund is None or command.attempt != refund.attempts:
        return []
    if refund.balance_payout is not None:
        return [_balance_outcome(refund, refund.balance_payout, command)]
    if refund.payout is None:
        return []
    if command.code:
        refused = RefundPayoutRefused(refund_id=refund.refund_id, attempt=command.attempt,
                                      code=command.code, reason=command.reason)
        # a return of goods noted while the payout was under way counts from now on
        return [refused, *_moved_deadlines(evolve(state, refused), "goods returned while a "
                                           "payout was under way", only=refund.refund_id)]
    payout = refund.payout
    issued = RefundIssued(
        refund_id=refund.refund_id, paid_on=payout.on, delay_days=payout.delay_days,
        schedule=payout.schedule, tier=payout.tier, rate=payout.rate,
        base_cents=refund.base_cents, surcharge_cents=payout.surcharge_cents,
        total_cents=payout.total_cents, policy_version=payout.policy_version,
        provisional=payout.provisional, missing_half_years=payout.missing_half_years,
        bank_reference=command.bank_reference)
    return [issued, *issued_later(evolve(state, issued), refund.refund_id, payout, command)]


def issued_later(state: RefundsState, refund_id: str, payout: Figure,
                 command: RecordPayoutOutcome) -> list[Event]:
    """The figure of the day the bank paid, when that is after the day the payout was ordered
    and owes more than the bank paid: the delay runs until the refund is issued (RULES), so a
    bank that answers days late does not stop the surcharge at the order's figure. It is
    judged under the deadline in force that day: a return of goods noted while the payout was
    under way moves it first (``RefundDeadlineMoved``)."""
    refund = state.refunds[refund_id]
    if (command.paid_on is None or command.policy is None or command.paid_on <= payout.on
            or refund.voided_on is not None):
        return []  # a voided refund owes nothing more, whenever the bank paid it
    moved = _moved_deadlines(state, "goods returned while a payout was under way",
                             only=refund_id, settled=True)
    for event in moved:
        state = evolve(state, event)
    refund = state.refunds[refund_id]
    result = _surcharge(refund, command.paid_on, command.policy)
    if result.total_cents <= payout.total_cents:
        return []
    return [*moved, RefundIssuedLater(
        refund_id=refund.refund_id, attempt=command.attempt, ordered_on=payout.on,
        paid_on=command.paid_on, delay_days=result.delay_days, schedule=result.schedule,
        tier=result.tier, rate=result.rate, surcharge_cents=result.surcharge_cents,
        total_cents=result.total_cents, difference_cents=result.total_cents - payout.total_cents,
        policy_version=result.policy_version, provisional=result.provisional,
        missing_half_years=result.missing_half_years)]


def _balance_outcome(refund: Refund, amount_cents: int,
                     command: RecordPayoutOutcome) -> Event:
    if command.code:
        return RefundPayoutRefused(refund_id=refund.refund_id, attempt=command.attempt,
                                   code=command.code, reason=command.reason)
    return RefundBalanceIssued(
        refund_id=refund.refund_id, attempt=command.attempt, amount_cents=amount_cents,
        refunded_cents=(refund.refunded_cents or 0) + amount_cents,
        bank_reference=command.bank_reference)


def _refund(state: RefundsState, refund_id: str) -> Refund:
    refund = state.refunds.get(refund_id)
    if refund is None:
        raise RefundNotFoundError(f"no refund {refund_id} on this order")
    return refund


def evolve(state: RefundsState | None, event: Event) -> RefundsState:
    """The order's refunds after ``event``."""
    state = state or RefundsState()
    match event:
        case RefundDue():
            refund = Refund(refund_id=event.refund_id, situation=event.situation,
                            base_cents=event.base_cents, products_cents=event.products_cents,
                            deadline=event.deadline, notice_on=event.notice_on)
            return _with(state, refund)
        case ReturnOfGoodsNoted():
            return state.model_copy(update={
                "goods_received_on" if event.kind == "goods_received"
                else "proof_of_dispatch_on": event.on})
        case RefundDeadlineMoved():
            return _with(state, _refund(state, event.refund_id).model_copy(
                update={"deadline": event.deadline}))
        case RefundVoided():
            return _with(state, _refund(state, event.refund_id).model_copy(
                update={"voided_on": event.voided_on}))
        case VoidedRefundRecovered():
            refund = _refund(state, event.refund_id)
            return _with(state, refund.model_copy(update={"recoveries": {
                **refund.recoveries, event.reference: event.amount_cents}}))
        case TerminationVoidNoted():
            return state.model_copy(update={"termination_void": VoidNote(
                cause_event_id=event.cause_event_id, delivered_on=event.delivered_on,
                received_on=event.received_on)})
    return _evolve_figures(state, event)


def _evolve_figures(state: RefundsState, event: Event) -> RefundsState:
    match event:
        case RefundPenaltyEscalated():
            refund = _refund(state, event.refund_id)
            return _with(state, refund.model_copy(
                update={"steps": (*refund.steps, _figure(event, event.escalated_on))}))
        case RefundPenaltyRecomputed():
            return _with(state, _corrected(_refund(state, event.refund_id), event))
        case RefundPayoutRequested():
            refund = _refund(state, event.refund_id)
            return _with(state, refund.model_copy(update={
                "attempts": event.attempt, "payout": _figure(event, event.paid_on)}))
        case RefundPayoutRefused():
            return _with(state, _refund(state, event.refund_id).model_copy(
                update={"payout": None, "balance_payout": None}))
        case RefundIssued():
            refund = _refund(state, event.refund_id)
            return _with(state, refund.model_copy(update={
                "payout": None, "issued": refund.payout,
                "refunded_cents": event.total_cents}))
        case RefundIssuedLater():  # the figure owed is the later day's: its balance stays
            return _with(state, _refund(state, event.refund_id).model_copy(
                update={"issued": _figure(event, event.paid_on)}))
    return _evolve_balance(state, event)


def _evolve_balance(state: RefundsState, event: Event) -> RefundsState:
    match event:
        case RefundBalancePayoutRequested():
            return _with(state, _refund(state, event.refund_id).model_copy(update={
                "attempts": event.attempt, "balance_payout": event.amount_cents,
                "refunded_cents": event.refunded_cents}))
        case RefundBalanceIssued():
            refund = _refund(state, event.refund_id)
            return _with(state, refund.model_copy(update={
                "balance_payout": None, "refunded_cents": event.refunded_cents}))
    return state


def _figure(event: RefundPenaltyEscalated | RefundPayoutRequested | RefundIssuedLater,
            on: dt.date) -> Figure:
    return Figure(on=on, delay_days=event.delay_days, schedule=event.schedule, tier=event.tier,
                  rate=event.rate,
                  surcharge_cents=event.surcharge_cents, total_cents=event.total_cents,
                  policy_version=event.policy_version, provisional=event.provisional,
                  missing_half_years=event.missing_half_years)


def _corrected(refund: Refund, event: RefundPenaltyRecomputed) -> Refund:
    recomputed = {
        "delay_days": event.delay_days, "tier": event.tier,
        "surcharge_cents": event.surcharge_cents, "total_cents": event.total_cents,
        "policy_version": event.policy_version, "provisional": event.provisional,
        "missing_half_years": event.missing_half_years,
        **({} if event.rate is None else {"schedule": event.schedule, "rate": event.rate})}

    def fix(figure: Figure) -> Figure:
        return figure if figure.on != event.escalated_on else figure.model_copy(
            update=recomputed)

    issued, refunded = refund.issued, refund.refunded_cents
    if issued is not None and issued.on == event.escalated_on:
        # a state kept before what was refunded was: the figure as paid, before correcting it
        refunded = issued.total_cents if refunded is None else refunded
        issued = fix(issued)
    return refund.model_copy(update={"steps": tuple(fix(step) for step in refund.steps),
                                     "issued": issued, "refunded_cents": refunded})


def _with(state: RefundsState, refund: Refund) -> RefundsState:
    return state.model_copy(update={"refunds": {**state.refunds, refund.refund_id: refund}})


class RatesState(_Frozen):
    """The legal-interest rates operators recorded, by half-year (annual percent)."""

    recorded: dict[str, Decimal] = {}


@dataclass(frozen=True)
class RecordRate:
    """Operators record a half-year's legal-interest rate, with its source (the arrêté)."""

    half_year: str
    percent: Decimal
    source: str
    shipped: Decimal | None = None  # the shipped table's rate of the half-year, if it has one


def decide_rate(state: RatesState | None, command: RecordRate, now: dt.datetime) -> list[Event]:
    """Record the rate, unless that very rate is already known for the half-year. Another
    rate for a half-year already known is refused: the figures computed with the known one
    are final (only provisional figures, which lacked a rate, are recomputed), so they would
    silently disagree with it."""
    del now
    state = state or RatesState()
    known = state.recorded.get(command.half_year, command.shipped)
    if known == command.percent:
        return []
    if known is not None:
        raise RateConflictError(
            f"the rate of {command.half_year} is already {known} %: a half-year's rate is "
            "recorded once, and the figures computed with it stay as computed")
    return [LegalInterestRateRecorded(half_year=command.half_year, percent=command.percent,
                                      source=command.source)]


def evolve_rates(state: RatesState | None, event: Event) -> RatesState:
    """The recorded rates after ``event``."""
    state = state or RatesState()
    if isinstance(event, LegalInterestRateRecorded):
        return RatesState(recorded={**state.recorded, event.half_year: event.percent})
    return state
