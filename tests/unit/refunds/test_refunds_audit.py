"""The auditor's recomputation: a log the engine agrees with has no finding; a figure changed
after the fact, a cause that owes nothing, or a rate the log never recorded is reported."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from contracts.base import Event
from contracts.fulfilment import Delivered, ReturnReceived
from contracts.orders import (
    ContractTerminated,
    ProofOfDispatchReceived,
    TerminationVoided,
    WithdrawalRequested,
)
from contracts.payments import RefundPaid
from contracts.policies import load_policy, with_recorded_rates
from contracts.refunds import (
    RATES_STREAM,
    LegalInterestRateRecorded,
    RefundIssued,
    RefundIssuedLater,
    RefundPayoutRefused,
    RefundPenaltyEscalated,
    RefundPenaltyRecomputed,
    RefundVoided,
)
from contracts.vocabulary import LineQuantity
from services.platform.verify import COPY
from services.refunds import domain, obligations
from services.refunds.audit import audit_stream, recorded_rates
from services.refunds.audit_command import audit_refunds
from tests.unit.refunds.test_refunds_domain import on, paid_provisionally_capped, when

POLICY = load_policy()


def envelope(event: Event, event_id: str | None = None, order_id: str = "o-1",
             **metadata: str) -> dict[str, Any]:
    return {"event_id": event_id or str(uuid.uuid4()), "order_id": order_id,
            "type": event.type_name(),
            "schema_version": event.schema_version,
            "payload": event.model_dump(mode="json"), **metadata}


def goods_back(day: str, recorded: str) -> tuple[dict[str, Any], domain.NoteReturnOfGoods]:
    """The warehouse's ``ReturnReceived`` of ``day``, recorded on the day ``recorded``: its
    envelope and what refunds notes of it."""
    fact = ReturnReceived(received_on=dt.date.fromisoformat(day),
                          lines=(LineQuantity(sku="ROUGE", quantity=6),))
    recorded_at = on(recorded)
    return (envelope(fact, occurred_at=recorded_at.isoformat()),
            domain.return_of_goods(fact, recorded_at))


def caused_by(cause: dict[str, Any], events: Sequence[Event]) -> list[dict[str, Any]]:
    """The envelopes of ``events`` recorded in reaction to ``cause``."""
    return [envelope(event, causation_id=cause["event_id"]) for event in events]


def a_withdrawal(notice: dt.date) -> tuple[dict[str, Any], domain.OweRefund]:
    """A withdrawal of six bottles (90 € and 10 € of delivery): its cause's envelope and the
    refund it owes."""
    cause = WithdrawalRequested(notice_on=notice, lines=(LineQuantity(sku="ROUGE", quantity=6),),
                                products_refund_cents=9000, delivery_refund_cents=1000)
    cause_envelope = envelope(cause)
    owe = obligations.for_withdrawal(cause, cause_envelope["event_id"])
    assert owe is not None
    return cause_envelope, owe


def a_paid_late_withdrawal() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cause_envelope, owe = a_withdrawal(dt.date(2026, 6, 10))
    history = decided(((owe, "2026-06-10"), (domain.Escalate(POLICY), "2026-08-30"),
                       (domain.PayRefund(owe.refund_id, POLICY), "2026-09-02"),
                       (domain.RecordPayoutOutcome(owe.refund_id, 1, "T/A"), "2026-09-02")))
    return cause_envelope, [envelope(event) for event in history]


def decided(commands: Sequence[tuple[domain.Command, str]]) -> list[Event]:
    """The events the commands record in turn, each on its day, each decided on the state the
    ones before it left."""
    history: list[Event] = []
    for command, day in commands:
        state = None
        for event in history:
            state = domain.evolve(state, event)
        history += domain.decide(state, command, on(day))
    return history


def test_a_log_the_engine_agrees_with_has_no_finding() -> None:
    cause, stream = a_paid_late_withdrawal()
    audit = audit_stream("o-1", stream, {cause["event_id"]: cause}, set())
    assert audit.findings == []
    assert len(audit.figures) == len(stream)  # every event carries a figure, all recomputed


def test_an_obligation_put_back_from_a_dead_letter_topic_is_not_owed_twice() -> None:
    # given the log of a paid late withdrawal, the bank's payment, and a copy of its
    # RefundDue put back from a dead-letter topic (an operator's re-drive)
    cause, stream = a_paid_late_withdrawal()
    issued = stream[-1]["payload"]
    paid = {"event_id": str(uuid.uuid4()), "type": "RefundPaid", "payload": {
        "refund_id": issued["refund_id"], "attempt": 1, "amount_cents": issued["total_cents"]}}
    log = {"orders": {"o-1": [cause]}, "payments": {"o-1": [paid]},
           "refunds": {"o-1": [*stream, {**stream[0], COPY: True}]}}
    # then the audit from the log finds nothing: the copy is not a second obligation
    [audit] = audit_refunds(log, log["refunds"])
    assert audit.findings == []


def test_a_withdrawal_notice_changed_after_the_fact_is_reported() -> None:
    # given an obligation whose notice (the day later deadline moves count from) was changed
    cause, stream = a_paid_late_withdrawal()
    stream[0]["payload"]["notice_on"] = "2026-07-20"
    # then the auditor, deriving it again from its cause, reports the notice
    [finding] = audit_stream("o-1", stream, {cause["event_id"]: cause}, set()).findings
    assert (finding.type, finding.field) == ("RefundDue", "notice_on")
    assert (finding.recorded, finding.recomputed) == ("2026-07-20", "2026-06-10")


def test_an_issued_amount_changed_after_the_fact_is_reported() -> None:
    cause, stream = a_paid_late_withdrawal()
    stream[-1]["payload"]["total_cents"] += 1
    [finding] = audit_stream("o-1", stream, {cause["event_id"]: cause}, set()).findings
    assert (finding.type, finding.field) == ("RefundIssued", "total_cents")
    assert finding.recorded == finding.recomputed + 1


def test_an_obligation_without_its_cause_is_reported() -> None:
    _, stream = a_paid_late_withdrawal()
    findings = audit_stream("o-1", stream, {}, set()).findings
    assert [(f.type, f.field) for f in findings] == [("RefundDue", "cause")]


def test_a_policy_naming_a_rate_the_log_never_recorded_is_reported() -> None:
    cause, stream = a_paid_late_withdrawal()
    forged = with_recorded_rates(POLICY, {"2026-S2": Decimal("1.00")}).version
    stream[1]["payload"]["policy_version"] = forged
    findings = audit_stream("o-1", stream, {cause["event_id"]: cause}, set()).findings
    assert [f.field for f in findings] == ["policy_version"]
    rates = recorded_rates([envelope(LegalInterestRateRecorded(
        half_year="2026-S2", percent=Decimal("1.00"), source="arrêté"))])
    findings = audit_stream("o-1", stream, {cause["event_id"]: cause}, rates).findings
    assert all(f.field != "policy_version" for f in findings)


def a_balance_paid() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """A refund paid with a borrowed rate, the rate recorded higher, the balance paid: its
    cause, its stream and the rate's event."""
    paid = paid_provisionally_capped()
    refund_id = paid[-1].refund_id  # type: ignore[attr-defined]
    rate = LegalInterestRateRecorded(half_year="2026-S2", percent=Decimal("9.00"),
                                     source="arrêté")
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("9.00")})
    fixes = when(paid, domain.Escalate(recorded), "2026-11-21")
    [balance] = when((*paid, *fixes), domain.PayRefund(refund_id, recorded), "2026-11-25")
    [issued] = when((*paid, *fixes, balance),
                    domain.RecordPayoutOutcome(refund_id, 2, "T/2"), "2026-11-25")
    cause = WithdrawalRequested(notice_on=dt.date(2026, 6, 26),
                                lines=(LineQuantity(sku="ROUGE", quantity=6),),
                                products_refund_cents=1000, delivery_refund_cents=9000)
    stream = [envelope(event) for event in (*paid, *fixes, balance, issued)]
    cause_envelope = envelope(cause, stream[0]["payload"]["cause_event_id"])
    return cause_envelope, stream, envelope(rate)


