"""Events the payments service emits on ``payments.events``: authorisation, capture,
verification and refunds paid out by the bank."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from contracts.base import Event
from contracts.personal import Sealed
from contracts.vocabulary import Cents, Sku

Question = Annotated[int, Field(ge=1, le=2147483647, description=(
    "Paybox Direct's NUMQUESTION: the same number asks the same question again"))]

__all__ = [
    "PaymentAmountReduced",
    "PaymentAuthorised",
    "PaymentCaptureAsked",
    "PaymentCaptureRefused",
    "PaymentCaptured",
    "PaymentDeclined",
    "PaymentDisputeClosed",
    "PaymentDisputeOpened",
    "PaymentExpected",
    "PaymentNotificationRejected",
    "PaymentSessionOpened",
    "PaymentsHeld",
    "PaymentsReleased",
    "RefundPaid",
    "RefundPayoutDeclined",
    "RefundPayoutOrdered",
    "VerificationCompleted",
    "VerificationRequested",
]


class PaymentExpected(Event):
    """An order was placed: its total (as ``OrderPlaced`` recorded it, never as a client says) is
    to be paid by the buyer; ``personal`` is the order's sealed ``PersonalData`` (the e-mail
    the bank's page is told)."""

    buyer_id: str
    amount_cents: Cents
    personal: Sealed


class PaymentAmountReduced(Event):
    """A line of the order was cancelled before any payment was authorised: the buyer is asked
    for ``amount_cents`` from now on, ``by_cents`` less (the line's price). Once a payment is
    authorised the amount stays; the orders service owes back what was paid for a line
    cancelled before."""

    sku: Sku
    by_cents: Cents
    amount_cents: Cents


class PaymentsHeld(Event):
    """The order is blocked (Art. 4): no payment session until it is released."""

    reason: str


class PaymentsReleased(Event):
    """The order's block is lifted: it can be paid again."""


class PaymentSessionOpened(Event):
    """The buyer was sent to the bank's payment page for ``amount_cents`` under ``payment_id``
    (the reference the bank returns)."""

    payment_id: str
    amount_cents: Cents
    opened_at: dt.datetime


class PaymentAuthorised(Event):
    """The bank authorised the payment; not final until captured."""

    payment_id: str
    amount_cents: Cents
    authorisation_code: str
    transaction: str = ""
    call: str = ""


class PaymentDeclined(Event):
    """The bank refused the authorisation (``reason`` is the bank's error code)."""

    payment_id: str
    amount_cents: Cents
    reason: str
    transaction: str = ""


class PaymentNotificationRejected(Event):
    """A payment-server notification failed verification (forged, altered or replayed)."""

    payment_id: str
    reason: Literal["bad_signature", "altered", "replayed", "unknown_payment", "already_paid",
                    "order_held"]


class PaymentCaptureAsked(Event):
    """The bank is asked to capture the authorised payment (Paybox Direct), recorded before it
    is asked: from then on the same question is asked until the bank answers, even if the
    order is blocked or cancelled meanwhile (the bank may have captured, its answer lost)."""

    payment_id: str
    amount_cents: Cents
    question: Question


class PaymentCaptured(Event):
    """The sums are received: the payment is final."""

    payment_id: str
    amount_cents: Cents
    captured_at: dt.datetime


class PaymentCaptureRefused(Event):
    """The bank refused to capture the authorised payment: the order is not paid."""

    payment_id: str
    amount_cents: Cents
    code: str
    reason: str


class PaymentDisputeOpened(Event):
    """The buyer disputes the payment with their bank: their new orders are refused meanwhile
    (Art. 10)."""

    reason: str


class PaymentDisputeClosed(Event):
    """The payment dispute is settled."""

    resolution: str


class VerificationRequested(Event):
    """The seller requires identity documents before validating the order."""

    documents: tuple[Literal["identity_document", "proof_of_address"], ...] = Field(min_length=1)


class VerificationCompleted(Event):
    """The identity documents were received and checked."""

    outcome: Literal["accepted", "rejected"]


class RefundPayoutOrdered(Event):
    """The refunds service ordered ``amount_cents`` paid back for ``refund_id``: the bank is to
    refund it on the order's captured transaction (attempt ``attempt`` of that refund)."""

    refund_id: str
    attempt: int = Field(ge=1)
    amount_cents: Cents
    question: Question | None = Field(
        default=None, description="the NUMQUESTION the bank is asked; none in events recorded "
                                  "before it was kept (derived from the refund and attempt)")


class RefundPaid(Event):
    """The bank paid a refund back to the buyer's card; ``bank_reference`` is the bank's
    transaction and authorisation numbers for it."""

    refund_id: str
    amount_cents: Cents
    paid_on: dt.date
    attempt: int = Field(default=1, ge=1)
    bank_reference: str = ""


class RefundPayoutDeclined(Event):
    """The bank refused the refund (or there is no captured payment to refund it on)."""

    refund_id: str
    attempt: int = Field(ge=1)
    code: str
    reason: str
