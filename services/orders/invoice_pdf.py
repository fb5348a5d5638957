"""An invoice as PDF, rendered from recorded events only (``InvoiceIssued``, the order's
opened personal data and its credit notes). ReportLab's invariant mode leaves out the creation
date and random ids, so the same events always give the same bytes: an auditor can regenerate
the file and compare it."""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from contracts.orders import CreditNoteIssued, InvoiceIssued
from contracts.vocabulary import DeliveryAddress

__all__ = ["invoice_pdf"]


def invoice_pdf(issued: InvoiceIssued, billed_to: DeliveryAddress | None,
                credit_notes: Sequence[CreditNoteIssued]) -> bytes:
    """The invoice (and its credit notes) as a one-page PDF."""
    out = io.BytesIO()
    page = Canvas(out, pagesize=A4, invariant=1, pageCompression=0)
    page.setTitle(f"Invoice {issued.invoice_id}")
    y = _header(page, issued, A4[1] - 20 * mm)
    y = _buyer(page, billed_to, y - 8 * mm)
    y = _lines(page, issued, y - 8 * mm)
    y = _totals(page, issued, y - 4 * mm)
    for note in credit_notes:
        y = _credit_note(page, note, y - 6 * mm)
    page.setFont("Helvetica", 8)
    page.drawString(20 * mm, 15 * mm, f"Terms accepted: {issued.terms_version}. "
                    f"VAT data: {issued.vat_version}.")
    page.showPage()
    page.save()
    return out.getvalue()


def _header(page: Canvas, issued: InvoiceIssued, y: float) -> float:
    page.setFont("Helvetica-Bold", 14)
    page.drawString(20 * mm, y, f"Invoice {issued.invoice_id}")
    page.setFont("Helvetica", 9)
    for line in (issued.seller, f"Intracommunity VAT number {issued.seller_vat_number}",
                 f"Invoice number {issued.number}, issued on {issued.issued_on.isoformat()}"):
        y -= 5 * mm
        page.drawString(20 * mm, y, line)
    return y


def _buyer(page: Canvas, address: DeliveryAddress | None, y: float) -> float:
    page.setFont("Helvetica-Bold", 10)
    page.drawString(20 * mm, y, "Billed to")
    page.setFont("Helvetica", 9)
    if address is None:
        lines = ["[erased]"]
    else:
        lines = [address.recipient, address.street, *([address.street_extra]
                 if address.street_extra else []), f"{address.postcode} {address.city}"]
    for line in lines:
        y -= 5 * mm
        page.drawString(20 * mm, y, line)
    return y


_COLUMNS = ((20, "Item"), (105, "Qty"), (118, "Unit excl. VAT"), (145, "VAT"),
            (160, "VAT amount"), (182, "Total incl. VAT"))


def _lines(page: Canvas, issued: InvoiceIssued, y: float) -> float:
    page.setFont("Helvetica-Bold", 8)
    for x, title in _COLUMNS:
        page.drawString(x * mm, y, title)
    page.setFont("Helvetica", 8)
    for line in issued.lines:
        y -= 5 * mm
        cells = (line.label[:55], str(line.quantity), _euros(line.unit_price_excl_vat_cents),
                 f"{line.vat_rate} %", _euros(line.vat_cents), _euros(line.total_incl_vat_cents))
        for (x, _), cell in zip(_COLUMNS, cells, strict=True):
            page.drawString(x * mm, y, cell)
    return y


def _totals(page: Canvas, issued: InvoiceIssued, y: float) -> float:
    page.setFont("Helvetica-Bold", 9)
    for label, cents in (("Total excl. VAT", issued.total_excl_vat_cents),
                         ("VAT", issued.vat_cents),
                         ("Total incl. VAT (paid)", issued.total_incl_vat_cents)):
        y -= 5 * mm
        page.drawString(130 * mm, y, label)
        page.drawRightString(200 * mm, y, _euros(cents))
    return y


def _credit_note(page: Canvas, note: CreditNoteIssued, y: float) -> float:
    page.setFont("Helvetica", 9)
    page.drawString(20 * mm, y, (
        f"Credit note {note.credit_note_id} of {note.issued_on.isoformat()} on this invoice: "
        f"{_euros(note.total_incl_vat_cents)} incl. VAT ({_euros(note.vat_cents)} VAT) "
        f"refunded; late-refund surcharge {_euros(note.surcharge_cents)} (outside VAT)"))
    return y


def _euros(cents: int) -> str:
    return f"{cents // 100:,}.{cents % 100:02d} EUR".replace(",", " ")
