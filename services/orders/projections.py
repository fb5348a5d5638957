"""The orders read model (``order_view``), updated in the transaction that records the events.

Written as data (``changes``, ``services.platform.changes``): applied live one statement per
change, folded a window at a time by a rebuild. Idempotent per event (an event older than the
row's version changes nothing, a document already there is not inserted again), so that
replaying the log, records published twice included, rebuilds the same rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import (
    BillingDataRetained,
    BillingRetentionEnded,
    BuyerDataErased,
    BuyerDataErasureDeferred,
    BuyerDataRestricted,
    CancelledLinePaid,
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
    OrderDeliveryOverdueWithdrawn,
    OrderLineCancelled,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    OrderUnblocked,
    OrderVerified,
    PaymentReceivedAfterCancellation,
    PerformanceRequested,
    PersonalDataRectified,
    ProofOfDispatchReceived,
    TerminationVoided,
    UnavailabilityNotified,
    WithdrawalRequested,
)
from services.platform.changes import Change, Insert, MergeEntry, Table, Update
from services.platform.rebuild import ReadModel

__all__ = ["READ_MODEL", "changes", "project"]


ORDERS = Table("order_view")
INVOICES = Table("invoice_view")
CREDIT_NOTES = Table("credit_note_view", key="credit_note_id")


def changes(envelope: Envelope, event: Event) -> list[Change]:
    """What one recorded event changes in ``order_view`` and the documents' views."""
    # looked up by type, not matched: a match tries each class in turn, and an isinstance
    # check of a pydantic model costs a quarter of a microsecond when it fails
    kind = type(event)
    if (columns := _COLUMNS.get(kind)) is not None:
        return [Update(ORDERS, envelope.order_id, columns(event), envelope.version,
                       envelope.occurred_at)]
    if (line := _LINE_CHANGES.get(kind)) is not None:
        sku: str = getattr(event, "sku")  # every line's event names its line  # noqa: B009
        return [MergeEntry(ORDERS, envelope.order_id, "line_changes", sku, line(event),
                           envelope.version, envelope.occurred_at)]
    if (document := _DOCUMENTS.get(kind)) is not None:
        return document(envelope, event)
    return []


_COLUMNS: dict[type[Event], Callable[[Any], dict[str, object]]] = {
    OrderBlocked: lambda event: {"blocked": True, "block_reason": event.reason},
    OrderUnblocked: lambda event: {"blocked": False, "block_reason": None, **(
        {"payable_since": event.unblocked_at} if event.unblocked_at else {})},
    PersonalDataRectified: lambda event: {"personal": event.personal.model_dump(mode="json")},
    BuyerDataRestricted: lambda event: {"personal_data": "restricted",
                                        "restricted_until": event.until},
    BuyerDataErased: lambda event: {"personal_data": "erased"},
    BuyerDataErasureDeferred: lambda event: {"erasure_requested_at": event.requested_at},
    BillingDataRetained: lambda event: {
        "billing_retained": event.billed_to.model_dump(mode="json"),
        "billing_retained_until": event.until},
    BillingRetentionEnded: lambda event: {"billing_retention_ended": event.ended_on},
    OrderPaid: lambda event: {"paid_at": event.paid_at, "paid_cents": event.amount_cents},
    PaymentReceivedAfterCancellation: lambda event: {"paid_at": event.received_at,
                                                     "paid_cents": event.amount_cents,
                                                     "refund_owed_cents": event.amount_cents},
    ConfirmationSent: lambda event: {"confirmation_sent_at": event.sent_at},
    OrderAwaitingVerification: lambda event: {"verification": "pending"},
    OrderVerified: lambda event: {"verification": "passed"},
    OrderCancelled: lambda event: {"status": "cancelled", "cancelled_at": event.cancelled_at,
                                   "cancel_reason": event.reason},
    OrderShipped: lambda event: {"status": "shipped", "shipped_at": event.shipped_at},
    OrderDelivered: lambda event: {"status": "delivered", "delivered_on": event.delivered_on},
    OrderDeliveryOverdue: lambda event: {"overdue_deadline": event.deadline},
    OrderDeliveryOverdueWithdrawn: lambda event: {"overdue_deadline": None, "perform_by": None},
    PerformanceRequested: lambda event: {"perform_by": event.additional_deadline},
    ContractTerminated: lambda event: {"status": "terminated",
                                       "terminated_on": event.received_on,
                                       "refund_owed_cents": event.refund_cents},
    # the delivery recorded with it sets the status; the termination owes nothing any more
    TerminationVoided: lambda event: {"status": "shipped", "terminated_on": None,
                                      "refund_owed_cents": None},
    WithdrawalRequested: lambda event: {
        "status": "withdrawn", "withdrawal": event.model_dump(mode="json"),
        "refund_owed_cents": event.products_refund_cents + event.delivery_refund_cents},
    ProofOfDispatchReceived: lambda event: {"proof_of_dispatch_on": event.dispatched_on},
    OrderConfirmed: lambda event: {"status": "confirmed", "confirmed_at": event.confirmed_at},
}
"""The columns of the order's row each event sets (with the order's version)."""

