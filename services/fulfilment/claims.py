"""The buyer's claims about a delivery, each checked against its window in the French
calendar (``contracts.policies``): reservations confirmed to the carrier, a return request, an
incorrect delivery (which gets an exchange reference) and the guarantee of conformity; and the
buyer's questions about the order's follow-up (``inquiry``), at any time."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from contracts.base import Event
from contracts.fulfilment import ClaimAnswered, ClaimRecorded, ExchangeReferenceAllocated
from contracts.personal import Sealed
from contracts.policies import (
    conformity_claim_deadline,
    incorrect_delivery_claim_deadline,
    paris_date,
    reservation_confirmation_deadline,
    return_request_deadline,
)
from services.fulfilment.shipping import ShippingConflictError

ClaimKind = Literal["reservations_confirmation", "return_request", "incorrect_delivery",
                    "conformity", "inquiry"]
WINDOWS: dict[str, Callable[[dt.date], dt.date]] = {
    "reservations_confirmation": reservation_confirmation_deadline,
    "return_request": return_request_deadline,
    "incorrect_delivery": incorrect_delivery_claim_deadline,
    "conformity": conformity_claim_deadline,
}


@dataclass(frozen=True)
class Claim:
    """The buyer's claim, received now, with their words sealed (None when they wrote none)."""

    kind: ClaimKind
    detail: Sealed | None = None


@dataclass(frozen=True)
class AnswerClaim:
    """The shop's answer to a claim, sealed (None only for an order fulfilment never heard
    of, where no claim waits)."""

    kind: ClaimKind
    answer: Sealed | None


@dataclass(frozen=True)
class Delivery:
    """What the claims need of the order's fulfilment state."""

    outcome: str | None
    delivered_on: dt.date | None
    claims: tuple[str, ...]
    answered: tuple[str, ...]
    known: bool = True  # fulfilment heard of the order

    def waiting(self, kind: str) -> bool:
        """A claim (or question) of this kind waits for the shop's answer."""
        return self.claims.count(kind) > self.answered.count(kind)


def decide_claim(delivery: Delivery, command: Claim | AnswerClaim,
                 now: dt.datetime, order_id: str) -> list[Event]:
    """A claim within its window (once per kind; a conformity defect may show after another
    was answered, so one waiting at a time for it, as for a question about the order's
    follow-up), or the rule and the day it ended."""
    if isinstance(command, AnswerClaim):
        if not delivery.waiting(command.kind):
            raise ShippingConflictError(f"no {command.kind} claim is waiting for an answer")
        return [ClaimAnswered(kind=command.kind, sealed_answer=command.answer)]
    if command.kind == "inquiry":
        return [inquiry(delivery, command, paris_date(now), order_id)]
    if delivery.delivered_on is None:
        raise ShippingConflictError("the order was not delivered")
    if command.kind == "reservations_confirmation" and (
            delivery.outcome != "delivered_with_reservations"):
        raise ShippingConflictError("the delivery was accepted without reservations")
    if command.kind == "conformity" and delivery.waiting("conformity"):
        raise ShippingConflictError("a conformity claim is waiting for the shop's answer: add "
                                    "to it there")
    if command.kind != "conformity" and command.kind in delivery.claims:
        raise ShippingConflictError(f"a {command.kind} claim was already received")
    today, window_ends = paris_date(now), WINDOWS[command.kind](
        delivery.delivered_on)
    if today > window_ends:
        raise ShippingConflictError(
            f"the {command.kind.replace('_', ' ')} window ended on {window_ends.isoformat()}")
    claim = ClaimRecorded(kind=command.kind, claimed_on=today, window_ends=window_ends,
                          sealed_detail=command.detail)
    if command.kind != "incorrect_delivery":
        return [claim]
    return [claim, ExchangeReferenceAllocated(exchange_reference=exchange_reference(order_id),
                                              claimed_on=today)]


def inquiry(delivery: Delivery, command: Claim, today: dt.date, order_id: str) -> Event:
    """A question about the order's follow-up, at any time of its life (Art. 4): answered
    within 2 working days; another is taken once the shop has answered the one waiting."""
    if not delivery.known:
        raise ShippingConflictError(f"fulfilment knows no order {order_id}")
    if delivery.waiting("inquiry"):
        raise ShippingConflictError("a question about this order is waiting for the shop's "
                                    "answer: add to it there")
    return ClaimRecorded(kind="inquiry", claimed_on=today, window_ends=today,
                         sealed_detail=command.detail)


def exchange_reference(order_id: str) -> str:
    """The reference the buyer writes on the parcel sent back (postage at the seller's cost)."""
    return "EX-" + hashlib.sha256(order_id.encode()).hexdigest()[:10].upper()
