"""Payments domain: given events, when a command, then events (or an error)."""

from __future__ import annotations

import datetime as dt

import pytest

from contracts.base import Event
from contracts.payments import (
    PaymentAmountReduced,
    PaymentAuthorised,
    PaymentCaptureAsked,
    PaymentCaptured,
    PaymentCaptureRefused,
    PaymentDeclined,
    PaymentDisputeOpened,
    PaymentExpected,
    PaymentNotificationRejected,
    PaymentSessionOpened,
    PaymentsHeld,
    VerificationCompleted,
    VerificationRequested,
)
from services.payments import domain
from services.payments.domain import PaymentConflictError, PaymentNotFoundError
from tests.support.sealed import SEALED

NOW = dt.datetime(2026, 5, 13, 8, 0, tzinfo=dt.UTC)
EXPECTED = PaymentExpected(buyer_id="b-1", amount_cents=8730, personal=SEALED)
OPENED = PaymentSessionOpened(payment_id="o-1.aa", amount_cents=8730, opened_at=NOW)
AUTHORISED = PaymentAuthorised(payment_id="o-1.aa", amount_cents=8730,
                               authorisation_code="XY1234", transaction="0000000001",
                               call="0000000002")


REPLAYED = [PaymentNotificationRejected(payment_id="o-1.aa", reason="replayed")]


def given(*events: Event) -> domain.PaymentState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


def notice(**changes: object) -> domain.ReceiveNotification:
    fields: dict = {"payment_id": "o-1.aa", "amount_cents": 8730, "error": "00000",
                    "authorisation": "XY1234", "transaction": "0000000001",
                    "call": "0000000002"}
    return domain.ReceiveNotification(**{**fields, **changes})


def test_a_placed_order_expects_its_total_once() -> None:
    command = domain.ExpectPayment("b-1", 8730, SEALED)
    assert domain.decide(None, command, NOW) == [EXPECTED]
    assert domain.decide(given(EXPECTED), command, NOW) == []


def test_a_session_is_for_the_recorded_total() -> None:
    [opened] = domain.decide(given(EXPECTED), domain.OpenSession("o-1.aa"), NOW)
    assert opened == OPENED


@pytest.mark.parametrize(("history", "command"), [
    ((EXPECTED, PaymentsHeld(reason="non_payment")), domain.OpenSession("o-1.bb")),
    ((EXPECTED, OPENED, AUTHORISED), domain.OpenSession("o-1.bb")),
    ((EXPECTED,), domain.OpenSession("o-1.bb", buyer_in_good_standing=False)),
])
def test_a_session_is_refused_when_blocked_paid_or_for_a_buyer_in_bad_standing(
        history, command) -> None:
    with pytest.raises(PaymentConflictError):
        domain.decide(given(*history), command, NOW)


def test_no_session_for_an_order_that_expects_no_payment() -> None:
    with pytest.raises(PaymentNotFoundError):
        domain.decide(None, domain.OpenSession("o-1.aa"), NOW)


def test_an_approved_notification_authorises_once() -> None:
    assert domain.decide(given(EXPECTED, OPENED), notice(), NOW) == [AUTHORISED]
    assert domain.decide(given(EXPECTED, OPENED, AUTHORISED), notice(), NOW) == REPLAYED


def test_a_refusal_declines_and_a_new_session_may_follow() -> None:
    [declined] = domain.decide(given(EXPECTED, OPENED), notice(error="00105"), NOW)
    assert declined == PaymentDeclined(payment_id="o-1.aa", amount_cents=8730, reason="00105",
                                       transaction="0000000001")
    assert domain.decide(given(EXPECTED, OPENED, declined), notice(error="00105"),
                         NOW) == REPLAYED
    assert domain.decide(given(EXPECTED, OPENED, declined), domain.OpenSession("o-1.bb"), NOW)


@pytest.mark.parametrize(("command", "reason"), [
    (notice(amount_cents=100), "altered"),
    (notice(payment_id="o-1.zz"), "unknown_payment"),
    (domain.RejectNotification("o-1.aa"), "bad_signature"),
])
def test_a_notification_that_does_not_match_its_session_is_rejected_with_its_reason(
        command, reason: str) -> None:
    assert domain.decide(given(EXPECTED, OPENED), command, NOW) == [
        PaymentNotificationRejected(payment_id=command.payment_id, reason=reason)]


