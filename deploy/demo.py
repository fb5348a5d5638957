"""Sample requests of the demo shop (its catalogue, stock and terms), for tests, benchmarks and
the README's examples."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import httpx

TERMS = "CGV-2026-01"
"""The terms version the demo catalogue publishes (``services/orders/migrations``)."""


def order_body(**overrides: Any) -> dict[str, Any]:
    """A valid order of two in-stock wines for a new random buyer, with ``overrides`` applied."""
    body: dict[str, Any] = {
        "buyer_id": f"buyer-{uuid.uuid4()}",
        "email": "jeanne.martin@example.org",
        "lines": [{"sku": "COTES-ROUSSILLON-ROUGE-2022", "quantity": 6},
                  {"sku": "MUSCAT-RIVESALTES-2023", "quantity": 2}],
        "delivery_address": {"recipient": "Jeanne Martin", "street": "12 rue des Vignes",
                             "postcode": "66300", "city": "Thuir"},
        "delivery_method": "standard",
        "accepted_terms_version": TERMS,
        "date_of_birth": "1980-04-02",
    }
    body.update(overrides)
    return body


APPROVED_CARD = "4111111111111111"
DECLINED_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
_SESSION = re.compile(r'name="session" value="([^"]+)"')


async def pay_on_bank_page(http: httpx.AsyncClient, session: dict[str, Any], card_number: str,
                           expiry: str = "12/30", cvv: str = "123") -> httpx.Response:
    """Do what a buyer's browser does with a payment session: post the hidden form to the
    bank's page, then the card form; return the bank's redirect back to the shop."""
    page = await http.request(session["method"], session["action"], data=session["fields"])
    page.raise_for_status()
    match = _SESSION.search(page.text)
    if match is None:
        raise ValueError("the bank's page holds no card form")
    base = session["action"].split("/cgi/", 1)[0]
    return await http.post(f"{base}/cgi/pay", data={
        "session": html.unescape(match.group(1)), "card_number": card_number,
        "expiry": expiry, "cvv": cvv}, follow_redirects=False)
