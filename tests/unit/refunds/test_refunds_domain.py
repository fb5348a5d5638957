"""The refunds domain: given events, when a command, then events (or an error)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from contracts.base import Event
from contracts.orders import (
    CancelledLinePaid,
    ContractTerminated,
    OrderLineCancelled,
    PaymentReceivedAfterCancellation,
    WithdrawalRequested,
)
from contracts.policies import Policy, compute_surcharge, load_policy, with_recorded_rates
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
    ReturnOfGoodsNoted,
    TerminationVoidNoted,
    VoidedRefundRecovered,
)
from contracts.vocabulary import LineQuantity
from services.refunds import domain, obligations

PARIS = ZoneInfo("Europe/Paris")
POLICY = load_policy()


def on(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(12), PARIS)


def given(*events: Event) -> domain.RefundsState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


def when(history: tuple[Event, ...], command: domain.Command, day: str) -> list[Event]:
    return domain.decide(given(*history), command, on(day))


def withdrawal(notice: str = "2026-06-10", products: int = 9000,
               delivery: int = 1000) -> domain.OweRefund:
    event = WithdrawalRequested(notice_on=dt.date.fromisoformat(notice),
                                lines=(LineQuantity(sku="ROUGE", quantity=6),),
                                products_refund_cents=products, delivery_refund_cents=delivery)
    owed = obligations.for_withdrawal(event, str(uuid.uuid4()))
    assert owed is not None
    return owed


def test_a_withdrawal_is_owed_once_within_14_days_of_the_notice() -> None:
    owe = withdrawal()
    [due] = when((), owe, "2026-06-10")
    assert isinstance(due, RefundDue)
    assert (due.situation, due.base_cents, due.products_cents) == ("withdrawal", 10000, 9000)
    assert due.deadline == dt.date(2026, 6, 24)
    assert when((due,), owe, "2026-06-11") == []  # a redelivered cause


def test_the_withdrawal_deadline_moves_to_the_earlier_of_goods_received_and_proof() -> None:
    [due] = when((), withdrawal(), "2026-06-10")
    received = domain.NoteReturnOfGoods("goods_received", dt.date(2026, 6, 28))
    noted, moved = when((due,), received, "2026-06-28")
    assert noted == ReturnOfGoodsNoted(kind="goods_received", on=dt.date(2026, 6, 28))
    assert isinstance(moved, RefundDeadlineMoved)
    assert (moved.previous_deadline, moved.deadline) == (dt.date(2026, 6, 24),
                                                         dt.date(2026, 6, 28))
    proof = domain.NoteReturnOfGoods("proof_of_dispatch", dt.date(2026, 6, 20))
    _, back = when((due, noted, moved), proof, "2026-06-29")
    assert isinstance(back, RefundDeadlineMoved) and back.deadline == dt.date(2026, 6, 24)
    assert when((due, noted, moved), received, "2026-06-29") == []


def test_goods_received_before_the_notice_was_consumed_still_count() -> None:
    noted = ReturnOfGoodsNoted(kind="goods_received", on=dt.date(2026, 6, 30))
    [due] = when((noted,), withdrawal(), "2026-06-30")
    assert isinstance(due, RefundDue) and due.deadline == dt.date(2026, 6, 30)


def test_nothing_is_owed_for_a_line_that_was_never_paid() -> None:
    line = OrderLineCancelled(sku="ROUGE", quantity=1, refund_cents=890, cause="unavailable",
                              cancelled_on=dt.date(2026, 6, 4))
    assert obligations.for_cancelled_line(line, "e-1") is None
    paid = line.model_copy(update={"paid_on": dt.date(2026, 5, 20)})
    owe = obligations.for_cancelled_line(paid, "e-1")
    assert owe is not None and owe.situation == "unavailable"
    assert owe.deadline == dt.date(2026, 6, 18)  # min(20 May + 30, 4 June + 14)


def test_a_payment_received_after_the_cancellation_is_owed_within_14_days_on_schedule_b(
        ) -> None:
    # the bank's capture reached the order just after midnight in Paris, 3 June
    late = PaymentReceivedAfterCancellation(
        payment_id="o-1.aa", amount_cents=8730, products_cents=7740,
        received_at=dt.datetime(2026, 6, 2, 22, 30, tzinfo=dt.UTC))
    owe = obligations.obligation_for("PaymentReceivedAfterCancellation", late, "e-1")
    assert owe is not None
    assert (owe.situation, owe.base_cents, owe.products_cents, owe.deadline) == (
        "blocked", 8730, 7740, dt.date(2026, 6, 17))
    assert owe.refund_id == obligations.refund_id_of("e-1")
    [due] = when((), owe, "2026-06-03")
    assert isinstance(due, RefundDue) and due.cause_type == "PaymentReceivedAfterCancellation"
    assert compute_surcharge("blocked", 8730, 7740, due.deadline, dt.date(2026, 6, 20),
                             POLICY).tier.startswith("B")


@pytest.mark.parametrize(("cause", "situation", "cancelled", "paid", "deadline"), [
    # the row's deadline: cancellation + 14 d, or min(payment + 30 d, cancellation + 14 d)
    ("blocked", "blocked", "2026-05-10", "2026-05-13", "2026-05-24"),
    ("unavailable", "unavailable", "2026-05-10", "2026-05-13", "2026-05-24"),
    ("buyer_request", "unavailable", "2026-05-10", "2026-05-13", "2026-05-24"),
    # never before the money came: paid after the row's deadline, due that day
    ("blocked", "blocked", "2026-06-01", "2026-06-20", "2026-06-20"),
    ("unavailable", "unavailable", "2026-06-01", "2026-06-20", "2026-06-20")])
def test_a_line_cancelled_then_paid_is_owed_by_its_rows_deadline_not_before_the_payment(
        cause: str, situation: str, cancelled: str, paid: str, deadline: str) -> None:
    event = CancelledLinePaid(sku="AMBRE", quantity=1, refund_cents=2400, cause=cause,
                              cancelled_on=dt.date.fromisoformat(cancelled),
                              paid_on=dt.date.fromisoformat(paid))
    owe = obligations.obligation_for("CancelledLinePaid", event, "e-2")
    assert owe is not None
    assert (owe.situation, owe.base_cents, owe.products_cents, owe.deadline) == (
        situation, 2400, 2400, dt.date.fromisoformat(deadline))


def termination(received: str = "2026-06-12") -> domain.OweRefund:
    event = ContractTerminated(cause="essential_date_missed",
                               received_on=dt.date.fromisoformat(received), refund_cents=9610,
                               products_cents=7720)
    owed = obligations.for_termination(event, str(uuid.uuid4()))
    assert owed is not None
    return owed


VOID = domain.VoidTerminationRefund("voiding-event", dt.date(2026, 6, 11), dt.date(2026, 6, 12))


def test_a_voided_termination_voids_its_refund_which_then_neither_escalates_nor_is_paid(
) -> None:
    # given a termination's refund, overdue, with its steps and a withdrawal's refund
    [due] = when((), termination(), "2026-06-12")
    steps = when((due,), domain.Escalate(POLICY), "2026-07-20")
    [other] = when((), withdrawal(), "2026-06-10")
    # when the orders service voids the termination
    [voided] = when((due, *steps, other), VOID, "2026-07-20")
    # then only the termination's refund is voided, nothing of it having been paid
    assert voided == RefundVoided(
        refund_id=due.refund_id, voided_on=dt.date(2026, 7, 20), reason=voided.reason,
        cause_event_id="voiding-event", refunded_cents=0, payout_under_way=False)
    assert "2026-06-11" in voided.reason and "L.216-6" in voided.reason
    history = (due, *steps, other, voided)
    assert when(history, VOID, "2026-07-21") == []  # a redelivered cause
    later = when(history, domain.Escalate(POLICY), "2026-10-30")
    assert {step.refund_id for step in later} == {other.refund_id}  # type: ignore[attr-defined]
    with pytest.raises(domain.RefundConflictError, match="voided on 2026-07-20"):
        when(history, domain.PayRefund(due.refund_id, POLICY), "2026-07-21")


def test_a_refund_the_bank_pays_days_after_it_was_ordered_owes_that_day_s_figure() -> None:
    # given a withdrawal refund due 24 June 2026 (10000, of which 9000 products), its payout
    # ordered on 4 July (day 10: legal interest), the bank answering only on 19 July (day 25)
    [due] = when((), withdrawal(), "2026-06-10")
    *step, payout = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-07-04")
    assert isinstance(payout, RefundPayoutRequested) and payout.tier == "A:1-10"
    ordered = (due, *step, payout)
    paid = domain.RecordPayoutOutcome(due.refund_id, 1, "T/A", paid_on=dt.date(2026, 7, 19),
                                      policy=POLICY)
    issued, later = when(ordered, paid, "2026-07-19")
    # then the refund is issued for what the bank paid, and the figure of the day it paid is
    # owed (day 25: 10 % of the base), the difference a balance operators pay as any other
    assert isinstance(issued, RefundIssued) and issued.total_cents == payout.total_cents
    figure = compute_surcharge("withdrawal", 10000, 9000, dt.date(2026, 6, 24),
                               dt.date(2026, 7, 19), POLICY)
    assert later == RefundIssuedLater(
        refund_id=due.refund_id, attempt=1, ordered_on=dt.date(2026, 7, 4),
        paid_on=dt.date(2026, 7, 19), delay_days=25, schedule=figure.schedule, tier="A:21-30",
        rate=figure.rate, surcharge_cents=1000, total_cents=11000,
        difference_cents=11000 - payout.total_cents, policy_version=figure.policy_version,
        provisional=figure.provisional, missing_half_years=figure.missing_half_years)
    [balance] = when((*ordered, issued, later), domain.PayRefund(due.refund_id, POLICY),
                     "2026-07-20")
    assert isinstance(balance, RefundBalancePayoutRequested)
    assert balance.amount_cents == later.difference_cents
    # an answer on the day it was ordered owes nothing more
    same_day = domain.RecordPayoutOutcome(due.refund_id, 1, "T/A", paid_on=dt.date(2026, 7, 4),
                                          policy=POLICY)
    assert [type(e) for e in when(ordered, same_day, "2026-07-04")] == [RefundIssued]


def test_a_refund_paid_days_late_is_judged_under_the_deadline_in_force_that_day() -> None:
    # given a withdrawal noticed on 10 June (due 24 June), the goods received on 10 July (due
    # then), its payout ordered on 15 July, and during it a proof of dispatch of 1 July
    [due] = when((), withdrawal(), "2026-06-10")
    history: tuple[Event, ...] = (due, *when((due,), domain.NoteReturnOfGoods(
        "goods_received", dt.date(2026, 7, 10)), "2026-07-10"))
    history += tuple(when(history, domain.PayRefund(due.refund_id, POLICY), "2026-07-15"))
    history += tuple(when(history, domain.NoteReturnOfGoods(
        "proof_of_dispatch", dt.date(2026, 7, 1)), "2026-07-16"))
    state = given(*history)
    assert state is not None and state.refunds[due.refund_id].deadline == dt.date(2026, 7, 10)
    # when the bank pays on 25 July
    paid = domain.RecordPayoutOutcome(due.refund_id, 1, "T/A", paid_on=dt.date(2026, 7, 25),
                                      policy=POLICY)
    issued, moved, later = when(history, paid, "2026-07-25")
    # then the deadline the proof set (1 July) counts: 24 days late, 10 % of the base
    assert isinstance(issued, RefundIssued) and issued.delay_days == 5
    assert isinstance(moved, RefundDeadlineMoved) and moved.deadline == dt.date(2026, 7, 1)
    assert isinstance(later, RefundIssuedLater)
    assert (later.delay_days, later.tier, later.total_cents) == (24, "A:21-30", 11000)


def test_a_refund_paid_or_being_paid_when_voided_says_what_to_recover() -> None:
    [due] = when((), termination(), "2026-06-12")
    [payout] = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-06-20")
    [under_way] = when((due, payout), VOID, "2026-06-21")
    assert isinstance(under_way, RefundVoided)
    assert (under_way.refunded_cents, under_way.payout_under_way) == (0, True)
    [issued] = when((due, payout), domain.RecordPayoutOutcome(due.refund_id, 1, "T/A"),
                    "2026-06-20")
    [paid] = when((due, payout, issued), VOID, "2026-06-21")
    assert isinstance(paid, RefundVoided)
    assert (paid.refunded_cents, paid.payout_under_way) == (9610, False)
    state = given(due, payout, issued, paid)
    assert state is not None and state.refunds[due.refund_id].balance_cents == 0
    # a state kept before what the bank refunded was kept: the issued figure was refunded
    before = given(due, payout, issued)
    assert before is not None
    kept = before.model_copy(update={"refunds": {due.refund_id: before.refunds[
        due.refund_id].model_copy(update={"refunded_cents": None})}})
    [voided] = domain.decide(kept, VOID, on("2026-06-21"))
    assert isinstance(voided, RefundVoided) and voided.refunded_cents == 9610


def test_a_termination_voided_before_its_refund_was_owed_has_it_voided_when_its_cause_comes(
) -> None:
    # given a withdrawal's refund, and a void that found no termination's refund to void (the
    # termination's record set aside in a dead-letter topic)
    [other] = when((), withdrawal(), "2026-06-10")
    [noted] = when((other,), VOID, "2026-06-21")
    assert noted == TerminationVoidNoted(cause_event_id="voiding-event",
                                         delivered_on=dt.date(2026, 6, 11),
                                         received_on=dt.date(2026, 6, 12))
    assert when((other, noted), VOID, "2026-06-22") == []  # a redelivered void
    # when the termination's record comes, put back
    [due, voided] = when((other, noted), termination(), "2026-07-01")
    # then its refund is owed and voided in one decision: it neither escalates nor is paid
    assert isinstance(due, RefundDue) and due.situation == "late_delivery"
    assert voided == RefundVoided(
        refund_id=due.refund_id, voided_on=dt.date(2026, 7, 1), reason=voided.reason,
        cause_event_id="voiding-event", refunded_cents=0, payout_under_way=False)
    history = (other, noted, due, voided)
    later = when(history, domain.Escalate(POLICY), "2026-10-30")
    assert {step.refund_id for step in later} == {other.refund_id}  # type: ignore[attr-defined]
    with pytest.raises(domain.RefundConflictError, match="voided on 2026-07-01"):
        when(history, domain.PayRefund(due.refund_id, POLICY), "2026-10-30")
    # other causes are owed as ever
    [owed] = when((noted,), withdrawal(), "2026-07-01")
    assert isinstance(owed, RefundDue)
    # a termination that owed nothing has its void noted all the same
    assert [type(event) for event in when((), VOID, "2026-06-21")] == [TerminationVoidNoted]


def test_escalation_records_each_tier_once_at_its_boundary() -> None:
    [due] = when((), withdrawal(), "2026-06-10")
    steps = when((due,), domain.Escalate(POLICY), "2026-10-30")
    assert all(isinstance(step, RefundPenaltyEscalated) for step in steps)
    delays = [step.delay_days for step in steps]  # type: ignore[attr-defined]
    assert delays == [1, 11, 21, 31, 61, 91, 121]
    assert when((due, *steps), domain.Escalate(POLICY), "2026-10-30") == []
    later = when((due, *steps), domain.Escalate(POLICY), "2026-11-30")
    assert [step.delay_days for step in later] == [151]  # type: ignore[attr-defined]


def test_a_refund_paid_on_time_owes_no_surcharge_and_stops_escalating() -> None:
    [due] = when((), withdrawal(), "2026-06-10")
    [payout] = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-06-20")
    assert isinstance(payout, RefundPayoutRequested)
    assert (payout.delay_days, payout.surcharge_cents, payout.total_cents) == (0, 0, 10000)
    with pytest.raises(domain.RefundConflictError, match="under way"):
        when((due, payout), domain.PayRefund(due.refund_id, POLICY), "2026-06-20")
    [issued] = when((due, payout), domain.RecordPayoutOutcome(due.refund_id, 1, "T/A"),
                    "2026-06-20")
    assert isinstance(issued, RefundIssued) and issued.total_cents == 10000
    assert when((due, payout, issued), domain.Escalate(POLICY), "2027-06-20") == []
    with pytest.raises(domain.RefundConflictError, match="paid"):
        when((due, payout, issued), domain.PayRefund(due.refund_id, POLICY), "2026-06-21")


@pytest.mark.parametrize(("day", "tier", "surcharge"), [("2026-07-04", "A:1-10", None),
                                                        ("2026-07-05", "A:11-20", 500)])
def test_a_refund_paid_on_day_10_and_on_day_11(day: str, tier: str,
                                               surcharge: int | None) -> None:
    [due] = when((), withdrawal(), "2026-06-10")
    *steps, payout = when((due,), domain.PayRefund(due.refund_id, POLICY), day)
    assert isinstance(payout, RefundPayoutRequested) and payout.tier == tier
    expected = compute_surcharge("withdrawal", 10000, 9000, due.deadline,
                                 dt.date.fromisoformat(day), POLICY)
    assert payout.surcharge_cents == expected.surcharge_cents
    if surcharge is not None:
        assert payout.surcharge_cents == surcharge
    assert [step.tier for step in steps] == (  # type: ignore[attr-defined]
        ["A:1-10"] if tier == "A:1-10" else ["A:1-10", "A:11-20"])


def test_a_refused_payout_leaves_the_refund_open_and_escalating() -> None:
    [due] = when((), withdrawal(), "2026-06-10")
    [payout] = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-06-20")
    outcome = domain.RecordPayoutOutcome(due.refund_id, 1, code="00003", reason="bank error")
    [refused] = when((due, payout), outcome, "2026-06-20")
    assert isinstance(refused, RefundPayoutRefused)
    assert when((due, payout, refused), outcome, "2026-06-21") == []  # a repeated answer
    steps = when((due, payout, refused), domain.Escalate(POLICY), "2026-07-10")
    assert [step.delay_days for step in steps] == [1, 11]  # type: ignore[attr-defined]
    *_, again = when((due, payout, refused), domain.PayRefund(due.refund_id, POLICY),
                     "2026-07-10")
    assert isinstance(again, RefundPayoutRequested) and again.attempt == 2


def test_goods_returned_while_a_payout_was_under_way_count_once_it_is_refused() -> None:
    # given a withdrawal whose goods came back on 30 June (deadline 24 -> 30 June), its
    # payout under way when a proof of dispatch of 26 June is noted
    [due] = when((), withdrawal(notice="2026-06-10"), "2026-06-10")
    received = when((due,), domain.NoteReturnOfGoods("goods_received", dt.date(2026, 6, 30)),
                    "2026-06-30")
    *_, payout = when((due, *received), domain.PayRefund(due.refund_id, POLICY), "2026-07-01")
    proof = when((due, *received, payout), domain.NoteReturnOfGoods(
        "proof_of_dispatch", dt.date(2026, 6, 26)), "2026-07-02")
    assert [type(event) for event in proof] == [ReturnOfGoodsNoted]  # the payout's figure
    # when the bank refuses the payout
    history = (due, *received, payout, *proof)
    refused, moved = when(history, domain.RecordPayoutOutcome(
        due.refund_id, 1, code="00003", reason="bank error"), "2026-07-03")
    # then the deadline is the earlier return, and the next payout counts its delay from it
    assert isinstance(refused, RefundPayoutRefused) and isinstance(moved, RefundDeadlineMoved)
    assert (moved.previous_deadline, moved.deadline) == (dt.date(2026, 6, 30),
                                                         dt.date(2026, 6, 26))
    *_, again = when((*history, refused, moved), domain.PayRefund(due.refund_id, POLICY),
                     "2026-07-20")
    assert isinstance(again, RefundPayoutRequested) and again.delay_days == 24


def test_a_step_and_the_payout_of_the_same_day_are_corrected_by_one_event() -> None:
    # given a withdrawal paid on its first day of delay (a step and the payout that day),
    # both borrowing the unrecorded 2026-S2 rate, and issued
    [due] = when((), withdrawal(notice="2026-06-20"), "2026-06-20")  # deadline 4 July
    *steps, payout = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-07-05")
    assert [step.escalated_on for step in steps] == [  # type: ignore[attr-defined]
        dt.date(2026, 7, 5)]
    assert payout.provisional  # type: ignore[attr-defined]
    [issued] = when((due, *steps, payout), domain.RecordPayoutOutcome(due.refund_id, 1, "T/1"),
                    "2026-07-05")
    # when the rate is recorded and the sweep passes
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("3.50")})
    fixed = when((due, *steps, payout, issued), domain.Escalate(recorded), "2026-07-06")
    # then one correction of that day (it applies to both figures): its difference owed once
    assert [type(event) for event in fixed] == [RefundPenaltyRecomputed]


def test_a_recorded_rate_recomputes_the_provisional_figures_as_corrections() -> None:
    [due] = when((), withdrawal(notice="2026-06-20"), "2026-06-20")  # deadline 4 July
    [step] = when((due,), domain.Escalate(POLICY), "2026-07-08")
    assert isinstance(step, RefundPenaltyEscalated)
    assert step.provisional and step.missing_half_years == ("2026-S2",)
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("3.50")})
    [fixed] = when((due, step), domain.Escalate(recorded), "2026-07-08")
    assert isinstance(fixed, RefundPenaltyRecomputed)
    expected = compute_surcharge("withdrawal", 10000, 9000, due.deadline, step.escalated_on,
                                 recorded)
    assert (fixed.surcharge_cents, fixed.provisional) == (expected.surcharge_cents, False)
    assert fixed.previous_surcharge_cents == step.surcharge_cents
    assert fixed.policy_version.endswith(";2026-S2=3.50")
    assert when((due, step, fixed), domain.Escalate(recorded), "2026-07-08") == []


def tier_changes_day_by_day(due: RefundDue, after: dt.date, until: dt.date,
                            policy: Policy) -> list[tuple[dt.date, str]]:
    def tier(day: dt.date) -> str:
        return compute_surcharge(due.situation, due.base_cents, due.products_cents,
                                 due.deadline, day, policy).tier

    days = [after + dt.timedelta(days=n) for n in range((until - after).days + 1)]
    return [(day, tier(day)) for previous, day in itertools.pairwise(days)
            if tier(day) != tier(previous)]


def test_steps_after_one_recorded_under_another_policy_version_are_found_under_the_new_one(
) -> None:
    [due] = when((), withdrawal(notice="2026-06-20"), "2026-06-20")  # deadline 4 July
    earlier = when((due,), domain.Escalate(POLICY), "2026-07-20")
    last = earlier[-1]
    assert isinstance(last, RefundPenaltyEscalated) and last.policy_version == POLICY.version
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("3.50")})
    later = [event for event in when((due, *earlier), domain.Escalate(recorded), "2026-12-01")
             if isinstance(event, RefundPenaltyEscalated)]
    assert later and [(step.escalated_on, step.tier) for step in later] == tier_changes_day_by_day(
        due, last.escalated_on, dt.date(2026, 12, 1), recorded)
    assert all(step.policy_version == recorded.version for step in later)


def test_a_moved_deadline_judges_the_recorded_steps_again_under_it() -> None:
    [due] = when((), withdrawal(notice="2026-06-10"), "2026-06-10")  # deadline 24 June
    first = when((due,), domain.Escalate(POLICY), "2026-06-25")
    second = when((due, *first), domain.Escalate(POLICY), "2026-07-05")
    assert [step.tier for step in (*first, *second)] == [  # type: ignore[attr-defined]
        "A:1-10", "A:11-20"]
    noted, moved = when((due, *first, *second), domain.NoteReturnOfGoods(
        "proof_of_dispatch", dt.date(2026, 6, 28)), "2026-07-07")
    assert isinstance(moved, RefundDeadlineMoved) and moved.deadline == dt.date(2026, 6, 28)
    history = (due, *first, *second, noted, moved)
    # on 5 July, 7 days late under the new deadline: no step lies behind the last one recorded
    assert when(history, domain.Escalate(POLICY), "2026-07-08") == []
    later = when(history, domain.Escalate(POLICY), "2026-07-19")
    assert [(step.escalated_on, step.tier) for step in later] == [  # type: ignore[attr-defined]
        (dt.date(2026, 7, 9), "A:11-20"), (dt.date(2026, 7, 19), "A:21-30")]


def moved_after_two_steps() -> tuple[Event, ...]:
    """A withdrawal due 24 June, steps on 25 June (A:1-10) and 5 July (A:11-20), then a proof
    of dispatch of 28 June noted on 7 July: the deadline is 28 June, 5 July only day 7."""
    [due] = when((), withdrawal(notice="2026-06-10"), "2026-06-10")
    first = when((due,), domain.Escalate(POLICY), "2026-06-25")
    second = when((due, *first), domain.Escalate(POLICY), "2026-07-05")
    noted, moved = when((due, *first, *second), domain.NoteReturnOfGoods(
        "proof_of_dispatch", dt.date(2026, 6, 28)), "2026-07-07")
    return due, *first, *second, noted, moved


def test_a_daily_sweep_records_the_step_a_moved_deadline_brings_back_on_its_day() -> None:
    history = moved_after_two_steps()
    assert when(history, domain.Escalate(POLICY), "2026-07-08") == []
    # 9 July is day 11 again: in the last step's tier as recorded, not as judged now (day 7)
    [step] = when(history, domain.Escalate(POLICY), "2026-07-09")
    assert isinstance(step, RefundPenaltyEscalated)
    assert (step.escalated_on, step.delay_days, step.tier) == (dt.date(2026, 7, 9), 11,
                                                               "A:11-20")


def test_a_refund_a_moved_deadline_takes_back_below_the_cap_reaches_it_again() -> None:
    [due] = when((), withdrawal(notice="2026-03-01", products=1500, delivery=8500),
                 "2026-03-01")  # due 15 March
    history: tuple[Event, ...] = (due,)
    for day in ("2026-03-16", "2026-03-26", "2026-04-05", "2026-04-15"):
        history += tuple(when(history, domain.Escalate(POLICY), day))
    assert [step.tier for step in history[1:]] == [  # type: ignore[attr-defined]
        "A:1-10", "A:11-20", "A:21-30", "A:cap"]
    history += tuple(when(history, domain.NoteReturnOfGoods(
        "proof_of_dispatch", dt.date(2026, 3, 20)), "2026-04-18"))  # due 20 March: day 26

    assert when(history, domain.Escalate(POLICY), "2026-04-19") == []
    [step] = when(history, domain.Escalate(POLICY), "2026-04-20")
    assert isinstance(step, RefundPenaltyEscalated)
    assert (step.escalated_on, step.delay_days, step.tier) == (dt.date(2026, 4, 20), 31,
                                                               "A:cap")


def test_a_correction_judges_its_day_under_the_deadline_it_was_recorded_under() -> None:
    [due] = when((), withdrawal(notice="2026-06-20"), "2026-06-20")  # due 4 July
    [step] = when((due,), domain.Escalate(POLICY), "2026-07-05")
    assert isinstance(step, RefundPenaltyEscalated) and step.provisional  # 2026-S2 borrowed
    moved = when((due, step), domain.NoteReturnOfGoods("goods_received", dt.date(2026, 7, 8)),
                 "2026-07-08")  # due 8 July: 5 July is no longer late
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("3.50")})

    fix, *_ = when((due, step, *moved), domain.Escalate(recorded), "2026-07-09")

    # what the rate changes on 5 July, day 1 as it was judged: not a delay the move undid
    assert isinstance(fix, RefundPenaltyRecomputed)
    assert (fix.escalated_on, fix.delay_days, fix.tier) == (dt.date(2026, 7, 5), 1, "A:1-10")
    assert fix.difference_cents == fix.surcharge_cents - step.surcharge_cents
    assert fix.surcharge_cents > 0


def test_a_deadline_moved_to_today_past_the_steps_records_nothing_before_tomorrow() -> None:
    [due] = when((), withdrawal(notice="2026-06-10"), "2026-06-10")  # deadline 24 June
    first = when((due,), domain.Escalate(POLICY), "2026-06-25")
    second = when((due, *first), domain.Escalate(POLICY), "2026-07-05")
    # when the goods are noted received today, 7 July, which moves the deadline to today
    noted, moved = when((due, *first, *second), domain.NoteReturnOfGoods(
        "goods_received", dt.date(2026, 7, 7)), "2026-07-07")
    assert isinstance(moved, RefundDeadlineMoved) and moved.deadline == dt.date(2026, 7, 7)
    history = (due, *first, *second, noted, moved)
    # then today is no day of delay: nothing is due; tomorrow is the first
    assert when(history, domain.Escalate(POLICY), "2026-07-07") == []
    [step] = when(history, domain.Escalate(POLICY), "2026-07-08")
    assert isinstance(step, RefundPenaltyEscalated)
    assert (step.escalated_on, step.delay_days, step.tier) == (dt.date(2026, 7, 8), 1, "A:1-10")


def test_a_step_recomputed_into_another_tier_is_followed_from_its_new_tier() -> None:
    due = RefundDue(refund_id=str(uuid.uuid4()), situation="late_delivery", base_cents=10000,
                    products_cents=4900, deadline=dt.date(2026, 6, 1), rule="delivery",
                    cause_type="DeliveryOverdue", cause_event_id=str(uuid.uuid4()),
                    owed_since=dt.date(2026, 6, 1))
    steps = when((due,), domain.Escalate(POLICY), "2026-09-24")
    last = steps[-1]
    assert isinstance(last, RefundPenaltyEscalated) and last.provisional
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("1.00")})
    fixes = when((due, *steps), domain.Escalate(recorded), "2026-09-24")
    fixed = [fix for fix in fixes if isinstance(fix, RefundPenaltyRecomputed)
             and fix.escalated_on == last.escalated_on]
    assert [fix.tier for fix in fixed] == ["B:31+"] != [last.tier]
    state = given(due, *steps, *fixes)
    assert state is not None
    [step] = [step for step in state.refunds[due.refund_id].steps
              if step.on == last.escalated_on]
    assert (step.tier, step.schedule, step.rate, step.provisional) == (
        "B:31+", "B", fixed[0].rate, False)
    # the next day is in the tier the correction found: nothing to record
    assert when((due, *steps, *fixes), domain.Escalate(recorded), "2026-09-25") == []


def test_a_rate_is_recorded_once() -> None:
    command = domain.RecordRate("2026-S2", Decimal("3.50"), "arrêté")
    [event] = domain.decide_rate(None, command, on("2026-07-01"))
    assert event == LegalInterestRateRecorded(half_year="2026-S2", percent=Decimal("3.50"),
                                              source="arrêté")
    state = domain.evolve_rates(None, event)
    assert domain.decide_rate(state, command, on("2026-07-02")) == []


@pytest.mark.parametrize(("recorded", "shipped"), [(Decimal("3.50"), None),
                                                   (None, Decimal("3.50"))])
def test_another_rate_for_a_half_year_already_known_is_refused(
        recorded: Decimal | None, shipped: Decimal | None) -> None:
    state = domain.evolve_rates(None, LegalInterestRateRecorded(
        half_year="2026-S2", percent=recorded, source="arrêté")) if recorded else None
    known = domain.RecordRate("2026-S2", Decimal("3.5"), "arrêté", shipped=shipped)
    assert domain.decide_rate(state, known, on("2026-07-02")) == []
    with pytest.raises(domain.RateConflictError, match=r"already 3\.50 %"):
        domain.decide_rate(state, domain.RecordRate("2026-S2", Decimal("5.00"), "typo",
                                                    shipped=shipped), on("2026-07-02"))


def test_paying_an_unknown_refund_is_refused() -> None:
    with pytest.raises(domain.RefundNotFoundError):
        when((), domain.PayRefund("nope", POLICY), "2026-06-20")


def paid_provisionally_capped() -> tuple[Event, ...]:
    """A withdrawal of 100 € (products 10 €: capped from day 31, legal interest on top) paid
    on 20 November 2026, its interest borrowing 2026-S1's 6.67 % for the unrecorded S2."""
    [due] = when((), withdrawal(notice="2026-06-26", products=1000, delivery=9000),
                 "2026-06-26")  # deadline 10 July
    *steps, payout = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-11-20")
    [issued] = when((due, *steps, payout), domain.RecordPayoutOutcome(due.refund_id, 1, "T/1"),
                    "2026-11-20")
    assert isinstance(issued, RefundIssued) and issued.provisional
    return (due, *steps, payout, issued)


