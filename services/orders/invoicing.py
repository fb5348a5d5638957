"""Invoices and credit notes, decided from the order's own history (pure: no I/O, no clock).

An invoice is due once the order is confirmed and not yet invoiced; it bills what was paid:
each line at its VAT-inclusive price as ordered, and the delivery charges, each with the VAT it
contains (rates from ``vat_rates.json``, versioned like the policies). The VAT-exclusive part
of a line is rounded to the cent and the VAT is the remainder, so every line, and the invoice,
add up to the amount paid to the cent. A paid refund gets a credit note on that invoice: the
refunded price and its VAT, and the late-refund surcharge apart (compensation, outside VAT).
Numbers are allocated by the caller, in the transaction that records the document.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from contracts.base import Event
from contracts.orders import (
    CancelledLinePaid,
    CreditNoteIssued,
    InvoiceIssued,
    InvoiceLine,
    OrderConfirmed,
    OrderLineCancelled,
    OrderPlaced,
)

__all__ = ["VatData", "credit_note", "credit_note_due", "invoice", "invoice_due", "vat_data"]


class VatData:
    """One version of the VAT rates and the seller's identity printed on invoices."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw["version"]
        self.seller: str = raw["seller"]
        self.seller_vat_number: str = raw["seller_vat_number"]
        self.percent = {kind: Decimal(value) for kind, value in raw["percent"].items()}


@lru_cache(maxsize=1)
def vat_data() -> VatData:
    """The latest VAT data shipped with the service."""
    text = resources.files(__package__).joinpath("vat_rates.json").read_text(encoding="utf-8")
    return VatData(json.loads(text)["versions"][-1])


def invoice_due(history: Sequence[Event]) -> bool:
    """Confirmed, and no invoice yet."""
    return (any(isinstance(e, OrderConfirmed) for e in history)
            and not any(isinstance(e, InvoiceIssued) for e in history))


def invoice(history: Sequence[Event], number: int, today: dt.date,
            vat: VatData) -> InvoiceIssued:
    """Invoice ``number`` for the order's lines and delivery as placed and paid: a line
    cancelled before the payment and never charged is not sold (one charged is credited when
    it is refunded)."""
    placed = next(e for e in history if isinstance(e, OrderPlaced))
    waived = _never_charged(history)
    lines = [_line(f"{line.name} ({line.sku})", line.quantity, line.unit_price_cents,
                   vat.percent["wine"]) for line in placed.lines if line.sku not in waived]
    if placed.delivery_charge_cents:
        lines.append(_line(f"Delivery ({placed.delivery_method})", 1,
                           placed.delivery_charge_cents, vat.percent["delivery"]))
    return InvoiceIssued(
        number=number, invoice_id=f"F{today.year}-{number:06d}", issued_on=today,
        seller=vat.seller, seller_vat_number=vat.seller_vat_number, lines=tuple(lines),
        total_excl_vat_cents=sum(line.total_excl_vat_cents for line in lines),
        vat_cents=sum(line.vat_cents for line in lines),
        total_incl_vat_cents=sum(line.total_incl_vat_cents for line in lines),
        vat_version=vat.version, terms_version=placed.terms_version)


def _never_charged(history: Sequence[Event]) -> set[str]:
    """The lines cancelled before the payment that it did not pay."""
    cancelled = {e.sku for e in history if isinstance(e, OrderLineCancelled) and not e.paid_on}
    return cancelled - {e.sku for e in history if isinstance(e, CancelledLinePaid)}


def credit_note_due(history: Sequence[Event], refund_id: str) -> InvoiceIssued | None:
    """The invoice a refund is to be credited on (None: nothing invoiced, or already done)."""
    invoiced = next((e for e in history if isinstance(e, InvoiceIssued)), None)
    credited = any(isinstance(e, CreditNoteIssued) and e.refund_id == refund_id
                   for e in history)
    return None if credited else invoiced


def credit_note(on: InvoiceIssued, number: int, refund_id: str, base_cents: int,
                surcharge_cents: int, today: dt.date, vat: VatData) -> CreditNoteIssued:
    """Credit note ``number`` for ``base_cents`` refunded on invoice ``on``."""
    excl = _excl(base_cents, vat.percent["wine"])
    return CreditNoteIssued(
        number=number, credit_note_id=f"A{today.year}-{number:06d}", invoice_id=on.invoice_id,
        refund_id=refund_id, issued_on=today, total_excl_vat_cents=excl,
        vat_cents=base_cents - excl, total_incl_vat_cents=base_cents,
        surcharge_cents=surcharge_cents, vat_version=vat.version)


def _line(label: str, quantity: int, unit_incl: int, percent: Decimal) -> InvoiceLine:
    total = unit_incl * quantity
    excl = _excl(total, percent)
    return InvoiceLine(label=label, quantity=quantity, unit_price_incl_vat_cents=unit_incl,
                       unit_price_excl_vat_cents=_excl(unit_incl, percent), vat_rate=percent,
                       total_excl_vat_cents=excl, vat_cents=total - excl,
                       total_incl_vat_cents=total)


def _excl(incl_cents: int, percent: Decimal) -> int:
    """The VAT-exclusive part of a VAT-inclusive amount, to the cent (half to even)."""
    return int((Decimal(incl_cents) * 100 / (100 + percent)).quantize(
        Decimal(1), rounding=ROUND_HALF_EVEN))
