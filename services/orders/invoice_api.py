"""The order's invoice and credit notes, as JSON and as PDF (the buyer's own, ops, auditors)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel

from contracts.orders import CreditNoteIssued, InvoiceIssued
from contracts.vocabulary import DeliveryAddress
from services.orders.invoice_pdf import invoice_pdf
from services.orders.invoices import billed_to, recorded_documents
from services.orders.views import order_record
from services.platform.auth import Allow, Principal
from services.platform.http import NO_CONTROL_CHARACTERS, ProblemError, problem_responses
from services.platform.personal import PostgresKeyStore
from services.platform.runtime import Runtime
from services.platform.service_app import RuntimeDep

__all__ = ["router"]

OrderId = Annotated[str, Path(min_length=1, max_length=100, pattern=NO_CONTROL_CHARACTERS)]
router = APIRouter(tags=["invoices"], responses=problem_responses(400, 401, 403, 404, 422))
Reader = Annotated[Principal, Allow("buyer", "shop", "ops", "auditor")]


class InvoiceDocuments(BaseModel):
    """The order's invoice, whom it bills (the billing address, else the delivery address;
    once the buyer's data is erased, as kept for the billing retention, and none after it;
    ``[restricted]`` to roles other than the buyer and auditors while the data is restricted
    or kept), and the credit notes issued on it."""

    invoice: InvoiceIssued
    billed_to: DeliveryAddress | None
    credit_notes: list[CreditNoteIssued]


@router.get("/orders/{order_id}/invoice")
async def get_invoice(order_id: OrderId, runtime: RuntimeDep, caller: Reader) -> InvoiceDocuments:
    """The invoice issued when the sale became final, and its credit notes, as recorded."""
    issued, notes, billed = await _documents(runtime, order_id, caller)
    return InvoiceDocuments(invoice=issued, billed_to=billed, credit_notes=list(notes))


@router.get("/orders/{order_id}/invoice.pdf", response_class=Response, responses={
    200: {"description": "the invoice as PDF", "content": {"application/pdf": {}}}})
async def get_invoice_pdf(order_id: OrderId, runtime: RuntimeDep, caller: Reader) -> Response:
    """The invoice as PDF, rendered from the recorded events (the same bytes every time)."""
    issued, notes, billed = await _documents(runtime, order_id, caller)
    return Response(invoice_pdf(issued, billed, notes), media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{issued.invoice_id}.pdf"'})


async def _documents(runtime: Runtime, order_id: str, caller: Principal,
                     ) -> tuple[InvoiceIssued, list[CreditNoteIssued], DeliveryAddress | None]:
    record = await order_record(runtime.pool, order_id)
    if record is None or (caller.role == "buyer" and record.buyer_id != caller.subject):
        raise ProblemError(404, "order-not-found", "Order not found", f"no order {order_id}")
    issued, notes = await recorded_documents(runtime.pool, order_id)
    if issued is None:
        raise ProblemError(404, "invoice-not-found", "No invoice yet",
                           "an invoice is issued once the sale is final (order confirmed)")
    reveal = caller.role in ("buyer", "auditor")  # restricted or kept data: theirs alone
    return issued, notes, await billed_to(PostgresKeyStore(runtime.pool), record, reveal)