def test_a_balance_paid_after_a_correction_agrees_with_the_engine_and_the_bank() -> None:
    cause, stream, rate = a_balance_paid()
    rates = recorded_rates([rate])
    audit = audit_stream("o-1", stream, {cause["event_id"]: cause}, rates)
    assert audit.findings == []
    assert len(audit.figures) == len(stream)
    [issued] = [e for e in stream if e["type"] == "RefundIssued"]
    bank = [{"event_id": str(uuid.uuid4()), "type": "RefundPaid", "payload": {
        "refund_id": e["payload"]["refund_id"], "attempt": attempt,
        "amount_cents": e["payload"][field]}}
        for e, attempt, field in ((issued, 1, "total_cents"), (stream[-1], 2, "amount_cents"))]
    log = {"orders": {"o-1": [cause]}, "payments": {"o-1": bank},
           "refunds": {"o-1": stream, RATES_STREAM: [rate]}}
    [audit] = audit_refunds(log, log["refunds"])
    assert audit.findings == []
    # a balance the bank did not pay as issued is reported
    bank[1]["payload"]["amount_cents"] -= 1
    [audit] = audit_refunds(log, log["refunds"])
    assert [(f.type, f.field) for f in audit.findings] == [
        ("RefundBalanceIssued", "paid by the bank")]


