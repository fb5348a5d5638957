"""The shared vocabulary, defined once: the APIs, the domains and the events all use these types.

Amounts are integer cents, dates are Europe/Paris calendar dates and instants are UTC.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from contracts.base import Value

__all__ = [
    "MAX_BOTTLES_PER_LINE",
    "BlockReason",
    "Cents",
    "DeliveryAddress",
    "DeliveryMethod",
    "LineQuantity",
    "PricedLine",
    "Quantity",
    "Sku",
]

MAX_BOTTLES_PER_LINE = 120
"""The most bottles of one wine an order line may ask for (ten cases of twelve)."""

Cents = Annotated[int, Field(ge=0, description="an amount in euro cents, VAT included")]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]*$",
                           description="a catalogue reference")]
Quantity = Annotated[int, Field(ge=1, le=MAX_BOTTLES_PER_LINE,
                                description="a number of bottles")]
DeliveryMethod = Literal["standard", "express"]
BlockReason = Literal["non_payment", "incorrect_address", "buyer_account_problem"]
"""Why the seller may block an order (Art. 4)."""


class PricedLine(Value):
    """An order line with the unit price in force when the order was placed."""

    sku: Sku
    name: str
    quantity: Quantity
    unit_price_cents: Cents
    line_total_cents: Cents


class DeliveryAddress(Value):
    """A postal address in France: where an order is delivered (metropolitan France only, the
    orders domain checks it) or where its invoice is sent (``PersonalData.billing_address``)."""

    recipient: str
    street: str
    street_extra: str | None = None
    postcode: str
    city: str
    country: Literal["FR"] = "FR"


class LineQuantity(Value):
    """A quantity of one SKU."""

    sku: Sku
    quantity: Quantity