def test_a_correction_raising_a_paid_refund_is_owed_as_its_balance_and_paid_once() -> None:
    # given a refund paid with a borrowed rate, then the rate recorded higher
    paid = paid_provisionally_capped()
    refund_id, refunded = paid[-1].refund_id, paid[-1].total_cents  # type: ignore[attr-defined]
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("9.00")})
    fixes = when(paid, domain.Escalate(recorded), "2026-11-21")
    [payment_fix] = [fix for fix in fixes
                     if fix.escalated_on == dt.date(2026, 11, 20)]  # type: ignore[attr-defined]
    assert isinstance(payment_fix, RefundPenaltyRecomputed) and payment_fix.difference_cents > 0
    # when operators order it paid
    [balance] = when((*paid, *fixes), domain.PayRefund(refund_id, recorded), "2026-11-25")
    # then the balance is the corrected figure less what the bank refunded, a second attempt
    assert balance == RefundBalancePayoutRequested(
        refund_id=refund_id, attempt=2, requested_on=dt.date(2026, 11, 25),
        total_cents=payment_fix.total_cents, refunded_cents=refunded,
        amount_cents=payment_fix.total_cents - refunded)
    assert balance.amount_cents == payment_fix.difference_cents
    with pytest.raises(domain.RefundConflictError, match="under way"):
        when((*paid, *fixes, balance), domain.PayRefund(refund_id, recorded), "2026-11-25")
    # and once the bank paid it, nothing more is owed
    [issued] = when((*paid, *fixes, balance),
                    domain.RecordPayoutOutcome(refund_id, 2, "T/2"), "2026-11-25")
    assert issued == RefundBalanceIssued(refund_id=refund_id, attempt=2,
                                         amount_cents=balance.amount_cents,
                                         refunded_cents=payment_fix.total_cents,
                                         bank_reference="T/2")
    with pytest.raises(domain.RefundConflictError, match="paid on 2026-11-20"):
        when((*paid, *fixes, balance, issued), domain.PayRefund(refund_id, recorded),
             "2026-11-26")
    assert when((*paid, *fixes, balance, issued), domain.Escalate(recorded), "2027-03-01") == []


