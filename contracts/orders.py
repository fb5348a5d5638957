"""Events the orders service emits on ``orders.events``: the buyer's order and what
becomes of the contract."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from contracts.base import Event
from contracts.vocabulary import (
    BlockReason,
    Cents,
    DeliveryAddress,
    DeliveryMethod,
    LineQuantity,
    PricedLine,
    Quantity,
    Sku,
)

__all__ = [
    "ContractTerminated",
    "OrderBlocked",
    "OrderConfirmed",
    "OrderLineCancelled",
    "OrderPlaced",
    "OrderUnblocked",
    "PerformanceRequested",
    "WithdrawalRequested",
]


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

    reason: BlockReason
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
