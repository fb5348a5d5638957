"""The orders read model (``order_view``), updated in the transaction that records the events.

Written as data (``changes``, ``services.platform.changes``): applied live one statement per
change, folded a window at a time by a rebuild. Idempotent per event (an event older than the
row's version changes nothing, a document already there is not inserted again), so that
replaying the log, records published twice included, rebuilds the same rows.
"""

from __future__ import annotations

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
from services.platform.changes import Change, Insert, MergeEntry, Table, Update, projection
from services.platform.rebuild import ReadModel

__all__ = ["READ_MODEL", "changes", "project"]


ORDERS = Table("order_view")
INVOICES = Table("invoice_view")
CREDIT_NOTES = Table("credit_note_view", key="credit_note_id")


def changes(envelope: Envelope, event: Event) -> list[Change]:
    """What one recorded event changes in ``order_view`` and the documents' views."""
    match event:
        case OrderPlaced():
            return [_placed(envelope, event)]
        case InvoiceIssued():
            return [Insert(INVOICES, {
                "order_id": envelope.order_id, "invoice_id": event.invoice_id,
                "number": event.number, "issued_on": event.issued_on,
                "total_excl_vat_cents": event.total_excl_vat_cents, "vat_cents": event.vat_cents,
                "total_incl_vat_cents": event.total_incl_vat_cents}, if_absent=True),
                # the invoicing pass's work list (not the order's version: an invoice is a
                # document)
                Update(ORDERS, envelope.order_id, {"invoiced": True})]
        case CreditNoteIssued():
            return [Insert(CREDIT_NOTES, {
                "credit_note_id": event.credit_note_id, "number": event.number,
                "order_id": envelope.order_id, "invoice_id": event.invoice_id,
                "refund_id": event.refund_id, "issued_on": event.issued_on,
                "total_incl_vat_cents": event.total_incl_vat_cents,
                "surcharge_cents": event.surcharge_cents}, if_absent=True)]
        case LineUnavailable() | UnavailabilityNotified() | OrderLineCancelled() \
                | LineExchanged():
            return [MergeEntry(ORDERS, envelope.order_id, "line_changes", event.sku,
                               _line_change(event), envelope.version, envelope.occurred_at)]
    columns = _columns(event)
    if columns is None:
        return []
    return [Update(ORDERS, envelope.order_id, columns, envelope.version, envelope.occurred_at)]


project = projection(changes)
"""Fold one recorded event into ``order_view`` (live: one statement per change)."""


def _columns(event: Event) -> dict[str, object] | None:
    """The columns of the order's row an event sets (None: it changes none)."""
    match event:
        case OrderBlocked():
            return {"blocked": True, "block_reason": event.reason}
        case OrderUnblocked():
            return {"blocked": False, "block_reason": None}
        case PersonalDataRectified():
            return {"personal": event.personal.model_dump(mode="json")}
        case BuyerDataRestricted():
            return {"personal_data": "restricted", "restricted_until": event.until}
        case BuyerDataErased():
            return {"personal_data": "erased"}
        case OrderPaid():
            return {"paid_at": event.paid_at}
        case ConfirmationSent():
            return {"confirmation_sent_at": event.sent_at}
        case OrderAwaitingVerification():
            return {"verification": "pending"}
        case OrderVerified():
            return {"verification": "passed"}
        case OrderCancelled():
            return {"status": "cancelled", "cancelled_at": event.cancelled_at,
                    "cancel_reason": event.reason}
        case OrderShipped():
            return {"status": "shipped", "shipped_at": event.shipped_at}
        case OrderDelivered():
            return {"status": "delivered", "delivered_on": event.delivered_on}
        case OrderDeliveryOverdue():
            return {"overdue_deadline": event.deadline}
        case PerformanceRequested():
            return {"perform_by": event.additional_deadline}
        case ContractTerminated():
            return {"status": "terminated", "terminated_on": event.received_on,
                    "refund_owed_cents": event.refund_cents}
        case WithdrawalRequested():
            return {"status": "withdrawn", "withdrawal": event.model_dump(mode="json"),
                    "refund_owed_cents": event.products_refund_cents
                    + event.delivery_refund_cents}
        case ProofOfDispatchReceived():
            return {"proof_of_dispatch_on": event.dispatched_on}
        case OrderConfirmed():
            return {"status": "confirmed", "confirmed_at": event.confirmed_at}
    return None


READ_MODEL = ReadModel(service="orders", project=project, changes=changes,
                       tables=(ORDERS.name, INVOICES.name, CREDIT_NOTES.name))
"""What ``python -m services.orders.main rebuild`` replays."""


def _placed(envelope: Envelope, event: OrderPlaced) -> Insert:
    data = event.model_dump(mode="json")
    return Insert(ORDERS, {
        "order_id": envelope.order_id, "version": envelope.version, "buyer_id": event.buyer_id,
        "status": "placed", "lines": data["lines"], "personal": data["personal"],
        "delivery_method": event.delivery_method,
        "delivery_charge_cents": event.delivery_charge_cents,
        "products_total_cents": event.products_total_cents, "total_cents": event.total_cents,
        "terms_version": event.terms_version, "placed_at": event.validated_at,
        "updated_at": event.validated_at, "line_changes": {}}, if_absent=True)


def _line_change(event: Event) -> dict[str, object]:
    """What a line's event says of the line, merged into ``line_changes[sku]``."""
    match event:
        case LineUnavailable():
            return {"state": "unavailable", "reply_by": event.reply_by.isoformat()}
        case UnavailabilityNotified():
            return {"notified": event.message_id}
        case OrderLineCancelled():
            return {"state": "cancelled", "cause": event.cause,
                    "refund_cents": event.refund_cents,
                    "cancelled_on": event.cancelled_on.isoformat()}
        case LineExchanged():
            return {"state": "exchanged", "replacement_sku": event.replacement_sku}
    raise TypeError(f"{type(event).__name__} changes no line")
