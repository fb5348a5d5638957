"""The orders read model (``order_view``), updated in the transaction that records the events.

Idempotent per event (an event older than the row's version changes nothing), so that replaying
the log rebuilds the same rows.
"""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import (
    BuyerDataErased,
    BuyerDataRestricted,
    ConfirmationSent,
    ContractTerminated,
    CreditNoteIssued,
    InvoiceIssued,
    LineExchanged,
    LineUnavailable,
    OrderAwaitingVerification,
    OrderBlocked,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderDeliveryOverdue,
    OrderLineCancelled,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    OrderUnblocked,
    OrderVerified,
    PerformanceRequested,
    PersonalDataRectified,
    ProofOfDispatchReceived,
    UnavailabilityNotified,
    WithdrawalRequested,
)
from services.platform.rebuild import ReadModel, update_view

__all__ = ["READ_MODEL", "project"]


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one recorded event into ``order_view``."""
    match event:
        case OrderPlaced():
            await _insert_placed(conn, envelope, event)
        case InvoiceIssued():
            await conn.execute(
                "INSERT INTO invoice_view VALUES ($1, $2, $3, $4, $5, $6, $7)",
                envelope.order_id, event.invoice_id, event.number, event.issued_on,
                event.total_excl_vat_cents, event.vat_cents, event.total_incl_vat_cents)
            # the invoicing pass's work list (not the order's version: an invoice is a document)
            await conn.execute("UPDATE order_view SET invoiced = true WHERE order_id = $1",
                               envelope.order_id)
        case CreditNoteIssued():
            await conn.execute(
                "INSERT INTO credit_note_view VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                event.credit_note_id, event.number, envelope.order_id, event.invoice_id,
                event.refund_id, event.issued_on, event.total_incl_vat_cents,
                event.surcharge_cents)
        case OrderBlocked():
            await _update(conn, envelope, blocked=True, block_reason=event.reason)
        case OrderUnblocked():
            await _update(conn, envelope, blocked=False, block_reason=None)
        case PersonalDataRectified():
            await _update(conn, envelope, personal=event.personal.model_dump(mode="json"))
        case BuyerDataRestricted():
            await _update(conn, envelope, personal_data="restricted",
                          restricted_until=event.until)
        case BuyerDataErased():
            await _update(conn, envelope, personal_data="erased")
        case OrderPaid():
            await _update(conn, envelope, paid_at=event.paid_at)
        case ConfirmationSent():
            await _update(conn, envelope, confirmation_sent_at=event.sent_at)
        case OrderAwaitingVerification() | OrderVerified():
            await _update(conn, envelope, verification="pending"
                          if isinstance(event, OrderAwaitingVerification) else "passed")
        case OrderCancelled():
            await _update(conn, envelope, status="cancelled", cancelled_at=event.cancelled_at,
                          cancel_reason=event.reason)
        case OrderShipped():
            await _update(conn, envelope, status="shipped", shipped_at=event.shipped_at)
        case OrderDelivered():
            await _update(conn, envelope, status="delivered", delivered_on=event.delivered_on)
        case OrderDeliveryOverdue():
            await _update(conn, envelope, overdue_deadline=event.deadline)
        case PerformanceRequested():
            await _update(conn, envelope, perform_by=event.additional_deadline)
        case ContractTerminated():
            await _update(conn, envelope, status="terminated", terminated_on=event.received_on,
                          refund_owed_cents=event.refund_cents)
        case WithdrawalRequested():
            await _update(conn, envelope, status="withdrawn",
                          withdrawal=event.model_dump(mode="json"),
                          refund_owed_cents=event.products_refund_cents
                          + event.delivery_refund_cents)
        case ProofOfDispatchReceived():
            await _update(conn, envelope, proof_of_dispatch_on=event.dispatched_on)
        case LineUnavailable():
            await _line(conn, envelope, event.sku, {"state": "unavailable",
                                                    "reply_by": event.reply_by.isoformat()})
        case UnavailabilityNotified():
            await _line(conn, envelope, event.sku, {"notified": event.message_id})
        case OrderLineCancelled():
            await _line(conn, envelope, event.sku, {
                "state": "cancelled", "cause": event.cause, "refund_cents": event.refund_cents,
                "cancelled_on": event.cancelled_on.isoformat()})
        case LineExchanged():
            await _line(conn, envelope, event.sku, {"state": "exchanged",
                                                    "replacement_sku": event.replacement_sku})
        case OrderConfirmed():
            await _update(conn, envelope, status="confirmed", confirmed_at=event.confirmed_at)


READ_MODEL = ReadModel(service="orders", project=project,
                       tables=("order_view", "invoice_view", "credit_note_view"))
"""What ``python -m services.orders.main rebuild`` replays."""


async def _insert_placed(conn: asyncpg.Connection, envelope: Envelope, event: OrderPlaced) -> None:
    data = event.model_dump(mode="json")
    await conn.execute(
        "INSERT INTO order_view (order_id, version, buyer_id, status, lines, personal, "
        "delivery_method, delivery_charge_cents, products_total_cents, total_cents, "
        "terms_version, placed_at, updated_at) "
        "VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7, $8, $9, $10, $11, $11) "
        "ON CONFLICT (order_id) DO NOTHING",
        envelope.order_id, envelope.version, event.buyer_id, data["lines"],
        data["personal"], event.delivery_method, event.delivery_charge_cents,
        event.products_total_cents, event.total_cents, event.terms_version, event.validated_at)


async def _update(conn: asyncpg.Connection, envelope: Envelope, **columns: object) -> None:
    await update_view(conn, "order_view", envelope, **columns)


async def _line(conn: asyncpg.Connection, envelope: Envelope, sku: str,
                changes: dict[str, object]) -> None:
    """Merge ``changes`` into what the read model says of line ``sku``."""
    await conn.execute(
        "UPDATE order_view SET line_changes = jsonb_set(line_changes, ARRAY[$4::text], "
        "coalesce(line_changes->$4, '{}'::jsonb) || $5::jsonb), version = $2, updated_at = $3 "
        "WHERE order_id = $1 AND version < $2",
        envelope.order_id, envelope.version, envelope.occurred_at, sku, changes)
