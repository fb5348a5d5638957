"""The auditor's recomputation of every refund figure from the log (pure: no I/O).

An order's ``refunds.events`` are replayed with the cause events of the other topics: each
obligation is derived again from its cause, each deadline from the return dates recorded, and
each escalation, correction, payout and issued amount is recomputed with ``contracts.policies``
under the policy version the event names. A recorded rate named in a policy version must be one
the log recorded. Any difference is a ``Finding``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from contracts.base import Event
from contracts.envelope import parse_payload
from contracts.fulfilment import ReturnReceived
from contracts.orders import ProofOfDispatchReceived, TerminationVoided
from contracts.policies import (
    PolicyError,
    compute_surcharge,
    load_policy,
    withdrawal_refund_deadline,
)
from contracts.policies.policy_data import RECORDED_SEPARATOR, VERSION_SEPARATOR
from contracts.refunds import (
    LegalInterestRateRecorded,
    RefundBalanceIssued,
    RefundBalancePayoutRequested,
    RefundDeadlineMoved,
    RefundDue,
    RefundIssued,
    RefundIssuedLater,
    RefundPayoutRequested,
    RefundPenaltyEscalated,
    RefundPenaltyRecomputed,
    RefundVoided,
    ReturnOfGoodsNoted,
    TerminationVoidNoted,
    VoidedRefundRecovered,
)
from services.refunds import domain
from services.refunds.obligations import CAUSES, obligation_for

__all__ = ["Finding", "Recomputed", "StreamAudit", "audit_stream", "recorded_rates"]

Envelope = Mapping[str, Any]


@dataclass(frozen=True)
class Finding:
    """A figure of the log that its recomputation does not give back."""

    order_id: str
    event_id: str
    type: str
    field: str
    recorded: Any
    recomputed: Any


@dataclass(frozen=True)
class Recomputed:
    """One figure recomputed: what the event says and what the engine gives."""

    event_id: str
    type: str
    refund_id: str
    on: str
    recorded: dict[str, Any]
    recomputed: dict[str, Any]

    @property
    def agrees(self) -> bool:
        """True when the recomputation gives back every recorded figure."""
        return self.recorded == self.recomputed


@dataclass
class StreamAudit:
    """The audit of one order's refunds stream."""

    order_id: str
    figures: list[Recomputed] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def recorded_rates(rate_events: Iterable[Envelope]) -> set[tuple[str, Decimal]]:
    """Every (half-year, rate) operators recorded on the rates' stream."""
    rates: set[tuple[str, Decimal]] = set()
    for envelope in rate_events:
        event = _event(envelope)
        if isinstance(event, LegalInterestRateRecorded):
            rates.add((event.half_year, event.percent))
    return rates


def audit_stream(order_id: str, envelopes: Iterable[Envelope],
                 causes: Mapping[str, Envelope],
                 rates: set[tuple[str, Decimal]]) -> StreamAudit:
    """Replay one order's refunds events and recompute every figure they carry. A record that
    is no refunds event, or that names a refund the stream never owed, is a finding, and the
    replay goes on without it."""
    audit = StreamAudit(order_id)
    state: domain.RefundsState | None = None
    owed_after_void: Envelope | None = None  # its RefundVoided must come next
    paid_later: Envelope | None = None  # its RefundIssuedLater must follow
    for envelope in envelopes:
        try:
            event = _event(envelope)
            _check_voided_next(audit, owed_after_void, event)
            paid_later = _check_issued_later_follows(audit, paid_later, event)
            _check(audit, envelope, event, state or domain.RefundsState(), causes, rates)
            owed_after_void = envelope if _owed_after_its_void(event, state) else None
            if _owes_the_bank_day(envelope, event, state, causes):
                paid_later = envelope
            state = domain.evolve(state, event)
        except (ValueError, LookupError, TypeError) as error:
            audit.findings.append(Finding(order_id, str(envelope.get("event_id")),
                                          str(envelope.get("type")), "replay", "recorded",
                                          f"cannot be replayed: {error}"))
    _check_voided_next(audit, owed_after_void, None)
    _check_issued_later_follows(audit, paid_later, None)
    return audit


