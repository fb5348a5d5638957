"""Queries on the payments read model, with typed results (never any card field)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from contracts.personal import Sealed
from services.payments.domain import PaymentStatus, PayoutStatus, VerificationStatus
from services.payments.etransactions import ISSUER_REFUSAL_PREFIX
from services.platform.db import Db

__all__ = ["PaymentRecord", "PaymentView", "RefundPayoutView", "all_payments",
           "all_refund_payouts", "authorised_payments", "buyer_in_good_standing",
           "ordered_payouts", "payment_record"]


class PaymentView(BaseModel):
    """An order's payment as the API shows it."""

    order_id: str
    version: int
    buyer_id: str
    amount_cents: int
    status: PaymentStatus
    held: bool
    payment_id: str | None
    authorisation_code: str | None
    decline_reason: str | None
    captured_cents: int
    rejected_notifications: int
    dispute_open: bool
    verification: VerificationStatus
    updated_at: dt.datetime


class PaymentRecord(PaymentView):
    """The row as stored, with the order's sealed personal data."""

    personal: Sealed


class RefundPayoutView(BaseModel):
    """A refund's latest payout attempt on an order and the bank's answer to it."""

    order_id: str
    refund_id: str
    version: int
    attempt: int
    amount_cents: int
    status: PayoutStatus
    code: str | None
    reason: str | None
    bank_reference: str | None
    paid_on: dt.date | None
    updated_at: dt.datetime


async def payment_record(db: Db, order_id: str) -> PaymentRecord | None:
    """The order's payment, or None if no payment is expected for it."""
    row = await db.fetchrow("SELECT * FROM payment_view WHERE order_id = $1", order_id)
    return None if row is None else PaymentRecord.model_validate(dict(row))


async def all_payments(db: Db) -> list[PaymentRecord]:
    """The whole read model in a stable order (to compare a rebuild with the live one)."""
    rows = await db.fetch("SELECT * FROM payment_view ORDER BY order_id")
    return [PaymentRecord.model_validate(dict(row)) for row in rows]


async def authorised_payments(db: Db) -> list[str]:
    """Orders whose payment is authorised and not yet captured, not held or asked of the bank
    already (the capture's work list)."""
    rows = await db.fetch("SELECT order_id FROM payment_view WHERE status = 'authorised' "
                          "AND (NOT held OR capture_asked) "  # 005's partial index
                          "ORDER BY updated_at LIMIT 200")
    return [row["order_id"] for row in rows]


async def buyer_in_good_standing(db: Db, buyer_id: str) -> bool:
    """False when an order of the buyer was left unpaid (the card issuer refused its capture:
    a ``001xx`` code, not the bank's or the shop's own error) or a payment of theirs is
    disputed (Art. 10)."""
    bad = await db.fetchval(
        "SELECT count(*) FROM payment_view WHERE buyer_id = $1 "
        "AND ((status = 'capture_refused' AND starts_with(decline_reason, $2)) "
        "OR dispute_open)", buyer_id, ISSUER_REFUSAL_PREFIX)
    return bad == 0


async def ordered_payouts(db: Db) -> list[RefundPayoutView]:
    """Payouts ordered and not yet answered by the bank (the payout's work list), oldest first."""
    rows = await db.fetch("SELECT * FROM refund_payout_view WHERE status = 'ordered' "
                          "ORDER BY updated_at LIMIT 200")
    return [RefundPayoutView.model_validate(dict(row)) for row in rows]


async def all_refund_payouts(db: Db) -> list[RefundPayoutView]:
    """Every refund payout in a stable order (to compare a rebuild with the live one)."""
    rows = await db.fetch("SELECT * FROM refund_payout_view ORDER BY order_id, refund_id")
    return [RefundPayoutView.model_validate(dict(row)) for row in rows]
