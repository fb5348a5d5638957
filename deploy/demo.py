"""Sample requests of the demo shop (its catalogue, stock and terms), for tests, benchmarks and
the README's examples."""

from __future__ import annotations

import uuid
from typing import Any

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
    }
    body.update(overrides)
    return body
