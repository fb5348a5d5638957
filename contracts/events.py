"""The events of the order lifecycle: one frozen pydantic model per event type.

A model is the *payload* of an event; the envelope (ids, stream version, times, hash chain) is in
``contracts.envelope``. Amounts are integer cents, dates are Europe/Paris calendar dates and
instants are UTC. Consumers ignore unknown fields, so adding an optional field is compatible; a
breaking change is a new ``schema_version`` with an upcaster in ``contracts.envelope``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

Cents = Annotated[int, Field(ge=0, description="an amount in euro cents, VAT included")]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
Quantity = Annotated[int, Field(ge=1, le=1000)]
DeliveryMethod = Literal["standard", "express"]


class Event(BaseModel):
    """Base of every event payload: frozen, unknown fields ignored, typed by its class name."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        """The event's ``type`` in the envelope: its class name."""
        return cls.__name__


class Value(BaseModel):
    """Base of value objects carried inside payloads."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class PricedLine(Value):
    """An order line with the unit price in force when the order was placed."""

    sku: Sku
    name: str
    quantity: Quantity
    unit_price_cents: Cents
    line_total_cents: Cents


class DeliveryAddress(Value):
    """A delivery address in metropolitan France."""

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


# ---------------------------------------------------------------- orders.events


class OrderPlaced(Event):
    """The buyer validated the order: proof of agreement to its lines, prices and terms (Art. 5)."""

    buyer_id: str
    lines: tuple[PricedLine, ...]
    delivery_address: DeliveryAddress
    delivery_method: DeliveryMethod
    delivery_charge_cents: Cents
    products_total_cents: Cents
    total_cents: Cents
    terms_version: str
    validated_at: dt.datetime


class OrderConfirmed(Event):
    """The sale is final: acceptance confirmed to the buyer and the full price captured."""

    confirmed_at: dt.datetime
    amount_cents: Cents


class OrderBlocked(Event):
    """The seller blocked the order until a problem is resolved (Art. 4)."""

    reason: Literal["non_payment", "incorrect_address", "buyer_account_problem"]
    detail: str = ""


class OrderUnblocked(Event):
    """The problem that blocked the order is resolved."""

    resolution: str


class OrderLineCancelled(Event):
    """One line of the order is cancelled (unavailable product or blocked line) and owed back."""

    sku: Sku
    quantity: Quantity
    refund_cents: Cents
    cause: Literal["unavailable", "blocked", "buyer_request"]
    cancelled_on: dt.date


class PerformanceRequested(Event):
    """After a missed delivery deadline, the buyer asks for delivery within an extra period."""

    requested_on: dt.date
    additional_deadline: dt.date


class ContractTerminated(Event):
    """The buyer terminated the contract (late delivery); effective when the seller receives it."""

    cause: Literal["late_delivery", "manifest_non_delivery", "essential_date_missed"]
    received_on: dt.date
    refund_cents: Cents


class WithdrawalRequested(Event):
    """The buyer exercised the right of withdrawal (Art. 16) for some or all products."""

    notice_on: dt.date
    lines: tuple[LineQuantity, ...]
    products_refund_cents: Cents
    delivery_refund_cents: Cents


# -------------------------------------------------------------- payments.events


class PaymentAuthorised(Event):
    """The bank authorised the payment; not final until captured."""

    payment_id: str
    amount_cents: Cents
    authorisation_code: str


class PaymentDeclined(Event):
    """The bank refused the authorisation."""

    payment_id: str
    amount_cents: Cents
    reason: str


class PaymentNotificationRejected(Event):
    """A payment-server notification failed verification (forged, altered or replayed)."""

    payment_id: str
    reason: Literal["bad_signature", "altered", "replayed", "unknown_payment"]


class PaymentCaptured(Event):
    """The sums are received: the payment is final."""

    payment_id: str
    amount_cents: Cents
    captured_at: dt.datetime


class VerificationRequested(Event):
    """The seller requires identity documents before validating the order."""

    documents: tuple[Literal["identity_document", "proof_of_address"], ...]


class VerificationCompleted(Event):
    """The identity documents were received and checked."""

    outcome: Literal["accepted", "rejected"]


class RefundPaid(Event):
    """The bank paid a refund back to the buyer's card."""

    refund_id: str
    amount_cents: Cents
    paid_on: dt.date


