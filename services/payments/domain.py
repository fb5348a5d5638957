"""Payments: the pure decisions on an order's payment and how its events change its state,
refunds paid back on it included. No I/O, no clock, no keys: the bank's signature is checked by
the handler before ``decide``, the bank is asked by the handler after it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import Event
from contracts.payments import (
    PaymentAmountReduced,
    PaymentAuthorised,
    PaymentCaptureAsked,
    PaymentCaptured,
    PaymentCaptureRefused,
    PaymentDeclined,
    PaymentDisputeClosed,
    PaymentDisputeOpened,
    PaymentExpected,
    PaymentNotificationRejected,
    PaymentSessionOpened,
    PaymentsHeld,
    PaymentsReleased,
    RefundPaid,
    RefundPayoutDeclined,
    RefundPayoutOrdered,
    VerificationCompleted,
    VerificationRequested,
)
from contracts.personal import Sealed
from contracts.policies import paris_date

PaymentStatus = Literal["awaiting_payment", "authorised", "declined", "captured",
                        "capture_refused"]
VerificationStatus = Literal["none", "requested", "accepted", "rejected"]
Document = Literal["identity_document", "proof_of_address"]
PayoutStatus = Literal["ordered", "paid", "declined"]
APPROVED = "00000"
NO_CAPTURED_PAYMENT = "no-captured-payment"
INVALID_AMOUNT = "invalid-amount"
MAX_DIRECT_CENTS = 10**10  # Paybox Direct's MONTANT has 10 digits


class PaymentNotFoundError(LookupError):
    """No payment is expected for this order."""


class PaymentConflictError(Exception):
    """The command does not fit the payment's current state."""


@dataclass(frozen=True)
class ExpectPayment:
    """An order was placed: its buyer owes its total."""

    buyer_id: str
    amount_cents: int
    personal: Sealed


@dataclass(frozen=True)
class HoldPayments:
    """The order is blocked."""

    reason: str


@dataclass(frozen=True)
class ReleasePayments:
    """The order's block is lifted."""


@dataclass(frozen=True)
class ReduceAmountDue:
    """A line of the order was cancelled before it was paid: the buyer owes its price less."""

    sku: str
    by_cents: int


@dataclass(frozen=True)
class OpenSession:
    """Send the buyer to the bank's page under a new reference; refused for a buyer in bad
    standing."""

    payment_id: str
    buyer_in_good_standing: bool = True


@dataclass(frozen=True)
class ReceiveNotification:
    """The bank's notification, its signature already verified by the handler."""

    payment_id: str
    amount_cents: int
    error: str
    authorisation: str
    transaction: str
    call: str


@dataclass(frozen=True)
class RejectNotification:
    """A notification whose signature did not verify."""

    payment_id: str


@dataclass(frozen=True)
class AskCapture:
    """The capture pass is about to ask the bank to capture the authorised payment, under the
    question number ``question`` (a fresh one)."""

    question: int


@dataclass(frozen=True)
class RecordCapture:
    """The bank's answer to the capture of the authorised payment."""

    code: str
    reason: str


@dataclass(frozen=True)
class OpenDispute:
    """Ops record that the buyer disputes the payment with their bank."""

    reason: str


@dataclass(frozen=True)
class CloseDispute:
    """Ops record that the dispute is settled."""

    resolution: str


@dataclass(frozen=True)
class RequestVerification:
    """Ops require identity documents before the order is validated."""

    documents: tuple[Document, ...]


@dataclass(frozen=True)
class CompleteVerification:
    """Ops record the outcome of checking the documents."""

    outcome: Literal["accepted", "rejected"]


@dataclass(frozen=True)
class OrderRefundPayout:
    """The refunds service asks for ``amount_cents`` paid back for ``refund_id`` (its attempt
    ``attempt``) on the order's captured payment."""

    refund_id: str
    attempt: int
    amount_cents: int
    question: int | None = None  # the NUMQUESTION the bank is to be asked (a fresh one)


@dataclass(frozen=True)
class RecordRefundPayout:
    """The bank's answer to the refund of one payout attempt (``code`` ``00000``: paid)."""

    refund_id: str
    attempt: int
    code: str
    reason: str
    bank_reference: str = ""


OpsCommand = OpenDispute | CloseDispute | RequestVerification | CompleteVerification
PayoutCommand = OrderRefundPayout | RecordRefundPayout
Command = (ExpectPayment | HoldPayments | ReleasePayments | ReduceAmountDue | OpenSession
           | ReceiveNotification | RejectNotification | AskCapture | RecordCapture | OpsCommand
           | PayoutCommand)