def test_a_balance_changed_after_the_fact_is_reported() -> None:
    cause, stream, rate = a_balance_paid()
    stream[-2]["payload"]["amount_cents"] += 100
    findings = audit_stream("o-1", stream, {cause["event_id"]: cause},
                            recorded_rates([rate])).findings
    assert [(f.type, f.field) for f in findings] == [
        ("RefundBalancePayoutRequested", "amount_cents"),
        ("RefundBalanceIssued", "amount_cents"), ("RefundBalanceIssued", "refunded_cents")]


def test_an_obligation_citing_another_orders_cause_is_reported() -> None:
    # given order o-1's paid late withdrawal, and the same obligation recorded on o-2's stream
    cause, stream = a_paid_late_withdrawal()
    log = {"orders": {"o-1": [cause]}, "refunds": {"o-1": stream[:1], "o-2": stream[:1]}}
    # then o-2's is reported: one cause, one obligation, on its own order
    o1, o2 = audit_refunds(log, log["refunds"])
    assert o1.findings == []
    assert [(f.order_id, f.field, f.recomputed) for f in o2.findings] == [
        ("o-2", "cause", f"event {cause['event_id']} is of order o-1")]


def test_a_record_published_twice_is_audited_once() -> None:
    cause, stream = a_paid_late_withdrawal()
    issued = stream[-1]["payload"]
    paid = {"event_id": str(uuid.uuid4()), "type": "RefundPaid", "payload": {
        "refund_id": issued["refund_id"], "attempt": 1, "amount_cents": issued["total_cents"]}}
    twice = [record for record in stream for _ in range(2)]  # the relay published it all twice
    log = {"orders": {"o-1": [cause]}, "payments": {"o-1": [paid, paid]},
           "refunds": {"o-1": twice}}
    [audit] = audit_refunds(log, log["refunds"])
    assert audit.findings == []


def test_a_payout_the_bank_made_that_refunds_never_issued_is_reported() -> None:
    # given a refund whose payout refunds recorded as refused, and the bank's RefundPaid of it
    cause, stream = a_paid_late_withdrawal()
    refund_id = stream[0]["payload"]["refund_id"]
    refused = envelope(RefundPayoutRefused(refund_id=refund_id, attempt=1, code="00003",
                                           reason="bank error"))
    paid = {"event_id": str(uuid.uuid4()), "type": "RefundPaid", "payload": {
        "refund_id": refund_id, "attempt": 1, "amount_cents": 10000}}
    log = {"orders": {"o-1": [cause]}, "payments": {"o-1": [paid]},
           "refunds": {"o-1": [*stream[:-1], refused]}}
    [audit] = audit_refunds(log, log["refunds"])
    assert [(f.type, f.field, f.recorded) for f in audit.findings] == [
        ("RefundPaid", "issued by refunds", 10000)]


def test_records_that_cannot_be_replayed_are_findings_not_a_crash() -> None:
    cause, stream = a_paid_late_withdrawal()
    junk = {"event_id": str(uuid.uuid4()), "type": "NoSuchEvent", "schema_version": 1,
            "payload": {}}
    orphan = {**stream[1], "event_id": str(uuid.uuid4()),
              "payload": {**stream[1]["payload"], "refund_id": "never-owed"}}
    issued = stream[-1]["payload"]
    paid = {"event_id": str(uuid.uuid4()), "type": "RefundPaid", "payload": {
        "refund_id": issued["refund_id"], "attempt": 1, "amount_cents": issued["total_cents"]}}
    log = {"orders": {"o-1": [cause, {"order_id": "o-1"}]}, "payments": {"o-1": [paid, {}]},
           "refunds": {"o-1": [*stream, junk, orphan]}}
    [audit] = audit_refunds(log, log["refunds"])
    assert [(f.event_id, f.field) for f in audit.findings] == [
        (junk["event_id"], "replay"), (orphan["event_id"], "refund"),
        (orphan["event_id"], "replay")]


