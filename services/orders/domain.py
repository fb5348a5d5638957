"""Orders: the pure decisions on an order and how its events change its state. No I/O, no clock."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import Event
from contracts.orders import OrderBlocked, OrderPlaced, OrderUnblocked
from contracts.vocabulary import BlockReason, DeliveryAddress, DeliveryMethod, PricedLine

OrderStatus = Literal["placed", "confirmed", "cancelled", "terminated"]
OUTSIDE_FRANCE = "deliveries outside France: contact the seller"
_POSTCODE = re.compile(r"[0-9]{5}")
_METROPOLITAN = range(1000, 96000)  # postcodes 01000–95999, Corsica (20xxx) included
_FORBIDDEN_PLACES = re.compile(
    r"\b(h[oô]tel|camping|camp ?site|chambres? d'h[oô]tes?|bed and breakfast|b ?& ?b|"
    r"bo[iî]te postale|poste restante|bp\s*\d+|bp)\b", re.IGNORECASE)


class InvalidOrderError(ValueError):
    """The command breaks a rule of ordering; names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class OrderConflictError(Exception):
    """The command does not fit the order's current state."""


class OrderNotFoundError(LookupError):
    """No order with this id."""


@dataclass(frozen=True)
class CatalogueItem:
    """A wine on sale and its price in force (cents, VAT included)."""

    sku: str
    name: str
    price_cents: int


@dataclass(frozen=True)
class Offer:
    """What the shop offers at the time of ordering: prices, delivery charges, current terms."""

    items: Mapping[str, CatalogueItem]
    delivery_charges: Mapping[str, int]
    terms_version: str


@dataclass(frozen=True)
class RequestedLine:
    """A line as the buyer asks for it."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class RequestedAddress:
    """A delivery address as the buyer gives it (any country: the rules decide)."""

    recipient: str
    street: str
    postcode: str
    city: str
    street_extra: str | None = None
    country: str = "FR"


@dataclass(frozen=True)
class OrderRequest:
    """What the buyer validates: lines, address, delivery method and the terms accepted."""

    buyer_id: str
    lines: tuple[RequestedLine, ...]
    delivery_address: RequestedAddress
    delivery_method: DeliveryMethod
    accepted_terms_version: str


@dataclass(frozen=True)
class PlaceOrder:
    """The buyer's final validation of an order, against the offer in force."""

    request: OrderRequest
    offer: Offer


@dataclass(frozen=True)
class BlockOrder:
    """The seller blocks the order until a problem is resolved."""

    reason: BlockReason
    detail: str = ""


@dataclass(frozen=True)
class UnblockOrder:
    """The seller lifts the block."""

    resolution: str


Command = PlaceOrder | BlockOrder | UnblockOrder


class OrderState(BaseModel):
    """The decision state of one order."""

    model_config = ConfigDict(frozen=True)
    status: OrderStatus
    blocked: bool = False
    total_cents: int


def decide(state: OrderState | None, command: Command, now: dt.datetime) -> list[Event]:
    """The events that ``command`` produces on ``state`` at ``now``, or a domain error."""
    if isinstance(command, PlaceOrder):
        return place_order(state, command, now)
    if state is None:
        raise OrderNotFoundError("no such order")
    if isinstance(command, BlockOrder):
        if state.blocked:
            raise OrderConflictError("the order is already blocked")
        return [OrderBlocked(reason=command.reason, detail=command.detail)]
    if not state.blocked:
        raise OrderConflictError("the order is not blocked")
    return [OrderUnblocked(resolution=command.resolution)]


def place_order(state: OrderState | None, command: PlaceOrder, now: dt.datetime) -> list[Event]:
    """Validate the order against the rules of ordering and record it with the prices in force."""
    if state is not None:
        raise OrderConflictError("the order already exists")
    request, offer = command.request, command.offer
    address = _delivery_address(request.delivery_address)
    _check_terms(command)
    lines = _priced_lines(command)
    if request.delivery_method not in offer.delivery_charges:
        raise InvalidOrderError("delivery_method", "unknown delivery method")
    charge = offer.delivery_charges[request.delivery_method]
    products = sum(line.line_total_cents for line in lines)
    return [OrderPlaced(
        buyer_id=request.buyer_id, lines=lines, delivery_address=address,
        delivery_method=request.delivery_method, delivery_charge_cents=charge,
        products_total_cents=products, total_cents=products + charge,
        terms_version=request.accepted_terms_version, validated_at=now)]


def evolve(state: OrderState | None, event: Event) -> OrderState:
    """The order's state after ``event``."""
    match event:
        case OrderPlaced():
            return OrderState(status="placed", total_cents=event.total_cents)
        case OrderBlocked():
            return _require(state).model_copy(update={"blocked": True})
        case OrderUnblocked():
            return _require(state).model_copy(update={"blocked": False})
    return _require(state)


def _require(state: OrderState | None) -> OrderState:
    if state is None:
        raise ValueError("event applied to an order that was never placed")
    return state


def _delivery_address(address: RequestedAddress) -> DeliveryAddress:
    if address.country.upper() != "FR":
        raise InvalidOrderError("delivery_address.country", OUTSIDE_FRANCE)
    postcode = address.postcode.strip()
    if not _POSTCODE.fullmatch(postcode) or int(postcode) not in _METROPOLITAN:
        raise InvalidOrderError("delivery_address.postcode", OUTSIDE_FRANCE)
    for name in ("recipient", "street", "street_extra"):
        match = _FORBIDDEN_PLACES.search(getattr(address, name) or "")
        if match:
            raise InvalidOrderError(
                f"delivery_address.{name}",
                f"no delivery to temporary residences, P.O. boxes or poste restante "
                f"(found {match.group(0)!r})")
    return DeliveryAddress(recipient=address.recipient, street=address.street,
                           street_extra=address.street_extra, postcode=address.postcode,
                           city=address.city)


def _check_terms(command: PlaceOrder) -> None:
    if command.request.accepted_terms_version != command.offer.terms_version:
        raise InvalidOrderError(
            "accepted_terms_version",
            f"the current terms are {command.offer.terms_version}; accept them to order")


def _priced_lines(command: PlaceOrder) -> tuple[PricedLine, ...]:
    if not command.request.lines:
        raise InvalidOrderError("lines", "an order needs at least one line")
    seen: set[str] = set()
    priced = []
    for index, line in enumerate(command.request.lines):
        item = command.offer.items.get(line.sku)
        if item is None:
            raise InvalidOrderError(f"lines[{index}].sku", f"unknown product {line.sku}")
        if line.sku in seen:
            raise InvalidOrderError(f"lines[{index}].sku", "the product is on two lines")
        seen.add(line.sku)
        priced.append(PricedLine(sku=line.sku, name=item.name, quantity=line.quantity,
                                 unit_price_cents=item.price_cents,
                                 line_total_cents=item.price_cents * line.quantity))
    return tuple(priced)