class Payout(BaseModel):
    """A refund's latest payout attempt on the order, and where the bank's answer stands."""

    model_config = ConfigDict(frozen=True)
    attempt: int
    amount_cents: int
    status: PayoutStatus
    question: int | None = None


class PaymentState(BaseModel):
    """The decision state of one order's payment."""

    model_config = ConfigDict(frozen=True)
    buyer_id: str
    amount_cents: int
    status: PaymentStatus = "awaiting_payment"
    reduced: tuple[str, ...] = ()
    session_amounts: dict[str, int] = Field(default_factory=dict)
    authorised_cents: int | None = None
    capture_asked: bool = False
    capture_question: int | None = None
    held: bool = False
    hold: str | None = None
    sessions: tuple[str, ...] = ()
    transactions: tuple[str, ...] = ()
    authorised: str | None = None
    transaction: str = ""
    call: str = ""
    dispute_open: bool = False
    verification: VerificationStatus = "none"
    payouts: dict[str, Payout] = Field(default_factory=dict)
    forged: tuple[str, ...] = ()  # sessions a notification failing verification was recorded on

    @property
    def capture_cents(self) -> int:
        """What the capture asks: the amount due, never more than the bank authorised (a page
        opened before a line was cancelled was paid at the higher amount)."""
        if self.authorised_cents is None:
            return self.amount_cents
        return min(self.authorised_cents, self.amount_cents)


def decide(state: PaymentState | None, command: Command, now: dt.datetime) -> list[Event]:
    """The events that ``command`` produces on ``state`` at ``now``, or a domain error."""
    match command:
        case ExpectPayment():
            return [] if state is not None else [PaymentExpected(
                buyer_id=command.buyer_id, amount_cents=command.amount_cents,
                personal=command.personal)]
        case RejectNotification():
            return reject_notification(state, command)
        case ReceiveNotification():
            return receive_notification(state, command)
        case OrderRefundPayout():
            return order_refund_payout(state, command)
        case RecordRefundPayout():
            return record_refund_payout(state, command, now)
    if state is None:
        raise PaymentNotFoundError("no payment is expected for this order")
    match command:
        case HoldPayments():
            if state.hold == command.reason or state.hold == "cancelled":
                return []
            return [PaymentsHeld(reason=command.reason)]
        case ReleasePayments():
            return [PaymentsReleased()] if state.held and state.hold != "cancelled" else []
        case ReduceAmountDue():
            return reduce_amount_due(state, command)
        case OpenSession():
            return open_session(state, command, now)
        case AskCapture():
            return ask_capture(state, command)
        case RecordCapture():
            return record_capture(state, command, now)
    return ops_command(state, command)


def ops_command(state: PaymentState, command: Command) -> list[Event]:
    """Disputes and identity verification, as ops record them; each step once, in order."""
    match command:
        case OpenDispute() if not state.dispute_open:
            return [PaymentDisputeOpened(reason=command.reason)]
        case CloseDispute() if state.dispute_open:
            return [PaymentDisputeClosed(resolution=command.resolution)]
        case RequestVerification() if state.verification == "none":
            return [VerificationRequested(documents=command.documents)]
        case CompleteVerification() if state.verification == "requested":
            return [VerificationCompleted(outcome=command.outcome)]
        case OpenDispute() | CloseDispute():
            raise PaymentConflictError(
                "a dispute is already open" if state.dispute_open else "no dispute is open")
        case RequestVerification() | CompleteVerification():
            raise PaymentConflictError(f"identity verification is {state.verification}")
    raise TypeError(f"unknown command {command!r}")


def reduce_amount_due(state: PaymentState, command: ReduceAmountDue) -> list[Event]:
    """The amount asked of the buyer, less the cancelled line's price, once per line; nothing
    once a payment is authorised (the capture's amount is then fixed, so that the same question
    to the bank stays the same, and the orders service owes back the line's price)."""
    if command.sku in state.reduced or state.status not in ("awaiting_payment", "declined"):
        return []
    return [PaymentAmountReduced(sku=command.sku, by_cents=command.by_cents,
                                 amount_cents=max(0, state.amount_cents - command.by_cents))]


def open_session(state: PaymentState, command: OpenSession, now: dt.datetime) -> list[Event]:
    """A new reference for the order's full total, unless it cannot or need not be paid."""
    if state.held:
        raise PaymentConflictError("the order is blocked: it cannot be paid until unblocked")
    if state.status in ("authorised", "captured"):
        raise PaymentConflictError("the order is already paid")
    if state.status == "capture_refused":
        raise PaymentConflictError("the bank refused to capture this order's payment")
    if state.amount_cents == 0:
        raise PaymentConflictError("nothing is left to pay on this order")
    if not command.buyer_in_good_standing:
        raise PaymentConflictError(
            "the buyer has an unpaid order or a payment dispute in progress (Art. 10)")
    return [PaymentSessionOpened(payment_id=command.payment_id, amount_cents=state.amount_cents,
                                 opened_at=now)]