def test_a_refused_balance_payout_leaves_the_balance_owed() -> None:
    paid = paid_provisionally_capped()
    refund_id = paid[-1].refund_id  # type: ignore[attr-defined]
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("9.00")})
    fixes = when(paid, domain.Escalate(recorded), "2026-11-21")
    [balance] = when((*paid, *fixes), domain.PayRefund(refund_id, recorded), "2026-11-25")
    [refused] = when((*paid, *fixes, balance), domain.RecordPayoutOutcome(
        refund_id, 2, code="00003", reason="bank error"), "2026-11-25")
    assert isinstance(refused, RefundPayoutRefused)
    [again] = when((*paid, *fixes, balance, refused), domain.PayRefund(refund_id, recorded),
                   "2026-11-27")
    assert isinstance(again, RefundBalancePayoutRequested) and again.attempt == 3
    assert again.amount_cents == balance.amount_cents  # type: ignore[attr-defined]


def test_a_correction_lowering_a_paid_refund_takes_nothing_back() -> None:
    paid = paid_provisionally_capped()
    refund_id = paid[-1].refund_id  # type: ignore[attr-defined]
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("3.00")})
    fixes = when(paid, domain.Escalate(recorded), "2026-11-21")
    assert min(fix.difference_cents for fix in fixes) < 0  # type: ignore[attr-defined]
    state = given(*paid, *fixes)
    assert state is not None and state.refunds[refund_id].balance_cents == 0
    with pytest.raises(domain.RefundConflictError, match="paid on 2026-11-20"):
        when((*paid, *fixes), domain.PayRefund(refund_id, recorded), "2026-11-25")