# ------------------------------------------------------------ fulfilment.events


class StockReserved(Event):
    """Stock is set aside for these lines of the order."""

    lines: tuple[LineQuantity, ...]


class ItemUnavailable(Event):
    """A product of the order is out of stock; the buyer is notified and may cancel or exchange."""

    sku: Sku
    requested: Quantity
    available: Annotated[int, Field(ge=0)]


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


class DeliveryOverdue(Event):
    """The delivery deadline passed without delivery."""

    deadline: dt.date


class ExchangeReferenceAllocated(Event):
    """An incorrect delivery was claimed in time; the return travels under this reference."""

    exchange_reference: str
    claimed_on: dt.date


class ReturnReceived(Event):
    """Goods sent back by the buyer were received by the seller."""

    received_on: dt.date
    lines: tuple[LineQuantity, ...]


# --------------------------------------------------------------- refunds.events


class RefundDue(Event):
    """A refund obligation exists, with its deadline, base and the surcharge schedule to apply."""

    refund_id: str
    situation: Literal["withdrawal", "late_delivery", "unavailable", "blocked"]
    base_cents: Cents
    products_cents: Cents
    deadline: dt.date


class RefundPenaltyEscalated(Event):
    """The overdue refund crossed into a new surcharge tier (or reached the cap)."""

    refund_id: str
    delay_days: Annotated[int, Field(ge=1)]
    schedule: str
    tier: str
    rate: str
    base_cents: Cents
    surcharge_cents: Cents
    policy_version: str
    provisional: bool = False


class RefundIssued(Event):
    """The refund was issued: base plus the surcharge owed on the payment date."""

    refund_id: str
    base_cents: Cents
    surcharge_cents: Cents
    total_cents: Cents
    issued_on: dt.date
    policy_version: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type_name(): cls
    for cls in (
        OrderPlaced, OrderConfirmed, OrderBlocked, OrderUnblocked, OrderLineCancelled,
        PerformanceRequested, ContractTerminated, WithdrawalRequested,
        PaymentAuthorised, PaymentDeclined, PaymentNotificationRejected, PaymentCaptured,
        VerificationRequested, VerificationCompleted, RefundPaid,
        StockReserved, ItemUnavailable, Shipped, Delivered, DeliveryReserved, DeliveryRefused,
        DeliveryOverdue, ExchangeReferenceAllocated, ReturnReceived,
        RefundDue, RefundPenaltyEscalated, RefundIssued,
    )
}
"""Every event class by its ``type`` name."""

EMITTED_BY: dict[str, tuple[str, ...]] = {
    "orders": ("OrderPlaced", "OrderConfirmed", "OrderBlocked", "OrderUnblocked",
               "OrderLineCancelled", "PerformanceRequested", "ContractTerminated",
               "WithdrawalRequested"),
    "payments": ("PaymentAuthorised", "PaymentDeclined", "PaymentNotificationRejected",
                 "PaymentCaptured", "VerificationRequested", "VerificationCompleted",
                 "RefundPaid"),
    "fulfilment": ("StockReserved", "ItemUnavailable", "Shipped", "Delivered",
                   "DeliveryReserved", "DeliveryRefused", "DeliveryOverdue",
                   "ExchangeReferenceAllocated", "ReturnReceived"),
    "refunds": ("RefundDue", "RefundPenaltyEscalated", "RefundIssued"),
}
"""Which service emits which event types, i.e. on which topic each type travels."""