def reject_notification(state: PaymentState | None,
                        command: RejectNotification) -> list[Event]:
    """A notification that fails verification is recorded on the payment session it names,
    once. One that names no session of the order, or a session whose forgery is already
    recorded, records nothing: anyone can send it (a buyer sees their session's reference),
    and neither the log nor the streams may grow with it without bound (the caller logs it)."""
    if state is None or command.payment_id not in state.sessions:
        return []
    if command.payment_id in state.forged:
        return []
    return [PaymentNotificationRejected(payment_id=command.payment_id, reason="bad_signature")]


def receive_notification(state: PaymentState | None,
                         command: ReceiveNotification) -> list[Event]:
    """Authorised or declined once per bank transaction; a copy of one already applied, or one
    that does not match the session it claims, or arrives once the order is paid or held, is
    rejected with its reason and recorded (the bank's authorisation then lapses uncaptured)."""
    def rejected(reason: str) -> list[Event]:
        return [PaymentNotificationRejected(payment_id=command.payment_id,
                                            reason=reason)]  # type: ignore[arg-type]

    if state is None or command.payment_id not in state.sessions:
        return rejected("unknown_payment")
    if _transaction_key(command) in state.transactions:
        return rejected("replayed")  # applied once; a copy is recorded, never applied again
    if state.status in ("authorised", "captured", "capture_refused"):
        return rejected("already_paid")
    if state.held:
        return rejected("order_held")
    if command.amount_cents != state.session_amounts.get(command.payment_id,
                                                         state.amount_cents):
        return rejected("altered")  # not what the page this session opened asked
    if command.error == APPROVED:
        return [PaymentAuthorised(
            payment_id=command.payment_id, amount_cents=command.amount_cents,
            authorisation_code=command.authorisation, transaction=command.transaction,
            call=command.call)]
    return [PaymentDeclined(payment_id=command.payment_id, amount_cents=command.amount_cents,
                            reason=command.error, transaction=_transaction_key(command))]


def _transaction_key(command: ReceiveNotification) -> str:
    """What makes a notification the same one again: the bank's transaction number, or for a
    refusal without one (a cancelled page), the session and the error."""
    return command.transaction or f"{command.payment_id}/{command.error}"


def ask_capture(state: PaymentState, command: AskCapture) -> list[Event]:
    """The capture is asked once an authorised payment's order is not held; asked already, it
    is asked again as it was (nothing new to record)."""
    if state.status != "authorised" or state.authorised is None or state.capture_asked \
            or state.held:
        return []
    return [PaymentCaptureAsked(payment_id=state.authorised, amount_cents=state.capture_cents,
                                question=command.question)]


def record_capture(state: PaymentState, command: RecordCapture, now: dt.datetime) -> list[Event]:
    """Captured, or refused by the bank, as the bank answered; nothing if the payment is not
    awaiting capture. A hold that came while the bank was asked changes nothing: the money is
    taken, so it is recorded (the order then owes it back if it was cancelled)."""
    if state.status != "authorised" or state.authorised is None:
        return []
    if command.code == APPROVED:
        return [PaymentCaptured(payment_id=state.authorised, amount_cents=state.capture_cents,
                                captured_at=now)]
    return [PaymentCaptureRefused(payment_id=state.authorised, amount_cents=state.capture_cents,
                                  code=command.code, reason=command.reason)]


def order_refund_payout(state: PaymentState | None,
                        command: OrderRefundPayout) -> list[Event]:
    """The payout ordered once per attempt, or declined straight away when there is no captured
    payment to refund it on or its amount cannot be asked of the bank. A request for an attempt
    already seen, or while an earlier attempt awaits the bank, records nothing: the refunds
    service asks a new attempt only after a refusal, or for the balance a correction added to
    a refund paid. Never raises (a worker's policy calls it).
    """
    known = state.payouts.get(command.refund_id) if state is not None else None
    if known is not None and (command.attempt <= known.attempt or known.status == "ordered"):
        return []
    problem = _payout_problem(state, command)
    if problem is not None:
        return [RefundPayoutDeclined(refund_id=command.refund_id, attempt=command.attempt,
                                     code=problem[0], reason=problem[1])]
    return [RefundPayoutOrdered(refund_id=command.refund_id, attempt=command.attempt,
                                amount_cents=command.amount_cents, question=command.question)]