def test_a_refund_paid_before_what_was_refunded_was_kept_owes_what_a_later_correction_adds(
) -> None:
    # given the decision state of a paid refund, stored before ``refunded_cents`` was kept
    paid = paid_provisionally_capped()
    state = given(*paid)
    assert state is not None
    refund_id = paid[-1].refund_id  # type: ignore[attr-defined]
    stored = state.model_dump(mode="json")
    del stored["refunds"][refund_id]["refunded_cents"]
    old = domain.RefundsState.model_validate(stored)
    assert old.refunds[refund_id].balance_cents == 0  # read as paid in full
    # when the rate is recorded and the paid figure corrected
    recorded = with_recorded_rates(POLICY, {"2026-S2": Decimal("9.00")})
    fixes = domain.decide(old, domain.Escalate(recorded), on("2026-11-21"))
    for fix in fixes:
        old = domain.evolve(old, fix)
    # then the balance is what the correction added to the figure as paid
    assert old.refunds[refund_id].balance_cents == given(*paid, *fixes).refunds[  # type: ignore[union-attr]
        refund_id].balance_cents > 0


def paid_then_voided() -> tuple[Event, ...]:
    """A termination's refund paid (9,610 ¢ refunded), then its termination voided."""
    [due] = when((), termination(), "2026-06-12")
    [payout] = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-06-20")
    [issued] = when((due, payout), domain.RecordPayoutOutcome(due.refund_id, 1, "T/A"),
                    "2026-06-20")
    [voided] = when((due, payout, issued), VOID, "2026-06-21")
    return due, payout, issued, voided