def test_a_correction_is_held_to_the_figure_it_corrects_and_the_difference_it_makes() -> None:
    cause, stream, rate = a_balance_paid()
    rates = recorded_rates([rate])
    fix = [e for e in stream if e["type"] == "RefundPenaltyRecomputed"
           and e["payload"]["difference_cents"] > 0][-1]
    fix["payload"]["difference_cents"] += 1000
    fix["payload"]["previous_policy_version"] = "nonsense"
    findings = audit_stream("o-1", stream, {cause["event_id"]: cause}, rates).findings
    assert {(f.type, f.field) for f in findings} == {
        ("RefundPenaltyRecomputed", "difference_cents"),
        ("RefundPenaltyRecomputed", "previous_policy_version")}


def test_an_orders_proof_is_not_verified_when_its_topic_and_store_disagree() -> None:
    from services.platform.verify import ServiceReport
    from services.refunds.audit_command import _order_chain

    assert _order_chain(ServiceReport(), "o-1") == "ok"
    forged = ServiceReport(on_topic_but_not_in_store=["e-9"])  # chained on at the end
    assert _order_chain(forged, "o-1") == "on the topic but not in the store: e-9"
    cut = ServiceReport(published_but_not_on_topic=["e-3", "e-4"])  # a tail cut off the topic
    assert _order_chain(cut, "o-1") == "published but not on the topic: e-3, e-4"
    broken = ServiceReport(broken_chains={"o-1": "version 2 does not follow version 1"},
                           differs_from_store=["e-2"])
    assert _order_chain(broken, "o-1") == "version 2 does not follow version 1"


def test_a_second_full_payout_of_a_refund_paid_is_reported() -> None:
    cause, stream = a_paid_late_withdrawal()
    payout = next(e for e in stream if e["type"] == "RefundPayoutRequested")
    issued = stream[-1]
    again = [{**payout, "event_id": str(uuid.uuid4()),
              "payload": {**payout["payload"], "attempt": 2}},
             {**issued, "event_id": str(uuid.uuid4())}]
    findings = audit_stream("o-1", [*stream, *again], {cause["event_id"]: cause},
                            set()).findings
    assert ("RefundPayoutRequested", "payout") in {(f.type, f.field) for f in findings}


def test_a_correction_recorded_again_for_the_payout_of_a_steps_day_is_no_finding() -> None:
    # before one correction was recorded per day, a step and the payout of one day each had
    # their own, the same (decision 0010)
    cause, stream, rate = a_balance_paid()
    fix = next(e for e in stream if e["type"] == "RefundPenaltyRecomputed"
               and e["payload"]["escalated_on"] == "2026-11-20")
    at = stream.index(fix)
    twice = [*stream[:at + 1], {**fix, "event_id": str(uuid.uuid4())}, *stream[at + 1:]]
    assert audit_stream("o-1", twice, {cause["event_id"]: cause},
                        recorded_rates([rate])).findings == []


def test_a_correction_after_the_deadline_moved_agrees_with_the_engine() -> None:
    # given a step recorded with a borrowed rate, the goods then received (the deadline
    # moves past the step's day), and the rate recorded: the correction of that day
    cause_envelope, owe = a_withdrawal(dt.date(2026, 6, 20))
    returned, noted = goods_back("2026-07-08", "2026-07-08")
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("3.50")})
    stream: list[dict[str, Any]] = []
    history: tuple[Event, ...] = ()
    for command, day in ((owe, "2026-06-20"), (domain.Escalate(POLICY), "2026-07-05"),
                         (noted, "2026-07-08"), (domain.Escalate(recorded), "2026-07-09")):
        events = when(history, command, day)
        stream += (caused_by(returned, events) if command is noted
                   else [envelope(event) for event in events])
        history += tuple(events)
    assert any(isinstance(event, RefundPenaltyRecomputed) for event in history)
    rates = recorded_rates([envelope(LegalInterestRateRecorded(
        half_year="2026-S2", percent=Decimal("3.50"), source="arrêté"))])

    audit = audit_stream("o-1", stream, {cause["event_id"]: cause
                                         for cause in (cause_envelope, returned)}, rates)

    assert audit.findings == []