def _owes_the_bank_day(envelope: Envelope, event: Event, state: domain.RefundsState | None,
                       causes: Mapping[str, Envelope]) -> bool:
    """A refund issued on a payout the bank paid (its ``RefundPaid``, the issue's
    ``causation_id``) on a later day than ordered, whose figure that day owes more."""
    if not isinstance(event, RefundIssued) or state is None:
        return False
    paid_on = _bank_day(envelope, causes)
    refund = state.refunds.get(event.refund_id)
    if paid_on is None or refund is None:
        return False
    try:
        policy = load_policy(event.policy_version)
    except PolicyError:
        return False  # the figure's own check reports its policy
    decided = domain.record_payout_outcome(state, domain.RecordPayoutOutcome(
        event.refund_id, refund.attempts, paid_on=paid_on, policy=policy))
    return any(isinstance(e, RefundIssuedLater) for e in decided)


def _bank_day(envelope: Envelope, causes: Mapping[str, Envelope]) -> dt.date | None:
    """The day the bank paid, by the payments' ``RefundPaid`` an issue was recorded for (its
    ``causation_id``); None when it names none."""
    bank = causes.get(str(envelope.get("causation_id")))
    if bank is None or bank.get("type") != "RefundPaid":
        return None
    return dt.date.fromisoformat(str(bank["payload"]["paid_on"]))


def _check_issued_later_follows(audit: StreamAudit, issued: Envelope | None,
                                event: Event | None) -> Envelope | None:
    """What still waits for its ``RefundIssuedLater`` after ``event`` (the deadline moved in
    between, recorded in the same decision, keeps it waiting)."""
    if issued is None:
        return None
    refund_id = issued["payload"]["refund_id"]
    if isinstance(event, RefundDeadlineMoved) and event.refund_id == refund_id:
        return issued
    if not (isinstance(event, RefundIssuedLater) and event.refund_id == refund_id):
        audit.findings.append(Finding(
            audit.order_id, str(issued.get("event_id")), "RefundIssued", "issued later",
            "not recorded", "RefundIssuedLater: the bank paid on a later day, whose figure "
            "owes more"))
    return None


def _owed_after_its_void(event: Event, state: domain.RefundsState | None) -> bool:
    """A termination's refund owed once its void was noted: the same decision voids it."""
    return (isinstance(event, RefundDue) and event.situation == "late_delivery"
            and state is not None and state.termination_void is not None)


def _check_voided_next(audit: StreamAudit, owed: Envelope | None, event: Event | None) -> None:
    if owed is None:
        return
    refund_id = owed["payload"]["refund_id"]
    if not (isinstance(event, RefundVoided) and event.refund_id == refund_id):
        audit.findings.append(Finding(
            audit.order_id, str(owed.get("event_id")), "RefundDue", "voided",
            "not voided with it", "voided as it is owed: its termination's void was noted "
            "before (TerminationVoidNoted)"))


def _check(audit: StreamAudit, envelope: Envelope, event: Event, state: domain.RefundsState,
           causes: Mapping[str, Envelope], rates: set[tuple[str, Decimal]]) -> None:
    if isinstance(event, RefundDue):
        _compare(audit, envelope, event.refund_id, str(event.deadline), _obligation(event),
                 _expected_obligation(audit.order_id, event, state, causes))
    elif isinstance(event, RefundDeadlineMoved):
        refund = state.refunds.get(event.refund_id)
        after = domain.evolve(state, event)
        _compare(audit, envelope, event.refund_id, str(event.deadline),
                 {"deadline": str(event.deadline)},
                 {"deadline": str(_withdrawal_deadline(refund, after))})
    elif isinstance(event, _FIGURES):
        _check_figure(audit, envelope, event, state, rates)
        if isinstance(event, RefundIssuedLater):
            _compare(audit, envelope, event.refund_id, str(event.paid_on),
                     {"paid on by the bank": str(event.paid_on)},
                     {"paid on by the bank": str(_bank_day(envelope, causes))})
    elif isinstance(event, RefundBalancePayoutRequested | RefundBalanceIssued):
        _check_balance(audit, envelope, event, state.refunds.get(event.refund_id))
    elif isinstance(event, RefundVoided):
        _compare(audit, envelope, event.refund_id, str(event.voided_on), _voided(event),
                 _expected_void(audit.order_id, event, state, causes))
    elif isinstance(event, VoidedRefundRecovered):
        _compare(audit, envelope, event.refund_id, str(event.recovered_on),
                 _recovered(event), _expected_recovery(event, state))
    elif isinstance(event, TerminationVoidNoted):
        _compare(audit, envelope, "", str(event.received_on), _void_noted(event),
                 _expected_void_note(audit.order_id, event, state, causes))
    elif isinstance(event, ReturnOfGoodsNoted):
        _compare(audit, envelope, "", str(event.on), _return_noted(event),
                 _expected_return_note(audit.order_id, envelope, state, causes))