def test_money_given_back_for_a_voided_refund_is_recorded_until_all_of_it_is_back() -> None:
    # given a refund of 9,610 ¢ voided after it was paid
    history = paid_then_voided()
    refund_id = history[0].refund_id  # type: ignore[attr-defined]
    # when the buyer gives back part of it, then the rest
    [first] = when(history, domain.RecordRecovery(refund_id, 6000, "VIR-1"), "2026-07-01")
    assert first == VoidedRefundRecovered(refund_id=refund_id, amount_cents=6000,
                                          recovered_cents=6000, reference="VIR-1",
                                          recovered_on=dt.date(2026, 7, 1))
    assert when((*history, first), domain.RecordRecovery(refund_id, 6000, "VIR-1"),
                "2026-07-02") == []  # the same transfer, told twice
    with pytest.raises(domain.RefundConflictError, match="3610 cents are left"):
        when((*history, first), domain.RecordRecovery(refund_id, 3611, "VIR-2"), "2026-07-02")
    [rest] = when((*history, first), domain.RecordRecovery(refund_id, 3610, "VIR-2"),
                  "2026-07-02")
    # then nothing is left to recover
    assert isinstance(rest, VoidedRefundRecovered) and rest.recovered_cents == 9610
    state = given(*history, first, rest)
    assert state is not None and domain.to_recover_cents(state.refunds[refund_id]) == 0
    with pytest.raises(domain.RefundConflictError, match="VIR-1 was recorded for 6000"):
        when((*history, first), domain.RecordRecovery(refund_id, 500, "VIR-1"), "2026-07-02")


def test_nothing_is_recovered_of_a_refund_not_voided_or_whose_payout_awaits_the_bank() -> None:
    [due] = when((), termination(), "2026-06-12")
    with pytest.raises(domain.RefundConflictError, match="not voided"):
        when((due,), domain.RecordRecovery(due.refund_id, 100, "VIR-1"), "2026-06-20")
    [payout] = when((due,), domain.PayRefund(due.refund_id, POLICY), "2026-06-20")
    [voided] = when((due, payout), VOID, "2026-06-21")
    with pytest.raises(domain.RefundConflictError, match="awaits the bank's answer"):
        when((due, payout, voided), domain.RecordRecovery(due.refund_id, 100, "VIR-1"),
             "2026-06-22")
    with pytest.raises(domain.RefundNotFoundError):
        when((due,), domain.RecordRecovery("no-such-refund", 100, "VIR-1"), "2026-06-22")
