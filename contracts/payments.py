"""Events the payments service emits on ``payments.events``: authorisation, capture,
verification and refunds paid out by the bank."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from contracts.base import Event
from contracts.vocabulary import Cents

__all__ = [
    "PaymentAuthorised",
    "PaymentCaptured",
    "PaymentDeclined",
    "PaymentNotificationRejected",
    "RefundPaid",
    "VerificationCompleted",
    "VerificationRequested",
]


class PaymentAuthorised(Event):
    """The bank authorised the payment; not final until captured."""

    payment_id: str
    amount_cents: Cents
    authorisation_code: str


class PaymentDeclined(Event):
    """The bank refused the authorisation."""

    payment_id: str
    amount_cents: Cents
    reason: str


class PaymentNotificationRejected(Event):
    """A payment-server notification failed verification (forged, altered or replayed)."""

    payment_id: str
    reason: Literal["bad_signature", "altered", "replayed", "unknown_payment"]


class PaymentCaptured(Event):
    """The sums are received: the payment is final."""

    payment_id: str
    amount_cents: Cents
    captured_at: dt.datetime


class VerificationRequested(Event):
    """The seller requires identity documents before validating the order."""

    documents: tuple[Literal["identity_document", "proof_of_address"], ...]


class VerificationCompleted(Event):
    """The identity documents were received and checked."""

    outcome: Literal["accepted", "rejected"]


class RefundPaid(Event):
    """The bank paid a refund back to the buyer's card."""

    refund_id: str
    amount_cents: Cents
    paid_on: dt.date
