"""Payments domain, refund payouts: given events, when a command, then events.

A payout is ordered once per (refund, attempt) on a captured payment, declined at once when
there is none, and answered once by the bank: a refund is never paid twice."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from contracts.base import Event
from contracts.payments import (
    PaymentAuthorised,
    PaymentCaptured,
    PaymentCaptureRefused,
    PaymentExpected,
    PaymentSessionOpened,
    PaymentsHeld,
    RefundPaid,
    RefundPayoutDeclined,
    RefundPayoutOrdered,
)
from services.payments import domain
from tests.support.sealed import SEALED

NOW = dt.datetime(2026, 7, 3, 22, 30, tzinfo=dt.UTC)  # already 4 July in Paris
PARIS_TODAY = dt.date(2026, 7, 4)
PRICE = 8730


def payment_history(order_id: str, *, captured: bool = True) -> list[Event]:
    """An order's payment up to its capture (or only its authorisation)."""
    payment_id = f"{order_id}.{uuid.uuid4().hex[:8]}"
    events: list[Event] = [
        PaymentExpected(buyer_id=f"buyer-{uuid.uuid4()}", amount_cents=PRICE, personal=SEALED),
        PaymentSessionOpened(payment_id=payment_id, amount_cents=PRICE, opened_at=NOW),
        PaymentAuthorised(payment_id=payment_id, amount_cents=PRICE, authorisation_code="XY1234",
                          transaction="1000000001", call="1000000002")]
    if captured:
        events.append(PaymentCaptured(payment_id=payment_id, amount_cents=PRICE,
                                      captured_at=NOW))
    return events


def given(*events: Event) -> domain.PaymentState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


@pytest.fixture
def refund_id() -> str:
    return f"refund-{uuid.uuid4()}"


@pytest.fixture
def captured() -> list[Event]:
    return payment_history(str(uuid.uuid4()))


def ordered(refund_id: str, attempt: int = 1, amount_cents: int = 9200) -> RefundPayoutOrdered:
    return RefundPayoutOrdered(refund_id=refund_id, attempt=attempt, amount_cents=amount_cents)


def answer(refund_id: str, attempt: int = 1, code: str = "00000",
           reason: str = "PAYBOX : Opération réussie") -> domain.RecordRefundPayout:
    return domain.RecordRefundPayout(refund_id, attempt, code, reason,
                                     "1000000001/XY1234" if code == "00000" else "")


def test_a_requested_payout_is_ordered_for_the_refunds_total(captured, refund_id) -> None:
    command = domain.OrderRefundPayout(refund_id, 1, 9200)
    assert domain.decide(given(*captured), command, NOW) == [ordered(refund_id)]


def test_a_payout_beyond_the_captured_price_is_ordered(captured, refund_id) -> None:
    # the late-refund surcharge is paid on top of the price (decision 0009)
    command = domain.OrderRefundPayout(refund_id, 1, PRICE * 2)
    assert domain.decide(given(*captured), command, NOW) == [
        ordered(refund_id, amount_cents=PRICE * 2)]


def test_a_cancelled_orders_captured_payment_is_refunded_all_the_same(captured,
                                                                      refund_id) -> None:
    state = given(*captured, PaymentsHeld(reason="cancelled"))
    assert domain.decide(state, domain.OrderRefundPayout(refund_id, 1, 9200), NOW) == [
        ordered(refund_id)]


@pytest.mark.parametrize("later", [
    pytest.param([], id="still ordered"),
    pytest.param(["paid"], id="paid"),
    pytest.param(["declined"], id="declined"),
])
def test_the_same_attempt_asked_again_records_nothing(captured, refund_id, later) -> None:
    outcomes = {"paid": RefundPaid(refund_id=refund_id, amount_cents=9200, paid_on=PARIS_TODAY,
                                   attempt=1, bank_reference="1000000001/XY1234"),
                "declined": RefundPayoutDeclined(refund_id=refund_id, attempt=1, code="00003",
                                                 reason="PAYBOX : Erreur Paybox")}
    state = given(*captured, ordered(refund_id), *(outcomes[name] for name in later))
    assert domain.decide(state, domain.OrderRefundPayout(refund_id, 1, 9200), NOW) == []


@pytest.mark.parametrize("history", [
    pytest.param(lambda order_id: [], id="order unknown to payments"),
    pytest.param(lambda order_id: payment_history(order_id)[:1], id="awaiting payment"),
    pytest.param(lambda order_id: payment_history(order_id, captured=False), id="authorised"),
    pytest.param(lambda order_id: [
        *payment_history(order_id, captured=False),
        PaymentCaptureRefused(payment_id=f"{order_id}.x", amount_cents=PRICE, code="00003",
                              reason="refused")], id="capture refused"),
])
def test_without_a_captured_payment_the_payout_is_declined_at_once(history, refund_id) -> None:
    state = given(*history(str(uuid.uuid4())))
    command = domain.OrderRefundPayout(refund_id, 1, 9200)
    [declined] = domain.decide(state, command, NOW)
    assert isinstance(declined, RefundPayoutDeclined)
    assert (declined.refund_id, declined.attempt, declined.code) == (
        refund_id, 1, "no-captured-payment")
    assert declined.reason
    if state is not None:  # and asked again, it is not declined twice
        assert domain.decide(domain.evolve(state, declined), command, NOW) == []


