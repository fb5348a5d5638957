"""The payments read model (``payment_view``, ``refund_payout_view``), updated in the
transaction that records the events; idempotent per event, so that replaying the log rebuilds
the same rows."""

from __future__ import annotations

import datetime as dt

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
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
from services.platform.rebuild import ReadModel, update_view

__all__ = ["READ_MODEL", "project"]


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one recorded event into ``payment_view`` or ``refund_payout_view``."""
    match event:
        case PaymentExpected():
            await conn.execute(
                "INSERT INTO payment_view (order_id, version, buyer_id, amount_cents, status, "
                "personal, updated_at) VALUES ($1, $2, $3, $4, 'awaiting_payment', $5, $6) "
                "ON CONFLICT (order_id) DO NOTHING", envelope.order_id, envelope.version,
                event.buyer_id, event.amount_cents, event.personal.model_dump(mode="json"),
                envelope.occurred_at)
        case PaymentAmountReduced():
            await _update(conn, envelope, amount_cents=event.amount_cents)
        case PaymentsHeld() | PaymentsReleased():
            await _update(conn, envelope, held=isinstance(event, PaymentsHeld))
        case PaymentSessionOpened():
            await _update(conn, envelope, status="awaiting_payment", payment_id=event.payment_id)
        case PaymentAuthorised():
            await _update(conn, envelope, status="authorised", payment_id=event.payment_id,
                          authorisation_code=event.authorisation_code)
        case PaymentDeclined():
            await _update(conn, envelope, status="declined", decline_reason=event.reason)
        case PaymentCaptureAsked():
            await _update(conn, envelope, capture_asked=True)
        case PaymentCaptured():
            await _update(conn, envelope, status="captured", captured_cents=event.amount_cents)
        case PaymentCaptureRefused():
            await _update(conn, envelope, status="capture_refused", decline_reason=event.code)
        case PaymentDisputeOpened() | PaymentDisputeClosed():
            await _update(conn, envelope,
                          dispute_open=isinstance(event, PaymentDisputeOpened))
        case VerificationRequested():
            await _update(conn, envelope, verification="requested")
        case VerificationCompleted():
            await _update(conn, envelope, verification=event.outcome)
        case PaymentNotificationRejected():
            await conn.execute(
                "UPDATE payment_view SET rejected_notifications = rejected_notifications + 1, "
                "version = $2, updated_at = $3 WHERE order_id = $1 AND version < $2",
                envelope.order_id, envelope.version, envelope.occurred_at)
        case RefundPayoutOrdered() | RefundPaid() | RefundPayoutDeclined():
            await _upsert_payout(conn, envelope, event)


READ_MODEL = ReadModel(service="payments", project=project,
                       tables=("payment_view", "refund_payout_view"))
"""What ``python -m services.payments.main rebuild`` replays."""


async def _update(conn: asyncpg.Connection, envelope: Envelope, **columns: object) -> None:
    await update_view(conn, "payment_view", envelope, **columns)


_PAYOUT_UPSERT = (
    "INSERT INTO refund_payout_view (order_id, refund_id, version, updated_at, attempt, "
    "amount_cents, status, code, reason, bank_reference, paid_on) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (order_id, refund_id) DO UPDATE SET version = EXCLUDED.version, "
    "updated_at = EXCLUDED.updated_at, attempt = EXCLUDED.attempt, "
    "amount_cents = CASE WHEN EXCLUDED.status = 'declined' "
    "AND EXCLUDED.attempt = refund_payout_view.attempt THEN refund_payout_view.amount_cents "
    "ELSE EXCLUDED.amount_cents END, status = EXCLUDED.status, code = EXCLUDED.code, "
    "reason = EXCLUDED.reason, bank_reference = EXCLUDED.bank_reference, "
    "paid_on = EXCLUDED.paid_on WHERE refund_payout_view.version < EXCLUDED.version")

PayoutValues = tuple[int, int, str, str | None, str | None, str | None, dt.date | None]


async def _upsert_payout(conn: asyncpg.Connection, envelope: Envelope,
                         event: RefundPayoutOrdered | RefundPaid | RefundPayoutDeclined) -> None:
    """The refund's row as of this event (a declined attempt keeps the amount it was ordered
    for); an event the row already reflects changes nothing."""
    await conn.execute(_PAYOUT_UPSERT, envelope.order_id, event.refund_id, envelope.version,
                       envelope.occurred_at, *_payout_values(event))


def _payout_values(event: RefundPayoutOrdered | RefundPaid | RefundPayoutDeclined
                   ) -> PayoutValues:
    """attempt, amount, status, code, reason, bank reference and payment date of the row."""
    match event:
        case RefundPayoutOrdered():
            return event.attempt, event.amount_cents, "ordered", None, None, None, None
        case RefundPaid():
            return (event.attempt, event.amount_cents, "paid", None, None, event.bank_reference,
                    event.paid_on)
    return event.attempt, 0, "declined", event.code, event.reason, None, None