def _payout_problem(state: PaymentState | None,
                    command: OrderRefundPayout) -> tuple[str, str] | None:
    """Why the bank could not be asked for this payout (code, reason), or None."""
    if state is None or state.status != "captured" or state.authorised is None:
        return NO_CAPTURED_PAYMENT, "the order has no captured payment to refund"
    if not 0 < command.amount_cents < MAX_DIRECT_CENTS:
        return INVALID_AMOUNT, f"a payout of {command.amount_cents} cents cannot be paid"
    return None


def record_refund_payout(state: PaymentState | None, command: RecordRefundPayout,
                         now: dt.datetime) -> list[Event]:
    """Paid (on the Paris date of ``now``) or declined, as the bank answered the attempt under
    way; nothing for an attempt not awaiting an answer, so a refund is never paid twice."""
    payout = state.payouts.get(command.refund_id) if state is not None else None
    if payout is None or payout.status != "ordered" or payout.attempt != command.attempt:
        return []
    if command.code == APPROVED:
        return [RefundPaid(refund_id=command.refund_id, amount_cents=payout.amount_cents,
                           paid_on=paris_date(now), attempt=command.attempt,
                           bank_reference=command.bank_reference)]
    return [RefundPayoutDeclined(refund_id=command.refund_id, attempt=command.attempt,
                                 code=command.code, reason=command.reason)]


def evolve(state: PaymentState | None, event: Event) -> PaymentState | None:
    """The payment's state after ``event`` (None while nothing is expected)."""
    if isinstance(event, PaymentExpected):
        return PaymentState(buyer_id=event.buyer_id, amount_cents=event.amount_cents)
    if state is None:
        return None  # a rejected notification for an order we do not know
    return _evolve(state, event)


def _evolve(state: PaymentState, event: Event) -> PaymentState:
    match event:
        case PaymentsHeld():
            return state.model_copy(update={"held": True, "hold": event.reason})
        case PaymentsReleased():
            return state.model_copy(update={"held": False, "hold": None})
        case PaymentAmountReduced():
            return state.model_copy(update={"amount_cents": event.amount_cents,
                                            "reduced": (*state.reduced, event.sku)})
        case PaymentSessionOpened():
            return state.model_copy(update={
                "sessions": (*state.sessions, event.payment_id), "status": "awaiting_payment",
                "session_amounts": {**state.session_amounts,
                                    event.payment_id: event.amount_cents}})
        case PaymentAuthorised():
            return state.model_copy(update={
                "status": "authorised", "authorised": event.payment_id,
                "authorised_cents": event.amount_cents,
                "transaction": event.transaction, "call": event.call,
                "transactions": (*state.transactions, event.transaction)})
        case PaymentDeclined():
            return state.model_copy(update={
                "status": "declined", "transactions": (*state.transactions, event.transaction)})
        case PaymentCaptureAsked():
            return state.model_copy(update={"capture_asked": True,
                                            "capture_question": event.question})
        case PaymentCaptured():
            return state.model_copy(update={"status": "captured"})
        case PaymentCaptureRefused():
            return state.model_copy(update={"status": "capture_refused"})
        case PaymentDisputeOpened() | PaymentDisputeClosed():
            return state.model_copy(
                update={"dispute_open": isinstance(event, PaymentDisputeOpened)})
        case VerificationRequested():
            return state.model_copy(update={"verification": "requested"})
        case VerificationCompleted():
            return state.model_copy(update={"verification": event.outcome})
        case RefundPayoutOrdered() | RefundPaid() | RefundPayoutDeclined():
            return _evolve_payout(state, event)
        case PaymentNotificationRejected(reason="bad_signature"):
            return state.model_copy(update={"forged": (*state.forged, event.payment_id)})
    return state


def _evolve_payout(state: PaymentState,
                   event: RefundPayoutOrdered | RefundPaid | RefundPayoutDeclined) -> PaymentState:
    """The refund's payout after one of its events: ordered, paid or declined."""
    if isinstance(event, RefundPayoutDeclined):
        known = state.payouts.get(event.refund_id)
        amount = known.amount_cents if known and known.attempt == event.attempt else 0
        payout = Payout(attempt=event.attempt, amount_cents=amount, status="declined")
    else:
        status: PayoutStatus = "ordered" if isinstance(event, RefundPayoutOrdered) else "paid"
        question = event.question if isinstance(event, RefundPayoutOrdered) else (
            known.question if (known := state.payouts.get(event.refund_id)) else None)
        payout = Payout(attempt=event.attempt, amount_cents=event.amount_cents, status=status,
                        question=question)
    return state.model_copy(update={"payouts": {**state.payouts, event.refund_id: payout}})
