"""Events the fulfilment service emits on ``fulfilment.events``: stock, shipping,
delivery outcomes, claims and returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from contracts.base import Event
from contracts.personal import Sealed
from contracts.vocabulary import LineQuantity, Quantity, Sku

__all__ = [
    "ClaimAnswered",
    "ClaimRecorded",
    "DeadlinesSuspended",
    "Delivered",
    "DeliveryAddressCorrected",
    "DeliveryAddressGiven",
    "DeliveryAttemptFailed",
    "DeliveryDeadlineSet",
    "DeliveryOverdue",
    "DeliveryRefused",
    "DeliveryReserved",
    "ExchangeReferenceAllocated",
    "ItemUnavailable",
    "ParcelRestocked",
    "ReservationReleased",
    "ReturnExpected",
    "ReturnReceived",
    "Shipped",
    "ShippingHeld",
    "ShippingReleased",
    "StockReserved",
]


class StockReserved(Event):
    """Stock is set aside for these lines of the order."""

    lines: tuple[LineQuantity, ...]


class ItemUnavailable(Event):
    """A product of the order is out of stock; the buyer is notified and may cancel or exchange."""

    sku: Sku
    requested: Quantity
    available: Annotated[int, Field(ge=0)]


class ReservationReleased(Event):
    """The order was cancelled before shipping: the stock set aside for it is available again."""

    lines: tuple[LineQuantity, ...]


class DeliveryDeadlineSet(Event):
    """The order is confirmed: it may ship, and must be delivered by ``deliver_by`` (the 5th
    working day after confirmation, ``contracts.policies.delivery_deadline``)."""

    confirmed_on: dt.date
    deliver_by: dt.date


class DeliveryAddressCorrected(Event):
    """The parcel came back to the seller because the buyer's address was incorrect or
    incomplete (``DeliveryAttemptFailed``, ``returned_to_sender``), and the buyer has given it
    again (``PersonalDataRectified``): it may ship again. The time lost is the buyer's, so the
    delivery is due 5 working days after ``corrected_on`` (``deliver_by``); none when the
    delivery was already overdue before (the seller's delay stands)."""

    corrected_on: dt.date
    deliver_by: dt.date | None


class DeliveryAddressGiven(Event):
    """The buyer gave the delivery address again while the order's parcel was with the
    carrier: should that parcel come back for an incorrect or incomplete address, it is free to
    ship again at once (``DeliveryAddressCorrected`` is recorded with the return)."""

    given_on: dt.date


class ShippingHeld(Event):
    """The order may not ship: blocked, cancelled or terminated (``reason``)."""

    reason: str


class ShippingReleased(Event):
    """The order's block is lifted: it may ship again."""


class Shipped(Event):
    """The parcel left the warehouse with the carrier."""

    carrier: str
    tracking_number: str
    shipped_at: dt.datetime


class Delivered(Event):
    """The parcel was delivered without reservation."""

    delivered_on: dt.date


class DeliveryReserved(Event):
    """Delivered with reservations noted on the delivery note (damage, missing items)."""

    delivered_on: dt.date
    reservations: str


class DeliveryRefused(Event):
    """The buyer refused the parcel because it was opened or damaged."""

    refused_on: dt.date
    reason: str


class DeliveryAttemptFailed(Event):
    """The carrier could not deliver: the buyer was absent (a notice left, the parcel waits at
    a collection point until ``collect_by``), or the parcel went back to the seller because the
    address was incorrect or incomplete: it ships again once the buyer has corrected the address
    (``DeliveryAddressCorrected``), and meanwhile the delivery is not overdue."""

    outcome: Literal["absent", "returned_to_sender"]
    attempted_at: dt.datetime
    collection_point: str | None = None
    collect_by: dt.date | None = None


SuspensionKind = Literal["force_majeure", "closure"]
"""``closure``: announced, so recorded by its first day; ``force_majeure``: at any time, also
after the fact."""


class DeadlinesSuspended(Event):
    """Operators recorded a force-majeure event or an announced closure: delivery deadlines
    are suspended from ``first_day`` to ``last_day`` (Paris dates, inclusive). Recorded on the
    stream ``SUSPENSIONS_STREAM``, not on an order."""

    first_day: dt.date
    last_day: dt.date
    reason: str
    kind: SuspensionKind | None = None
    """None in periods recorded before the kind was."""


class DeliveryOverdue(Event):
    """The delivery deadline passed without delivery."""

    deadline: dt.date


class DeliveryOverdueWithdrawn(Event):
    """A delivery recorded overdue is not: a suspension declared since (force majeure, an
    announced closure) moved its deadline to ``deadline``, not passed yet. It falls overdue
    again (``DeliveryOverdue``) only once that deadline passes."""

    deadline: dt.date


class ClaimRecorded(Event):
    """The buyer's claim about a delivery, or question about the order's follow-up; the shop
    answers within 2 working days (Art. 4).

    A claim is received within its window, which ended on ``window_ends``; an ``inquiry`` (a
    question about the order's follow-up, at any time, one waiting at a time) has no window:
    its ``window_ends`` is the day it was asked.

    The buyer's words are ``sealed_detail`` (a ``FreeText`` under the order's claims key,
    ``contracts.personal.claims_subject``), destroyed by the buyer's erasure; ``detail`` is
    empty, and holds them in clear only in claims recorded before they were sealed."""

    kind: Literal["reservations_confirmation", "return_request", "incorrect_delivery",
                  "conformity", "inquiry"]
    claimed_on: dt.date
    window_ends: dt.date
    detail: str = ""
    sealed_detail: Sealed | None = None


class ClaimAnswered(Event):
    """The shop answered the buyer's claim.

    The answer is ``sealed_answer`` (a ``FreeText`` under the order's claims key, as the
    claim's words are); ``answer`` holds it in clear only in answers recorded before they were
    sealed."""

    kind: str
    answer: str = ""
    sealed_answer: Sealed | None = None


class ExchangeReferenceAllocated(Event):
    """An incorrect delivery was claimed in time; the return travels under this reference."""

    exchange_reference: str
    claimed_on: dt.date


class ReturnExpected(Event):
    """The buyer withdrew these lines: they are to come back by ``return_by`` (14 days after
    the notice)."""

    lines: tuple[LineQuantity, ...]
    return_by: dt.date


class ParcelRestocked(Event):
    """The parcel the carrier returned to the seller is back in stock: the contract ended
    (terminated or cancelled) while it was back, so it will not ship again. Its bottles are
    sold again. A parcel refused at the door (opened or damaged) is not restocked."""

    lines: tuple[LineQuantity, ...]


class ReturnReceived(Event):
    """Goods sent back by the buyer were received by the seller; ``complete`` says whether
    they came back complete and in their original condition (``reason`` when not)."""

    received_on: dt.date
    lines: tuple[LineQuantity, ...]
    complete: bool = True
    reason: str | None = None