def _return_noted(event: ReturnOfGoodsNoted) -> dict[str, Any]:
    return {"kind": event.kind, "on": str(event.on)}


def _expected_return_note(order_id: str, envelope: Envelope, state: domain.RefundsState,
                          causes: Mapping[str, Envelope]) -> dict[str, Any]:
    """A return of goods is noted on the order's ``ReturnReceived`` or
    ``ProofOfDispatchReceived`` that caused it (the envelope's ``causation_id``), on its day
    and never after the day that was recorded, when no earlier one was noted."""
    cause = causes.get(str(envelope.get("causation_id")))
    if cause is None:
        return {"cause": f"no event {envelope.get('causation_id')} in the log"}
    fact = _event(cause)
    if cause.get("order_id") != order_id or not isinstance(
            fact, ReturnReceived | ProofOfDispatchReceived):
        return {"cause": f"{cause.get('type')} of order {cause.get('order_id')} returns no goods"}
    recorded_at = dt.datetime.fromisoformat(str(cause["occurred_at"]))
    decided = domain.note_return_of_goods(state, domain.return_of_goods(fact, recorded_at))
    noted = next((e for e in decided if isinstance(e, ReturnOfGoodsNoted)), None)
    if noted is None:
        return {"return": "an earlier day was noted before"}
    return _return_noted(noted)


def _voided(event: RefundVoided) -> dict[str, Any]:
    return {"refunded_cents": event.refunded_cents, "payout_under_way": event.payout_under_way}


def _expected_void(order_id: str, event: RefundVoided, state: domain.RefundsState,
                   causes: Mapping[str, Envelope]) -> dict[str, Any]:
    """A refund is voided by the orders' ``TerminationVoided`` of its order, when it is the
    termination's refund and not voided yet; with what was refunded of it until then."""
    decided = _decided_void(order_id, event.cause_event_id, state, causes, event.voided_on)
    if isinstance(decided, dict):
        return decided
    voided = next((e for e in decided if isinstance(e, RefundVoided)
                   and e.refund_id == event.refund_id), None)
    if voided is None:
        return {"refund": "no termination's refund to void (or voided before)"}
    return _voided(voided)


def _recovered(event: VoidedRefundRecovered) -> dict[str, Any]:
    return {"amount_cents": event.amount_cents, "recovered_cents": event.recovered_cents}


def _expected_recovery(event: VoidedRefundRecovered,
                       state: domain.RefundsState) -> dict[str, Any]:
    """Money comes back only for a voided refund, never more than was refunded for it, each
    transfer once; ``recovered_cents`` adds it to what came back before."""
    try:
        decided = domain.record_recovery(state, domain.RecordRecovery(
            event.refund_id, event.amount_cents, event.reference), event.recovered_on)
    except (domain.RefundNotFoundError, domain.RefundConflictError) as error:
        return {"recovery": str(error)}
    if not decided:
        return {"recovery": f"the transfer {event.reference} was recorded before"}
    [recovered] = decided
    assert isinstance(recovered, VoidedRefundRecovered)
    return _recovered(recovered)