@pytest.mark.parametrize("state", [None, given(EXPECTED, OPENED)])
def test_a_notification_failing_verification_that_names_no_session_records_nothing(
        state) -> None:
    assert domain.decide(state, domain.RejectNotification("o-1.zz"), NOW) == []


def test_a_session_s_forged_notifications_are_recorded_once() -> None:
    forged = domain.RejectNotification("o-1.aa")
    [first] = domain.decide(given(EXPECTED, OPENED), forged, NOW)

    assert domain.decide(given(EXPECTED, OPENED, first), forged, NOW) == []
    replayed = PaymentNotificationRejected(payment_id="o-1.aa", reason="replayed")
    assert domain.decide(given(EXPECTED, OPENED, replayed), forged, NOW) == [first]


def test_a_notification_for_an_order_never_placed_is_unknown() -> None:
    [rejected] = domain.decide(None, notice(), NOW)
    assert isinstance(rejected, PaymentNotificationRejected)
    assert rejected.reason == "unknown_payment"


def test_the_capture_records_the_banks_answer_once() -> None:
    state = given(EXPECTED, OPENED, AUTHORISED)
    assert domain.decide(state, domain.RecordCapture("00000", "OK"), NOW) == [
        PaymentCaptured(payment_id="o-1.aa", amount_cents=8730, captured_at=NOW)]
    [refused] = domain.decide(state, domain.RecordCapture("00003", "refused"), NOW)
    assert isinstance(refused, PaymentCaptureRefused) and refused.code == "00003"
    captured = PaymentCaptured(payment_id="o-1.aa", amount_cents=8730, captured_at=NOW)
    assert domain.decide(given(EXPECTED, OPENED, AUTHORISED, captured),
                         domain.RecordCapture("00000", "OK"), NOW) == []


def test_disputes_and_verification_go_step_by_step() -> None:
    state = given(EXPECTED)
    [opened] = domain.decide(state, domain.OpenDispute("chargeback"), NOW)
    assert opened == PaymentDisputeOpened(reason="chargeback")
    with pytest.raises(PaymentConflictError):
        domain.decide(given(EXPECTED, opened), domain.OpenDispute("again"), NOW)
    with pytest.raises(PaymentConflictError):
        domain.decide(state, domain.CompleteVerification("accepted"), NOW)
    [requested] = domain.decide(state, domain.RequestVerification(("identity_document",)), NOW)
    assert requested == VerificationRequested(documents=("identity_document",))
    assert domain.decide(given(EXPECTED, requested), domain.CompleteVerification("rejected"),
                         NOW) == [VerificationCompleted(outcome="rejected")]


def test_a_cancelled_orders_payments_stay_held_even_if_a_block_is_lifted() -> None:
    cancelled = PaymentsHeld(reason="cancelled")
    state = given(EXPECTED, PaymentsHeld(reason="non_payment"), cancelled)
    assert domain.decide(state, domain.ReleasePayments(), NOW) == []
    with pytest.raises(PaymentConflictError):
        domain.decide(state, domain.OpenSession("o-1.cc"), NOW)


SECOND = PaymentSessionOpened(payment_id="o-1.bb", amount_cents=8730, opened_at=NOW)


def test_a_second_tabs_approval_or_decline_after_payment_changes_nothing_but_is_recorded() -> None:
    paid = given(EXPECTED, OPENED, SECOND, AUTHORISED)
    for late in (notice(payment_id="o-1.bb", transaction="0000000009"),
                 notice(payment_id="o-1.bb", transaction="0000000010", error="00105")):
        assert domain.decide(paid, late, NOW) == [
            PaymentNotificationRejected(payment_id="o-1.bb", reason="already_paid")]


def test_an_approval_for_a_held_order_is_rejected() -> None:
    held = given(EXPECTED, OPENED, PaymentsHeld(reason="cancelled"))
    assert domain.decide(held, notice(), NOW) == [
        PaymentNotificationRejected(payment_id="o-1.aa", reason="order_held")]


@pytest.mark.parametrize("code", ["00000", "00105"])
def test_what_the_bank_answered_while_the_order_was_being_cancelled_is_recorded(
        code: str) -> None:
    # given an authorised payment, and the order cancelled while its capture was asked
    authorised_then_held = given(EXPECTED, OPENED, AUTHORISED, PaymentsHeld(reason="cancelled"))
    # when the bank's answer comes, then it is recorded as the bank gave it
    [recorded] = domain.decide(authorised_then_held, domain.RecordCapture(code, "-"), NOW)
    assert isinstance(recorded, PaymentCaptured if code == "00000" else PaymentCaptureRefused)
    assert recorded.amount_cents == 8730