def a_voided_termination(cause_first: bool = True,
                         ) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """A termination's refund, escalated, then voided by the orders' ``TerminationVoided``
    (or, not ``cause_first``, the void noted first and the termination's record put back
    later): the causes by id and the refunds stream."""
    terminated = envelope(ContractTerminated(
        cause="essential_date_missed", received_on=dt.date(2026, 6, 12), refund_cents=9610,
        products_cents=7720))
    voiding = envelope(TerminationVoided(delivered_on=dt.date(2026, 6, 11),
                                         received_on=dt.date(2026, 6, 12)))
    owe = obligations.for_termination(_event_of(terminated), terminated["event_id"])
    assert owe is not None
    void = domain.VoidTerminationRefund(voiding["event_id"], dt.date(2026, 6, 11),
                                        dt.date(2026, 6, 12))
    commands: tuple[tuple[domain.Command, str], ...] = (
        ((owe, "2026-06-12"), (domain.Escalate(POLICY), "2026-07-20"), (void, "2026-07-20"))
        if cause_first else ((void, "2026-06-15"), (owe, "2026-07-20")))
    history = decided(commands)
    assert isinstance(history[-1], RefundVoided)
    delivered = envelope(Delivered(delivered_on=dt.date(2026, 6, 11)))
    causes = {cause["event_id"]: cause for cause in (terminated, voiding, delivered)}
    return causes, [envelope(event) for event in history]


def _event_of(cause: dict[str, Any]) -> Any:
    return ContractTerminated.model_validate(cause["payload"])


def test_a_refund_voided_by_its_orders_voided_termination_has_no_finding() -> None:
    causes, stream = a_voided_termination()
    assert audit_stream("o-1", stream, causes, set()).findings == []


def test_a_void_without_its_cause_or_with_changed_figures_is_reported() -> None:
    causes, stream = a_voided_termination()
    stream[-1]["payload"]["refunded_cents"] = 500
    [changed] = audit_stream("o-1", stream, causes, set()).findings
    assert (changed.type, changed.field, changed.recomputed) == (
        "RefundVoided", "refunded_cents", 0)
    stream[-1]["payload"]["refunded_cents"] = 0
    withdrawn = {key: cause for key, cause in causes.items()
                 if cause["type"] != "TerminationVoided"}
    [uncaused] = audit_stream("o-1", stream, withdrawn, set()).findings
    assert (uncaused.type, uncaused.field) == ("RefundVoided", "cause")


def test_a_void_the_log_does_not_bear_out_is_reported() -> None:
    # given a void whose delivery fulfilment never recorded (a forged or mistaken void)
    causes, stream = a_voided_termination()
    without_delivery = {key: cause for key, cause in causes.items()
                        if cause["type"] != "Delivered"}
    [finding] = audit_stream("o-1", stream, without_delivery, set()).findings
    assert (finding.type, finding.field, finding.recomputed) == (
        "RefundVoided", "cause", "fulfilment recorded no delivery of the order on 2026-06-11")
    # or whose termination was received on another day than the void says
    for cause in causes.values():
        if cause["type"] == "TerminationVoided":
            cause["payload"]["received_on"] = "2026-06-13"
    [finding] = audit_stream("o-1", stream, causes, set()).findings
    assert finding.recomputed == "no termination of the order received on 2026-06-13"


def test_an_escalation_recorded_after_the_void_is_reported() -> None:
    causes, stream = a_voided_termination()
    step = next(e for e in stream if e["type"] == "RefundPenaltyEscalated")
    later = {**step, "event_id": str(uuid.uuid4())}
    [finding] = audit_stream("o-1", [*stream, later], causes, set()).findings
    assert (finding.type, finding.field) == ("RefundPenaltyEscalated", "refund")
    assert "voided on 2026-07-20" in finding.recomputed


def test_a_void_noted_before_the_termination_it_voids_has_no_finding() -> None:
    causes, stream = a_voided_termination(cause_first=False)
    assert [record["type"] for record in stream] == [
        "TerminationVoidNoted", "RefundDue", "RefundVoided"]
    assert audit_stream("o-1", stream, causes, set()).findings == []