def _void_noted(event: TerminationVoidNoted) -> dict[str, Any]:
    return {"delivered_on": str(event.delivered_on), "received_on": str(event.received_on)}


def _expected_void_note(order_id: str, event: TerminationVoidNoted,
                        state: domain.RefundsState,
                        causes: Mapping[str, Envelope]) -> dict[str, Any]:
    """A void is noted, with the days of the orders' ``TerminationVoided``, when refunds owed
    nothing for the termination yet."""
    decided = _decided_void(order_id, event.cause_event_id, state, causes, event.received_on)
    if isinstance(decided, dict):
        return decided
    noted = next((e for e in decided if isinstance(e, TerminationVoidNoted)), None)
    if noted is None:
        return {"refund": "a termination's refund was owed, or a void noted, before"}
    return _void_noted(noted)


def _decided_void(order_id: str, cause_event_id: str, state: domain.RefundsState,
                  causes: Mapping[str, Envelope], on: dt.date) -> list[Event] | dict[str, Any]:
    """What the domain decides on the order's ``TerminationVoided`` ``cause_event_id``, or why
    that event voids nothing (not in the log, not that order's, not borne out by the log)."""
    cause = causes.get(cause_event_id)
    if cause is None:
        return {"cause": f"no event {cause_event_id} in the log"}
    if cause.get("order_id") != order_id or cause.get("type") != "TerminationVoided":
        return {"cause": f"{cause.get('type')} of order {cause.get('order_id')} voids nothing"}
    payload = _event(cause)
    assert isinstance(payload, TerminationVoided)
    if (unfounded := _unfounded_void(order_id, payload, causes)) is not None:
        return {"cause": unfounded}
    return domain.void_termination_refund(state, domain.VoidTerminationRefund(
        cause_event_id, payload.delivered_on, payload.received_on), on)


def _check_balance(audit: StreamAudit, envelope: Envelope,
                   event: RefundBalancePayoutRequested | RefundBalanceIssued,
                   refund: domain.Refund | None) -> None:
    """A balance is the paid refund's figure as corrected less what the bank refunded; what is
    issued is what was requested."""
    recorded = {"amount_cents": event.amount_cents, "refunded_cents": event.refunded_cents}
    expected: dict[str, Any]
    if refund is None or refund.issued is None or refund.refunded_cents is None:
        expected = {"refund": "no paid refund before this balance"}
    elif isinstance(event, RefundBalancePayoutRequested):
        recorded["total_cents"] = event.total_cents
        expected = {"total_cents": refund.issued.total_cents,
                    "refunded_cents": refund.refunded_cents,
                    "amount_cents": refund.issued.total_cents - refund.refunded_cents}
    elif refund.balance_payout is None:
        expected = {"payout": "no balance payout under way"}
    else:
        expected = {"amount_cents": refund.balance_payout,
                    "refunded_cents": refund.refunded_cents + refund.balance_payout}
    on = str(event.requested_on) if isinstance(event, RefundBalancePayoutRequested) else ""
    _compare(audit, envelope, event.refund_id, on, recorded, expected)


_FIGURES = (RefundPenaltyEscalated, RefundPenaltyRecomputed, RefundPayoutRequested,
            RefundIssued, RefundIssuedLater)


def _check_figure(audit: StreamAudit, envelope: Envelope, event: Any,
                  state: domain.RefundsState, rates: set[tuple[str, Decimal]]) -> None:
    on = event.paid_on if isinstance(
        event, RefundPayoutRequested | RefundIssued | RefundIssuedLater) else event.escalated_on
    refund = state.refunds.get(event.refund_id)
    recorded = {"delay_days": event.delay_days, "tier": event.tier,
                "surcharge_cents": event.surcharge_cents, "total_cents": event.total_cents,
                "provisional": event.provisional}
    expected = _recompute(refund, on, event, rates)
    if refund is not None and refund.voided_on is not None and not isinstance(event,
                                                                             RefundIssued):
        expected["refund"] = f"voided on {refund.voided_on}: nothing more is owed"
    elif isinstance(event, RefundPayoutRequested) and refund is not None and not refund.open:
        expected["payout"] = "the refund was paid, or a payout of it is under way"
    if isinstance(event, RefundPenaltyRecomputed):
        recorded |= {"previous_surcharge_cents": event.previous_surcharge_cents,
                     "previous_policy_version": event.previous_policy_version,
                     "difference_cents": event.difference_cents}
        expected |= _corrected_figure(refund, event, expected.get("surcharge_cents"), recorded)
    if isinstance(event, RefundIssuedLater):
        recorded |= {"ordered_on": str(event.ordered_on),
                     "difference_cents": event.difference_cents}
        expected |= _issued_later(refund, event, expected.get("total_cents"))
    _compare(audit, envelope, event.refund_id, str(on), recorded, expected)


