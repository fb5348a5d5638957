"""Invoices on the running system: issued when the sale becomes final, billing what was paid to
the cent, downloadable as JSON and PDF (the same bytes every time), and a credit note for every
refund paid."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx
import pytest

from deploy.system import bearer
from tests.integration.conftest import System
from tests.support.lifecycle import (
    REFUNDS,
    confirmed_order,
    delivered_order,
    paid,
    session_for,
    status_is,
    the_refund,
    withdrawn_and_returned,
)
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
    assert documents["billed_to"]["recipient"] == "Jeanne Martin"

    pdf = await http.get(f"{system.orders_url}/orders/{order_id}/invoice.pdf", headers=OPS)
    again = await http.get(f"{system.orders_url}/orders/{order_id}/invoice.pdf", headers=OPS)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == again.content  # rendered from the recorded events alone
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.content,
                          capture_output=True, check=True, timeout=30).stdout.decode()
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


async def test_a_doubtful_address_is_held_for_review_and_proceeds_once_ops_unblock_it(
        http: httpx.AsyncClient, system: System) -> None:
    from deploy.demo import APPROVED_CARD, order_body, pay_on_bank_page

    body = order_body(delivery_address={
        "recipient": "Jeanne Martin", "street": "Hôtel Ibis, 10 avenue du Maréchal Foch",
        "postcode": "30000", "city": "Nîmes"})
    town_hall = order_body(delivery_address={
        "recipient": "Jeanne Martin", "street": "12 place de l'Hôtel de Ville",
        "postcode": "66300", "city": "Thuir"})
    held = await http.post(f"{system.orders_url}/orders", json=body)
    ordinary = await http.post(f"{system.orders_url}/orders", json=town_hall)
    assert held.status_code == 201, held.text
    assert (held.json()["blocked"], held.json()["block_reason"]) == (True, "incorrect_address")
    assert ordinary.status_code == 201 and ordinary.json()["blocked"] is False

    order_id = held.json()["order_id"]
    unblocked = await http.post(f"{system.orders_url}/orders/{order_id}/unblock", headers=OPS,
                                json={"resolution": "the buyer lives there all year"})
    assert unblocked.status_code == 200 and unblocked.json()["blocked"] is False

    # read your writes: payments answers once it has applied the unblock (not before, when it
    # might not even have seen the block yet)
    payment = await http.get(f"{system.payments_url}/payments/{order_id}",
                             params={"after": unblocked.headers["X-Position"]})
    assert payment.status_code == 200 and payment.json()["held"] is False, payment.text
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))


async def test_an_erased_buyers_invoice_still_bills_them_until_the_retention_ends(
        http: httpx.AsyncClient, system: System) -> None:
    # given an invoiced order, delivered (erasure waits for an order paid and not delivered)
    order_id = await delivered_order(http, system)
    documents = await eventually(lambda: invoice_of(http, system, order_id),
                                 what="an invoice for the confirmed order")
    assert documents is not None
    buyer_id = (await http.get(f"{system.orders_url}/orders/{order_id}",
                               headers=OPS)).json()["buyer_id"]
    # when its buyer's data is erased
    erased = await http.post(f"{system.orders_url}/buyers/{buyer_id}/erasure", headers=OPS)
    assert erased.status_code == 200, erased.text
    # then the order's personal fields read [erased], but its invoice, a billing document kept
    # 10 years, still names whom it bills, until the retention's end the order states
    order = (await http.get(f"{system.orders_url}/orders/{order_id}", headers=OPS)).json()
    assert order["personal_data"] == "erased"
    assert order["delivery_address"]["recipient"] == order["email"] == "[erased]"
    issued_on = documents["invoice"]["issued_on"]
    assert order["billing_retained_until"] == f"{int(issued_on[:4]) + 10}{issued_on[4:]}"
    auditor = bearer("auditor")
    kept = (await http.get(f"{system.orders_url}/orders/{order_id}/invoice",
                           headers=auditor)).json()
    assert kept["billed_to"] == documents["billed_to"]
    pdf = await http.get(f"{system.orders_url}/orders/{order_id}/invoice.pdf", headers=auditor)
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.content,
                          capture_output=True, check=True, timeout=30).stdout.decode()
    assert "Jeanne Martin" in text
    # restricted to the buyer and auditors: other roles read [restricted]
    shown = await invoice_of(http, system, order_id)
    assert shown is not None and shown["billed_to"]["recipient"] == "[restricted]"
