"""Invoices and credit notes from the order's history: given events, then the document."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from contracts.orders import (
    CancelledLinePaid,
    CreditNoteIssued,
    InvoiceIssued,
    OrderLineCancelled,
)
from services.orders.invoicing import credit_note, credit_note_due, invoice, invoice_due, vat_data
from tests.unit.orders.test_orders_after_sale import CONFIRMED, PAID, PLACED

TODAY = dt.date(2026, 6, 4)


def test_an_invoice_is_due_once_confirmed_and_only_once() -> None:
    assert not invoice_due([PLACED, PAID])
    assert invoice_due([PLACED, PAID, CONFIRMED])
    issued = invoice([PLACED, PAID, CONFIRMED], 7, TODAY, vat_data())
    assert not invoice_due([PLACED, PAID, CONFIRMED, issued])


def test_the_invoice_bills_what_was_paid_to_the_cent_with_its_vat() -> None:
    issued = invoice([PLACED, PAID, CONFIRMED], 7, TODAY, vat_data())
    assert (issued.number, issued.invoice_id) == (7, "F2026-000007")
    assert issued.total_incl_vat_cents == PAID.amount_cents == 9610
    assert [line.total_incl_vat_cents for line in issued.lines] == [5340, 2380, 1890]
    assert issued.lines[-1].label == "Delivery (express)"
    for line in issued.lines:
        assert line.vat_rate == Decimal("20")
        assert line.total_excl_vat_cents + line.vat_cents == line.total_incl_vat_cents
        assert line.total_excl_vat_cents == round(line.total_incl_vat_cents / Decimal("1.2"))
    assert issued.total_excl_vat_cents + issued.vat_cents == issued.total_incl_vat_cents
    assert issued.total_excl_vat_cents == sum(line.total_excl_vat_cents for line in issued.lines)
    assert (issued.terms_version, issued.seller_vat_number) == ("CGV-2026-01", "FR 09449671338")


def test_a_line_cancelled_before_the_payment_is_invoiced_only_if_it_was_paid() -> None:
    # given MUSCAT (2380) cancelled before the payment
    cancelled = OrderLineCancelled(sku="MUSCAT", quantity=2, refund_cents=2380,
                                   cause="blocked", cancelled_on=TODAY)
    paid_the_rest = PAID.model_copy(update={"amount_cents": 9610 - 2380})
    # then a payment of the rest bills the rest, to the cent
    issued = invoice([PLACED, cancelled, paid_the_rest, CONFIRMED], 7, TODAY, vat_data())
    assert [line.label for line in issued.lines] == ["Rouge (ROUGE)", "Delivery (express)"]
    assert issued.total_incl_vat_cents == paid_the_rest.amount_cents
    # and a payment that paid it all the same bills it (a credit note follows its refund)
    line_paid = CancelledLinePaid(sku="MUSCAT", quantity=2, refund_cents=2380,
                                  cause="blocked", cancelled_on=TODAY, paid_on=TODAY)
    issued = invoice([PLACED, cancelled, PAID, line_paid, CONFIRMED], 7, TODAY, vat_data())
    assert issued.total_incl_vat_cents == PAID.amount_cents


def test_a_paid_refund_gets_one_credit_note_on_the_invoice() -> None:
    issued = invoice([PLACED, PAID, CONFIRMED], 7, TODAY, vat_data())
    assert credit_note_due([PLACED, PAID], "r-1") is None  # nothing invoiced: nothing to credit
    on = credit_note_due([PLACED, PAID, CONFIRMED, issued], "r-1")
    assert on == issued
    note = credit_note(issued, 3, "r-1", 2380, 119, TODAY, vat_data())
    assert isinstance(note, CreditNoteIssued)
    assert (note.credit_note_id, note.invoice_id) == ("A2026-000003", "F2026-000007")
    assert (note.total_excl_vat_cents, note.vat_cents, note.surcharge_cents) == (1983, 397, 119)
    assert credit_note_due([PLACED, PAID, CONFIRMED, issued, note], "r-1") is None


@pytest.mark.parametrize("cents", [1, 5, 6, 599, 690, 1190, 99999])
def test_the_vat_exclusive_part_and_the_vat_always_add_up(cents: int) -> None:
    note = credit_note(InvoiceIssued.model_construct(invoice_id="F"), 1, "r", cents, 0, TODAY,
                       vat_data())
    assert note.total_excl_vat_cents + note.vat_cents == cents