def _issued_later(refund: domain.Refund | None, event: RefundIssuedLater,
                  total_cents: Any) -> dict[str, Any]:
    """A refund paid later than ordered follows its issue at the figure ordered, and owes the
    difference its own day's figure makes (its day is held to the bank's record in
    ``_check``)."""
    issued = None if refund is None else refund.issued
    if issued is None or not isinstance(total_cents, int):
        return {"issued": "no refund issued before this figure"}
    if event.paid_on <= issued.on:
        return {"paid_on": f"after {issued.on}, the day its payout was ordered"}
    return {"ordered_on": str(issued.on), "difference_cents": total_cents - issued.total_cents}


def _corrected_figure(refund: domain.Refund | None, event: RefundPenaltyRecomputed,
                      surcharge_cents: Any, recorded: dict[str, Any]) -> dict[str, Any]:
    """What a correction says it corrects: the provisional figure recorded on its day (a step,
    or the payout), and the difference the recomputed surcharge makes to it. Before one
    correction was recorded per day, a step and the payout of one day each had their own,
    the same (decision 0010): the second finds that day's figures already so corrected, and
    repeats what the first said."""
    on = event.escalated_on
    figures = [] if refund is None else [*refund.steps, *filter(None, [refund.issued])]
    corrected = next((f for f in figures if f.on == on and f.provisional), None)
    if corrected is not None:
        difference = (surcharge_cents - corrected.surcharge_cents
                      if isinstance(surcharge_cents, int) else None)
        return {"previous_surcharge_cents": corrected.surcharge_cents,
                "previous_policy_version": corrected.policy_version,
                "difference_cents": difference}
    if any(f.on == on and (f.surcharge_cents, f.policy_version)
           == (event.surcharge_cents, event.policy_version) for f in figures):
        return {name: recorded[name] for name in ("previous_surcharge_cents",
                                                  "previous_policy_version",
                                                  "difference_cents")}
    return {"corrects": f"no provisional figure recorded on {on}"}


def _judged_under(refund: domain.Refund, event: Any) -> dt.date:
    """The deadline a figure is computed under: the refund's, but a correction's is that of
    the figure it corrects (a return of goods may have moved the refund's since)."""
    if isinstance(event, RefundPenaltyRecomputed):
        figures = [*refund.steps, *filter(None, [refund.issued])]
        corrected = next((f for f in figures if f.on == event.escalated_on), None)
        if corrected is not None:
            return domain.figure_deadline(corrected)
    return refund.deadline


def _recompute(refund: domain.Refund | None, on: dt.date, event: Any,
               rates: set[tuple[str, Decimal]]) -> dict[str, Any]:
    version = event.policy_version
    if refund is None:
        return {"refund": "no obligation recorded before this figure"}
    unrecorded = _unrecorded_rates(version, rates)
    if unrecorded:
        return {"policy_version": f"names rates the log never recorded: {unrecorded}"}
    try:
        policy = load_policy(version)
    except PolicyError as error:
        return {"policy_version": str(error)}
    result = compute_surcharge(refund.situation, refund.base_cents, refund.products_cents,
                               _judged_under(refund, event), on, policy)
    return {"delay_days": result.delay_days, "tier": result.tier,
            "surcharge_cents": result.surcharge_cents, "total_cents": result.total_cents,
            "provisional": result.provisional}