@pytest.mark.parametrize("amount_cents", [0, 10**10])
def test_a_payout_the_bank_cannot_be_asked_is_declined(captured, refund_id,
                                                       amount_cents) -> None:
    command = domain.OrderRefundPayout(refund_id, 1, amount_cents)
    [declined] = domain.decide(given(*captured), command, NOW)
    assert isinstance(declined, RefundPayoutDeclined) and declined.code == "invalid-amount"


def test_the_banks_approval_pays_the_refund_on_the_paris_date_once(captured, refund_id) -> None:
    state = given(*captured, ordered(refund_id))
    [paid] = domain.decide(state, answer(refund_id), NOW)
    assert paid == RefundPaid(refund_id=refund_id, amount_cents=9200, paid_on=PARIS_TODAY,
                              attempt=1, bank_reference="1000000001/XY1234")
    paid_state = domain.evolve(state, paid)
    assert domain.decide(paid_state, answer(refund_id), NOW) == []
    assert domain.decide(paid_state, answer(refund_id, code="00003"), NOW) == []


def test_the_banks_refusal_declines_the_attempt_and_a_new_attempt_may_follow(
        captured, refund_id) -> None:
    state = given(*captured, ordered(refund_id))
    [declined] = domain.decide(state, answer(refund_id, code="00003",
                                             reason="PAYBOX : Erreur Paybox"), NOW)
    assert declined == RefundPayoutDeclined(refund_id=refund_id, attempt=1, code="00003",
                                            reason="PAYBOX : Erreur Paybox")
    state = domain.evolve(state, declined)
    assert domain.decide(state, answer(refund_id), NOW) == []  # a late answer to attempt 1
    second = domain.OrderRefundPayout(refund_id, 2, 9350)
    assert domain.decide(state, second, NOW) == [ordered(refund_id, 2, 9350)]


def test_no_new_attempt_while_one_awaits_the_bank(captured, refund_id) -> None:
    state = given(*captured, ordered(refund_id))
    assert domain.decide(state, domain.OrderRefundPayout(refund_id, 2, 9200), NOW) == []


def test_once_paid_only_a_later_attempt_is_ordered_the_balance_a_correction_added(
        captured, refund_id) -> None:
    # given a refund paid by its first attempt
    state = given(*captured, ordered(refund_id), RefundPaid(
        refund_id=refund_id, amount_cents=9200, paid_on=PARIS_TODAY, attempt=1))
    # when the first attempt is asked again, nothing; when a balance of 73 cents is asked
    assert domain.decide(state, domain.OrderRefundPayout(refund_id, 1, 9200), NOW) == []
    balance = domain.OrderRefundPayout(refund_id, 2, 73)
    # then it is ordered as the refund's second attempt, once
    [second] = domain.decide(state, balance, NOW)
    assert second == ordered(refund_id, 2, 73)
    assert domain.decide(domain.evolve(state, second), balance, NOW) == []


def test_an_answer_for_no_ordered_payout_records_nothing(captured, refund_id) -> None:
    assert domain.decide(given(*captured), answer(refund_id), NOW) == []
    assert domain.decide(None, answer(refund_id), NOW) == []
    state = given(*captured, ordered(refund_id, attempt=2))
    assert domain.decide(state, answer(refund_id, attempt=1), NOW) == []


def test_payouts_are_tracked_per_refund_and_survive_the_stored_state(captured) -> None:
    first, second = f"refund-{uuid.uuid4()}", f"refund-{uuid.uuid4()}"
    state = given(*captured, ordered(first), ordered(second, amount_cents=500),
                  RefundPayoutDeclined(refund_id=second, attempt=1, code="00003", reason="x"))
    assert state is not None
    assert state.payouts == {
        first: domain.Payout(attempt=1, amount_cents=9200, status="ordered"),
        second: domain.Payout(attempt=1, amount_cents=500, status="declined")}
    stored = state.model_dump_json()  # as the event store keeps it
    assert domain.PaymentState.model_validate_json(stored) == state


def test_a_payout_is_asked_under_the_question_number_it_was_ordered_with(captured,
                                                                        refund_id) -> None:
    [ordered_event] = domain.decide(given(*captured),
                                    domain.OrderRefundPayout(refund_id, 1, 9200, question=77),
                                    NOW)
    assert isinstance(ordered_event, RefundPayoutOrdered) and ordered_event.question == 77
    state = given(*captured, ordered_event)
    assert state is not None and state.payouts[refund_id].question == 77
