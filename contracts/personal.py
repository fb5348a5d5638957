"""Personal data in the log: sealed per buyer, so that destroying the buyer's key erases it.

Every field that identifies a person (name, street, e-mail, phone) travels in an event only as a
``Sealed`` value: AES-256-GCM ciphertext under a key that belongs to one buyer and lives in the
key store, never in the log. The hash chain covers the ciphertext, so destroying the key (the
buyer's erasure) makes the fields unreadable everywhere without breaking verification.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from contracts.base import Value
from contracts.vocabulary import DeliveryAddress

__all__ = ["BUYER_ID_PATTERN", "EMAIL_PATTERN", "ERASED", "PHONE_PATTERN", "FreeText",
           "PersonalData", "Sealed", "claims_subject"]

ERASED = "[erased]"
"""What a personal field reads as once its buyer's key has been destroyed."""

# explicit ranges rather than \s: Python's and ECMAScript's \s differ (U+0085), and the schema
# must accept exactly what the code accepts
EMAIL_PATTERN = (r"^[^@\x00-\x20\x7f-\x9f]{1,64}@[^@\x00-\x20\x7f-\x9f]+"
                 r"\.[^@.\x00-\x20\x7f-\x9f]+$")
PHONE_PATTERN = r"^\+?[0-9][0-9 .-]{5,19}$"
BUYER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$"
"""A buyer's id: letters, digits and ``._@+-``, never a ``:``, so that it is never the key store
subject of anything else (``billing:<order_id>``, the key of an erased order's billing data;
``claims:<order_id>``, ``claims_subject``)."""

_BASE64URL = r"^[A-Za-z0-9_-]*$"


class Sealed(Value):
    """Personal data encrypted with its buyer's key (AES-256-GCM, the key id as associated data).

    ``key_id`` names the key in the key store; the key itself never enters the log.
    """

    key_id: Annotated[str, Field(min_length=1, max_length=64)]
    nonce: Annotated[str, Field(pattern=_BASE64URL, description="96-bit nonce, base64url")]
    ciphertext: Annotated[str, Field(pattern=_BASE64URL,
                                     description="ciphertext and GCM tag, base64url")]


class PersonalData(Value):
    """A buyer's personal fields on an order: how to reach them, where to deliver, where to
    send the invoice (``billing_address``, when not the delivery address), and how they are
    of age (L.3342-1: their date of birth, or their declaration)."""

    email: Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
    phone: Annotated[str | None, Field(pattern=PHONE_PATTERN)] = None
    delivery_address: DeliveryAddress
    date_of_birth: date | None = None
    declared_of_age: bool = False
    billing_address: DeliveryAddress | None = None


class FreeText(Value):
    """Words someone wrote about an order (a buyer's claim or question, the shop's answer): free
    text may name or locate the buyer, so it is sealed like any personal field."""

    text: Annotated[str, Field(max_length=2000)]


def claims_subject(order_id: str) -> str:
    """The key store's subject of the key sealing what was written about an order's claims:
    fulfilment seals under it (it does not know the buyer), and the buyer's erasure destroys it
    with the buyer's key for each of their orders."""
    return f"claims:{order_id}"