def _unrecorded_rates(version: str, rates: set[tuple[str, Decimal]]) -> list[str]:
    _, _, rates_part = version.partition(VERSION_SEPARATOR)
    named = rates_part.split(RECORDED_SEPARATOR)[1:]
    missing = []
    for pair in named:
        half_year, _, percent = pair.partition("=")
        try:
            if (half_year, Decimal(percent)) not in rates:
                missing.append(pair)
        except ArithmeticError:
            missing.append(pair)
    return missing


def _obligation(event: RefundDue) -> dict[str, Any]:
    # the notice too: a withdrawal's later deadline moves are recomputed from it
    return {"refund_id": event.refund_id, "situation": event.situation,
            "base_cents": event.base_cents, "products_cents": event.products_cents,
            "deadline": str(event.deadline),
            "notice_on": None if event.notice_on is None else str(event.notice_on)}


def _expected_obligation(order_id: str, event: RefundDue, state: domain.RefundsState,
                         causes: Mapping[str, Envelope]) -> dict[str, Any]:
    cause = causes.get(event.cause_event_id)
    if cause is None:
        return {"cause": f"no event {event.cause_event_id} in the log"}
    if cause.get("order_id") != order_id:
        return {"cause": f"event {event.cause_event_id} is of order {cause.get('order_id')}"}
    if cause.get("type") not in CAUSES:
        return {"cause": f"{cause.get('type')} owes nothing"}
    owed = obligation_for(cause["type"], _event(cause), event.cause_event_id)
    if owed is None:
        return {"cause": f"{cause['type']} owes nothing"}
    decided = domain.owe_refund(state, owed, event.owed_since)
    if not decided or not isinstance(decided[0], RefundDue):
        return {"cause": "owed before"}
    return _obligation(decided[0])


def _unfounded_void(order_id: str, void: TerminationVoided,
                    causes: Mapping[str, Envelope]) -> str | None:
    """Why the log does not bear the void out, if it does not: the delivery must come before
    the termination's receipt, the order's termination be received that day, and fulfilment
    have recorded the delivery that day. (The order's other events are looked up by a scan:
    a void is a rare race, so most audits never scan.)"""
    if void.delivered_on >= void.received_on:
        return f"delivered on {void.delivered_on}, not before the receipt on {void.received_on}"
    days = {(e["type"], e["payload"].get("received_on", e["payload"].get("delivered_on")))
            for e in causes.values() if e.get("order_id") == order_id
            and e.get("type") in ("ContractTerminated", "Delivered", "DeliveryReserved")}
    if ("ContractTerminated", str(void.received_on)) not in days:
        return f"no termination of the order received on {void.received_on}"
    if not {("Delivered", str(void.delivered_on)),
            ("DeliveryReserved", str(void.delivered_on))} & days:
        return f"fulfilment recorded no delivery of the order on {void.delivered_on}"
    return None


def _withdrawal_deadline(refund: domain.Refund | None, state: domain.RefundsState) -> Any:
    if refund is None or refund.notice_on is None:
        return "no withdrawal refund"
    return withdrawal_refund_deadline(refund.notice_on, state.goods_received_on,
                                      state.proof_of_dispatch_on)


def _compare(audit: StreamAudit, envelope: Envelope, refund_id: str, on: str,
             recorded: dict[str, Any], expected: dict[str, Any]) -> None:
    figure = Recomputed(str(envelope["event_id"]), str(envelope["type"]), refund_id, on,
                        recorded, expected)
    audit.figures.append(figure)
    unanswerable = sorted(set(expected) - set(recorded))  # why nothing could be recomputed
    for name in unanswerable or sorted(set(recorded) | set(expected)):
        if recorded.get(name) != expected.get(name):
            audit.findings.append(Finding(audit.order_id, figure.event_id, figure.type, name,
                                          recorded.get(name), expected.get(name)))


def _event(envelope: Envelope) -> Event:
    return parse_payload(envelope["type"], envelope["schema_version"], envelope["payload"])