def test_a_termination_owed_after_its_noted_void_and_not_voided_is_reported() -> None:
    causes, stream = a_voided_termination(cause_first=False)
    due = stream[1]
    escalation = envelope(RefundPenaltyEscalated(
        refund_id=due["payload"]["refund_id"], escalated_on=dt.date(2026, 7, 27), delay_days=1,
        schedule="B", tier="B:1-10", rate=Decimal("0.0667"), rate_basis="legal", base_cents=9610,
        surcharge_cents=2, total_cents=9612, policy_version=POLICY.version))
    for rest in ([], [escalation]):  # the void left out, alone or before more figures
        findings = audit_stream("o-1", [*stream[:2], *rest], causes, set()).findings
        assert ("RefundDue", "voided") in {(f.type, f.field) for f in findings}, findings


def test_a_noted_void_the_log_does_not_bear_out_is_reported() -> None:
    causes, stream = a_voided_termination(cause_first=False)
    stream[0]["payload"]["delivered_on"] = "2026-06-10"
    [changed] = audit_stream("o-1", stream, causes, set()).findings
    assert (changed.type, changed.field, changed.recomputed) == (
        "TerminationVoidNoted", "delivered_on", "2026-06-11")
    stream[0]["payload"]["delivered_on"] = "2026-06-11"
    without_void = {key: cause for key, cause in causes.items()
                    if cause["type"] != "TerminationVoided"}
    findings = audit_stream("o-1", stream, without_void, set()).findings
    assert {(finding.type, finding.field) for finding in findings} == {
        ("TerminationVoidNoted", "cause"), ("RefundVoided", "cause")}



def a_recovered_void() -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """A termination's refund paid, its termination voided, then money recovered in two
    transfers: the causes by id and the refunds stream."""
    causes, _ = a_voided_termination()
    [terminated, voiding] = [cause for cause in causes.values()
                             if cause["type"] in ("ContractTerminated", "TerminationVoided")]
    owe = obligations.for_termination(_event_of(terminated), terminated["event_id"])
    assert owe is not None
    steps: tuple[tuple[domain.Command, str], ...] = (
        (owe, "2026-06-12"), (domain.PayRefund(owe.refund_id, POLICY), "2026-06-20"),
        (domain.RecordPayoutOutcome(owe.refund_id, 1, "T/A"), "2026-06-20"),
        (domain.VoidTerminationRefund(voiding["event_id"], dt.date(2026, 6, 11),
                                      dt.date(2026, 6, 12)), "2026-07-20"),
        (domain.RecordRecovery(owe.refund_id, 1000, "VIR-1"), "2026-07-25"),
        (domain.RecordRecovery(owe.refund_id, 500, "VIR-2"), "2026-07-26"))
    return causes, [envelope(event) for event in decided(steps)]


def test_money_recovered_for_a_voided_refund_is_held_to_what_was_refunded() -> None:
    causes, stream = a_recovered_void()
    assert [record["type"] for record in stream][-3:] == [
        "RefundVoided", "VoidedRefundRecovered", "VoidedRefundRecovered"]
    assert audit_stream("o-1", stream, causes, set()).findings == []
    stream[-1]["payload"]["recovered_cents"] = 1400
    [added] = audit_stream("o-1", stream, causes, set()).findings
    assert (added.type, added.field, added.recomputed) == (
        "VoidedRefundRecovered", "recovered_cents", 1500)
    stream[-1]["payload"] |= {"recovered_cents": 9620, "amount_cents": 9620}
    [beyond] = audit_stream("o-1", stream, causes, set()).findings
    assert (beyond.field, beyond.recomputed) == (
        "recovery", f"8610 cents are left to recover of refund {stream[0]['payload']['refund_id']}"
        ", not 9620")