_LINE_CHANGES: dict[type[Event], Callable[[Any], dict[str, object]]] = {
    LineUnavailable: lambda event: {"state": "unavailable",
                                    "reply_by": event.reply_by.isoformat()},
    UnavailabilityNotified: lambda event: {"notified": event.message_id, **(
        {"reply_by": event.reply_by.isoformat()} if event.reply_by else {})},
    OrderLineCancelled: lambda event: {
        "state": "cancelled", "cause": event.cause, "refund_cents": event.refund_cents,
        "cancelled_on": event.cancelled_on.isoformat()},
    CancelledLinePaid: lambda event: {"paid_on": event.paid_on.isoformat(),
                                      "owed_back_cents": event.refund_cents},
    LineExchanged: lambda event: {"state": "exchanged",
                                  "replacement_sku": event.replacement_sku},
}
"""What each line's event says of the line, merged into ``line_changes[sku]``."""


def _placed(envelope: Envelope, event: OrderPlaced) -> list[Change]:
    data = event.model_dump(mode="json", include={"lines", "personal"})
    return [Insert(ORDERS, {
        "order_id": envelope.order_id, "version": envelope.version, "buyer_id": event.buyer_id,
        "status": "placed", "lines": data["lines"], "personal": data["personal"],
        "delivery_method": event.delivery_method,
        "delivery_charge_cents": event.delivery_charge_cents,
        "products_total_cents": event.products_total_cents, "total_cents": event.total_cents,
        "terms_version": event.terms_version, "placed_at": event.validated_at,
        "payable_since": event.validated_at,
        "updated_at": event.validated_at, "line_changes": {}}, if_absent=True)]


def _invoice(envelope: Envelope, event: InvoiceIssued) -> list[Change]:
    return [Insert(INVOICES, {
        "order_id": envelope.order_id, "invoice_id": event.invoice_id, "number": event.number,
        "issued_on": event.issued_on, "total_excl_vat_cents": event.total_excl_vat_cents,
        "vat_cents": event.vat_cents, "total_incl_vat_cents": event.total_incl_vat_cents},
        if_absent=True),
        # the invoicing pass's work list (not the order's version: an invoice is a document)
        Update(ORDERS, envelope.order_id, {"invoiced": True})]


def _credit_note(envelope: Envelope, event: CreditNoteIssued) -> list[Change]:
    return [Insert(CREDIT_NOTES, {
        "credit_note_id": event.credit_note_id, "number": event.number,
        "order_id": envelope.order_id, "invoice_id": event.invoice_id,
        "refund_id": event.refund_id, "issued_on": event.issued_on,
        "total_incl_vat_cents": event.total_incl_vat_cents,
        "surcharge_cents": event.surcharge_cents}, if_absent=True)]


_DOCUMENTS: dict[type[Event], Callable[[Envelope, Any], list[Change]]] = {
    OrderPlaced: _placed, InvoiceIssued: _invoice, CreditNoteIssued: _credit_note}
"""The events that insert a row: the order's, its invoice's, a credit note's."""


READ_MODEL = ReadModel.of_changes("orders", changes,
                                  (ORDERS.name, INVOICES.name, CREDIT_NOTES.name))
"""What ``python -m services.orders.main rebuild`` replays."""

project = READ_MODEL.project
"""Fold one recorded event into ``order_view`` (live: one statement per change)."""