def test_a_replayed_refusal_without_a_transaction_number_is_applied_once_and_recorded() -> None:
    cancelled_page = notice(error="00001", transaction="", authorisation="")
    [declined] = domain.decide(given(EXPECTED, OPENED), cancelled_page, NOW)
    assert domain.decide(given(EXPECTED, OPENED, declined), cancelled_page, NOW) == REPLAYED


def test_a_replayed_approval_is_recorded_as_rejected_even_once_captured() -> None:
    captured = PaymentCaptured(payment_id="o-1.aa", amount_cents=8730, captured_at=NOW)
    for history in ((EXPECTED, OPENED, AUTHORISED), (EXPECTED, OPENED, AUTHORISED, captured)):
        assert domain.decide(given(*history), notice(), NOW) == REPLAYED


# A line cancelled before the payment is not asked of the buyer

def test_a_line_cancelled_before_any_authorisation_is_taken_off_the_amount_once() -> None:
    reduce = domain.ReduceAmountDue("AMBRE", 2400)
    [reduced] = domain.decide(given(EXPECTED), reduce, NOW)
    assert reduced == PaymentAmountReduced(sku="AMBRE", by_cents=2400, amount_cents=6330)
    assert domain.decide(given(EXPECTED, reduced), reduce, NOW) == []  # redelivered
    [opened] = domain.decide(given(EXPECTED, reduced), domain.OpenSession("o-1.bb"), NOW)
    assert isinstance(opened, PaymentSessionOpened) and opened.amount_cents == 6330


def test_once_authorised_the_amount_stays_for_the_capture_to_ask_the_same_question() -> None:
    state = given(EXPECTED, OPENED, AUTHORISED)
    assert domain.decide(state, domain.ReduceAmountDue("AMBRE", 2400), NOW) == []


def test_a_page_opened_before_the_reduction_is_paid_and_only_the_amount_due_is_captured() -> None:
    # given a page opened at 8730, then a line of 2400 cancelled
    reduced = PaymentAmountReduced(sku="AMBRE", by_cents=2400, amount_cents=6330)
    state = given(EXPECTED, OPENED, reduced)
    # when the bank notifies the payment of that page's 8730: authorised, not "altered"
    [authorised] = domain.decide(state, notice(), NOW)
    assert isinstance(authorised, PaymentAuthorised) and authorised.amount_cents == 8730
    # then the capture takes the 6330 due
    after = given(EXPECTED, OPENED, reduced, authorised)
    assert after is not None and after.capture_cents == 6330
    [captured] = domain.decide(after, domain.RecordCapture("00000", "OK"), NOW)
    assert captured == PaymentCaptured(payment_id="o-1.aa", amount_cents=6330, captured_at=NOW)


def test_an_order_whose_every_line_was_cancelled_cannot_be_paid() -> None:
    nothing_left = PaymentAmountReduced(sku="AMBRE", by_cents=8730, amount_cents=0)
    with pytest.raises(PaymentConflictError, match="nothing"):
        domain.decide(given(EXPECTED, nothing_left), domain.OpenSession("o-1.bb"), NOW)


def test_the_capture_is_asked_once_and_not_for_an_order_held_before() -> None:
    state = given(EXPECTED, OPENED, AUTHORISED)
    [asked] = domain.decide(state, domain.AskCapture(41), NOW)
    assert asked == PaymentCaptureAsked(payment_id="o-1.aa", amount_cents=8730, question=41)
    assert domain.decide(given(EXPECTED, OPENED, AUTHORISED, asked), domain.AskCapture(42),
                         NOW) == []
    held = given(EXPECTED, OPENED, AUTHORISED, PaymentsHeld(reason="cancelled"))
    assert domain.decide(held, domain.AskCapture(43), NOW) == []
    asked_then_held = given(EXPECTED, OPENED, AUTHORISED, asked,
                            PaymentsHeld(reason="cancelled"))
    # asked on, still, and always under the question recorded
    assert asked_then_held is not None and asked_then_held.capture_asked
    assert asked_then_held.capture_question == 41
