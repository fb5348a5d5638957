"""The payments read model (``payment_view``), updated in the transaction that records the
events; idempotent per event, so that replaying the log rebuilds the same rows."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.payments import (
    PaymentAuthorised,
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
    VerificationCompleted,
    VerificationRequested,
)
from services.platform.rebuild import ReadModel, update_view

__all__ = ["READ_MODEL", "project"]


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one recorded event into ``payment_view``."""
    match event:
        case PaymentExpected():
            await conn.execute(
                "INSERT INTO payment_view (order_id, version, buyer_id, amount_cents, status, "
                "personal, updated_at) VALUES ($1, $2, $3, $4, 'awaiting_payment', $5, $6) "
                "ON CONFLICT (order_id) DO NOTHING", envelope.order_id, envelope.version,
                event.buyer_id, event.amount_cents, event.personal.model_dump(mode="json"),
                envelope.occurred_at)
        case PaymentsHeld() | PaymentsReleased():
            await _update(conn, envelope, held=isinstance(event, PaymentsHeld))
        case PaymentSessionOpened():
            await _update(conn, envelope, status="awaiting_payment", payment_id=event.payment_id)
        case PaymentAuthorised():
            await _update(conn, envelope, status="authorised", payment_id=event.payment_id,
                          authorisation_code=event.authorisation_code)
        case PaymentDeclined():
            await _update(conn, envelope, status="declined", decline_reason=event.reason)
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


READ_MODEL = ReadModel(service="payments", project=project, tables=("payment_view",))
"""What ``python -m services.payments.main rebuild`` replays."""


async def _update(conn: asyncpg.Connection, envelope: Envelope, **columns: object) -> None:
    await update_view(conn, "payment_view", envelope, **columns)
