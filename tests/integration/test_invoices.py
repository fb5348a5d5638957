"""Invoices on the running system: issued when the sale becomes final, billing what was paid to
the cent, downloadable as JSON and PDF (the same bytes every time), and a credit note for every
refund paid."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from deploy.system import bearer
from tests.integration.conftest import System
from tests.integration.test_calendar_scenarios import confirmed_order
from tests.integration.test_refunds import REFUNDS, paid, the_refund, withdrawn_and_returned
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
OPS = bearer("ops")


async def invoice_of(http: httpx.AsyncClient, system: System, order_id: str,
                     credit_notes: int = 0) -> dict[str, Any] | None:
    response = await http.get(f"{system.orders_url}/orders/{order_id}/invoice", headers=OPS)
    if response.status_code != 200:
        return None
    documents = response.json()
    return documents if len(documents["credit_notes"]) >= credit_notes else None


async def test_a_final_sale_is_invoiced_to_the_cent_as_json_and_pdf(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = await confirmed_order(http, system)
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    documents = await eventually(lambda: invoice_of(http, system, order_id),
                                 what="an invoice for the confirmed order")
    assert documents is not None
    invoice = documents["invoice"]
    assert invoice["total_incl_vat_cents"] == order["total_cents"]
    assert invoice["total_excl_vat_cents"] + invoice["vat_cents"] == order["total_cents"]
    assert [line["total_incl_vat_cents"] for line in invoice["lines"]] == [
        *(line["line_total_cents"] for line in order["lines"]), order["delivery_charge_cents"]]
    assert invoice["seller_vat_number"] == "FR 09449671338"

    pdf = await http.get(f"{system.orders_url}/orders/{order_id}/invoice.pdf", headers=OPS)
    again = await http.get(f"{system.orders_url}/orders/{order_id}/invoice.pdf", headers=OPS)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == again.content  # rendered from the recorded events alone
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    euros = f"{invoice['total_incl_vat_cents'] // 100}.{invoice['total_incl_vat_cents'] % 100:02d}"
    for shown in (invoice["invoice_id"], "FR 09449671338", "VAT", euros, "Jeanne Martin"):
        assert shown in text, shown

    other = bearer("buyer", "buyer-someone-else")
    hidden = await http.get(f"{system.orders_url}/orders/{order_id}/invoice", headers=other)
    assert hidden.status_code == 404


async def test_a_paid_refund_gets_a_credit_note_on_the_invoice(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = await withdrawn_and_returned(http, system)
    refund = await the_refund(http, order_id)
    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 202, ordered.text
    issued = await eventually(lambda: paid(http, refund["refund_id"]))
    assert issued is not None

    documents = await eventually(lambda: invoice_of(http, system, order_id, credit_notes=1),
                                 what="a credit note for the refund")
    assert documents is not None
    [note] = documents["credit_notes"]
    assert (note["invoice_id"], note["refund_id"]) == (documents["invoice"]["invoice_id"],
                                                       refund["refund_id"])
    assert note["total_incl_vat_cents"] == issued["base_cents"]
    assert note["total_excl_vat_cents"] + note["vat_cents"] == issued["base_cents"]
    assert note["surcharge_cents"] == issued["surcharge_cents"]