def a_withdrawal_deferred_to_the_goods(
        returned: dict[str, Any], noted: domain.NoteReturnOfGoods,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A withdrawal noticed on 1 June 2026 (due 15 June), the goods' return ``returned``
    noted, then the refund paid on 2 July: its cause's envelope and the refunds stream."""
    cause, owe = a_withdrawal(dt.date(2026, 6, 1))
    stream: list[dict[str, Any]] = []
    history: tuple[Event, ...] = ()
    for command, day in ((owe, "2026-06-01"), (noted, "2026-06-25"),
                         (domain.PayRefund(owe.refund_id, POLICY), "2026-07-02")):
        events = when(history, command, day)
        stream += (caused_by(returned, events) if command is noted
                   else [envelope(event) for event in events])
        history += tuple(events)
    return cause, stream


def test_a_refund_deferred_to_the_goods_return_its_log_bears_out_has_no_finding() -> None:
    returned, noted = goods_back("2026-06-24", "2026-06-25")
    cause, stream = a_withdrawal_deferred_to_the_goods(returned, noted)
    audit = audit_stream("o-1", stream, {e["event_id"]: e for e in (cause, returned)}, set())
    assert audit.findings == []
    assert "ReturnOfGoodsNoted" in [figure.type for figure in audit.figures]


def test_a_return_of_goods_the_log_does_not_bear_out_is_reported() -> None:
    # given a refund deferred to the goods received on 24 June (recorded on the 25th), when
    # the log holds no such ReturnReceived, another order's, or one of another day: then the
    # deferral is a finding, with what the log bears out
    returned, noted = goods_back("2026-06-24", "2026-06-25")
    cause, stream = a_withdrawal_deferred_to_the_goods(returned, noted)
    missing = f"no event {returned['event_id']} in the log"
    elsewhere = {**returned, "order_id": "o-2"}
    not_ours = "ReturnReceived of order o-2 returns no goods"
    later = {**returned, "payload": {**returned["payload"], "received_on": "2026-06-30"}}
    for causes, field, recomputed in (
            ({}, "cause", missing),
            ({returned["event_id"]: elsewhere}, "cause", not_ours),
            ({returned["event_id"]: later}, "on", "2026-06-25")):  # not after it was recorded
        audit = audit_stream("o-1", stream, {cause["event_id"]: cause, **causes}, set())
        assert [(f.type, f.field, f.recomputed) for f in audit.findings] == [
            ("ReturnOfGoodsNoted", field, recomputed)]


def test_a_proof_of_dispatch_dated_after_it_was_given_defers_a_refund_to_that_day_only() -> None:
    proof = ProofOfDispatchReceived(dispatched_on=dt.date(2026, 12, 31))
    assert domain.return_of_goods(proof, on("2026-06-20")) == domain.NoteReturnOfGoods(
        "proof_of_dispatch", dt.date(2026, 6, 20))


def a_refund_issued_later() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    """A withdrawal refund due 24 June 2026, its payout ordered on 4 July, paid by the bank on
    19 July, then its balance: its cause, the refunds stream and the bank's ``RefundPaid``."""
    cause, owe = a_withdrawal(dt.date(2026, 6, 10))
    paid_on = dt.date(2026, 7, 19)
    history = decided(((owe, "2026-06-10"), (domain.PayRefund(owe.refund_id, POLICY), "2026-07-04"),
                       (domain.RecordPayoutOutcome(owe.refund_id, 1, "T/A", paid_on=paid_on,
                                                   policy=POLICY), "2026-07-19")))
    [issued] = [e for e in history if isinstance(e, RefundIssued)]
    bank = envelope(RefundPaid(refund_id=owe.refund_id, amount_cents=issued.total_cents,
                               paid_on=paid_on, attempt=1))
    return cause, [envelope(event, causation_id=bank["event_id"])
                   if isinstance(event, RefundIssued | RefundIssuedLater) else envelope(event)
                   for event in history], bank


def test_a_refund_issued_later_agrees_with_the_engine_and_the_bank_s_day() -> None:
    cause, stream, bank = a_refund_issued_later()
    assert stream[-1]["type"] == "RefundIssuedLater"
    log = {"orders": {"o-1": [cause]}, "payments": {"o-1": [bank]}, "refunds": {"o-1": stream}}
    [audit] = audit_refunds(log, log["refunds"])
    assert audit.findings == []
    # a difference changed after the fact, or a day the bank did not pay on, is reported
    later = stream[-1]["payload"]
    for field, value, finding in (("difference_cents", later["difference_cents"] - 1,
                                   ("RefundIssuedLater", "difference_cents")),
                                  ("paid_on", "2026-07-20", ("RefundIssuedLater",
                                                             "paid on by the bank"))):
        changed = {**stream[-1], "payload": {**later, field: value}}
        log["refunds"] = {"o-1": [*stream[:-1], changed]}
        [audit] = audit_refunds(log, log["refunds"])
        assert finding in [(f.type, f.field) for f in audit.findings]
    # and so is the figure of the bank's day never recorded
    log["refunds"] = {"o-1": stream[:-1]}
    [audit] = audit_refunds(log, log["refunds"])
    assert [(f.type, f.field) for f in audit.findings] == [("RefundIssued", "issued later")]
