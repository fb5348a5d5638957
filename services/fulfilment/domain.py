"""Fulfilment: pure decisions on reserving stock for an order. No I/O, no clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from contracts.base import Event
from contracts.fulfilment import (
    ClaimAnswered,
    ClaimRecorded,
    DeadlinesSuspended,
    Delivered,
    DeliveryAddressCorrected,
    DeliveryAddressGiven,
    DeliveryAttemptFailed,
    DeliveryDeadlineSet,
    DeliveryOverdue,
    DeliveryOverdueWithdrawn,
    DeliveryRefused,
    DeliveryReserved,
    ItemUnavailable,
    ParcelRestocked,
    ReservationReleased,
    ReturnExpected,
    ReturnReceived,
    Shipped,
    ShippingHeld,
    ShippingReleased,
    StockReserved,
    SuspensionKind,
)
from contracts.policies import add_working_days, delivery_deadline, is_working_day, paris_date
from contracts.vocabulary import LineQuantity
from services.fulfilment.claims import AnswerClaim, Claim, Delivery, decide_claim
from services.fulfilment.shipping import (
    FOR_GOOD,
    ShippingCommand,
    ShippingConflictError,
    ShippingView,
    decide_shipping,
    overdue,
)


@dataclass(frozen=True)
class ReserveStock:
    """Set stock aside for a placed order, given what is available per SKU right now."""

    lines: tuple[LineQuantity, ...]
    available: Mapping[str, int]


@dataclass(frozen=True)
class ReleaseReservation:
    """The order was cancelled: give back what was set aside for it."""


@dataclass(frozen=True)
class ReserveReplacement:
    """The buyer took ``line`` instead of an unavailable one: reserve it if stock covers it."""

    line: LineQuantity
    available: int


@dataclass(frozen=True)
class ReleaseLine:
    """One line of the order was cancelled: give its reserved bottles back."""

    sku: str


@dataclass(frozen=True)
class MarkOverdue:
    """The sweep's question: is the delivery overdue, given the suspended periods? (Asked of a
    delivery recorded overdue too: a suspension declared since may have undone it.)"""

    suspensions: tuple[tuple[dt.date, dt.date], ...] = ()


@dataclass(frozen=True)
class OnClaim:
    """A claim or its answer, for the order ``order_id``."""

    order_id: str
    command: Claim | AnswerClaim


Command = (ReserveStock | ReleaseReservation | ShippingCommand | MarkOverdue | OnClaim
           | ReserveReplacement | ReleaseLine)


class FulfilmentState(BaseModel):
    """The fulfilment decision state of one order."""

    model_config = ConfigDict(frozen=True)
    reserved: tuple[LineQuantity, ...] = ()
    unavailable: tuple[str, ...] = ()
    released: bool = False
    released_skus: tuple[str, ...] = ()
    confirmed_on: dt.date | None = None
    deliver_by: dt.date | None = None
    deadline_from: dt.date | None = None  # the address corrected: counted from then
    corrected_while_late: dt.date | None = None  # corrected while overdue: not counted from
    address_to_correct: bool = False  # the parcel came back for an incorrect address
    address_given_on: dt.date | None = None  # given again while the parcel travelled
    held: str | None = None
    shipped: bool = False
    outcome: str | None = None
    overdue: bool = False
    return_expected: tuple[LineQuantity, ...] = ()
    returned: bool = False
    shipped_on: dt.date | None = None  # the latest parcel's (Paris date)
    delivered_on: dt.date | None = None
    claims: tuple[str, ...] = ()
    answered: tuple[str, ...] = ()
    restocked: bool = False  # the parcel came back and the contract ended: sold again

    @property
    def left_warehouse(self) -> bool:
        """A parcel of the order was handed to the carrier (even if it came back since; a
        state kept before ``shipped_on`` was shows it by an outcome at the door)."""
        return self.shipped or self.shipped_on is not None or self.outcome is not None

    @property
    def on_its_way(self) -> bool:
        """A parcel is with the carrier (a state kept before a refused parcel cleared
        ``shipped`` still had it set)."""
        return self.shipped and self.outcome != "refused"


def decide(state: FulfilmentState | None, command: Command, now: dt.datetime) -> list[Event]:
    """Reserve each line that stock covers and report the others as unavailable; or release
    a cancelled order's reservation.

    An order whose stock was already decided gets nothing new (the decision is made once); a
    reservation is released once, and an order cancelled before any reservation releases
    nothing.
    """
    if isinstance(command, ReserveReplacement | ReleaseLine):
        return line_change(state or FulfilmentState(), command)
    if isinstance(command, OnClaim):
        current = state or FulfilmentState()
        delivery = Delivery(current.outcome, current.delivered_on, current.claims,
                            current.answered, known=state is not None)
        return decide_claim(delivery, command.command, now, command.order_id)
    if isinstance(command, MarkOverdue):
        return overdue(_view(state, command.suspensions), paris_date(now))
    if not isinstance(command, ReserveStock | ReleaseReservation):
        decided = decide_shipping(_view(state), command, now)
        return [*decided, *_restocked(_fold(state, decided))]
    if isinstance(command, ReleaseReservation):
        if state is None or state.released or state.left_warehouse:
            return []  # nothing set aside, given back already, or it left the warehouse
        remaining = tuple(line for line in state.reserved
                          if line.sku not in state.released_skus)
        return [ReservationReleased(lines=remaining)] if remaining else []
    if state is not None:
        return []
    reserved = tuple(line for line in command.lines
                     if command.available.get(line.sku, 0) >= line.quantity)
    events: list[Event] = [StockReserved(lines=reserved)] if reserved else []
    events += [ItemUnavailable(sku=line.sku, requested=line.quantity,
                               available=command.available.get(line.sku, 0))
               for line in command.lines if line not in reserved]
    return events


def line_change(state: FulfilmentState, command: ReserveReplacement | ReleaseLine) -> list[Event]:
    """Reserve a replacement line (once), or release a cancelled line's bottles (once)."""
    if isinstance(command, ReleaseLine):
        reserved = tuple(line for line in state.reserved if line.sku == command.sku)
        if (not reserved or state.released or state.left_warehouse
                or command.sku in state.released_skus):
            return []  # nothing set aside, or it already left the warehouse
        return [ReservationReleased(lines=reserved)]
    line = command.line
    if any(held.sku == line.sku for held in state.reserved) or line.sku in state.unavailable:
        return []
    if state.left_warehouse:  # the exchange crossed the shipment: none can join that parcel
        return [ItemUnavailable(sku=line.sku, requested=line.quantity, available=0)]
    if command.available >= line.quantity:
        return [StockReserved(lines=(line,))]
    return [ItemUnavailable(sku=line.sku, requested=line.quantity, available=command.available)]


def extended_deadline(confirmed_on: dt.date,
                      suspensions: tuple[tuple[dt.date, dt.date], ...]) -> dt.date:
    """The delivery deadline counted from ``confirmed_on`` (or the day it restarted), pushed by
    every working day of a suspended period (force majeure, announced closure) inside it."""
    deadline = delivery_deadline(confirmed_on)
    start = confirmed_on
    while extra := _suspended_working_days(start, deadline, suspensions):
        start, deadline = deadline, add_working_days(deadline, extra)
    return deadline


def _suspended_working_days(after: dt.date, until: dt.date,
                            suspensions: tuple[tuple[dt.date, dt.date], ...]) -> int:
    days = {after + dt.timedelta(days=n) for n in range(1, (until - after).days + 1)}
    suspended = {day for day in days for first, last in suspensions if first <= day <= last}
    return sum(1 for day in suspended if is_working_day(day))


def _view(state: FulfilmentState | None,
          suspensions: tuple[tuple[dt.date, dt.date], ...] = ()) -> ShippingView:
    state = state or FulfilmentState()
    effective = _effective_deadline(state, suspensions)
    return ShippingView(deliver_by=state.deliver_by, effective_deadline=effective,
                        deadline_if_never_late=_deadline_if_never_late(state, effective,
                                                                       suspensions),
                        held=state.held, shipped=state.on_its_way, outcome=state.outcome,
                        overdue=state.overdue, return_expected=state.return_expected,
                        returned=state.returned, shipped_on=state.shipped_on,
                        address_to_correct=state.address_to_correct,
                        address_given=state.address_given_on is not None)


def _effective_deadline(state: FulfilmentState,
                        suspensions: tuple[tuple[dt.date, dt.date], ...]) -> dt.date | None:
    """The deadline in force: the confirmation's, or once a parcel back for its address was
    corrected, the later of it and the one counted from the correction (suspensions pushing
    each)."""
    if state.confirmed_on is None:
        return None
    deadline = extended_deadline(state.confirmed_on, suspensions)
    if state.deadline_from is None:
        return deadline
    return max(deadline, extended_deadline(state.deadline_from, suspensions))


def suspension(first_day: dt.date, last_day: dt.date, reason: str,
               kind: SuspensionKind, today: dt.date) -> DeadlinesSuspended:
    """A period when delivery deadlines are suspended (Art. 11, 17). Force majeure may be
    declared once it has begun, or over; a closure suspends them only if announced, so it is
    recorded by its first day: one already begun would take back late deliveries' remedies
    after the fact."""
    if kind == "closure" and first_day < today:
        raise ShippingConflictError(
            f"a closure is announced by its first day: {first_day.isoformat()} is before today "
            f"({today.isoformat()}); a period already begun can only be force majeure")
    return DeadlinesSuspended(first_day=first_day, last_day=last_day, reason=reason, kind=kind)


def _deadline_if_never_late(state: FulfilmentState, effective: dt.date | None,
                            suspensions: tuple[tuple[dt.date, dt.date], ...]) -> dt.date | None:
    """The deadline in force had the delivery never been recorded late: an address corrected
    while it was (which did not restart the deadline then) restarts it too, if corrected by
    the deadline the suspensions now give."""
    late_fix = state.corrected_while_late
    if effective is None or late_fix is None or late_fix > effective:
        return effective
    return max(effective, extended_deadline(late_fix, suspensions))


def evolve(state: FulfilmentState | None, event: Event) -> FulfilmentState:
    """The order's fulfilment state after ``event``."""
    current = state or FulfilmentState()
    if (after := _shipping_evolve(current, event)) is not None:
        return after
    match event:
        case StockReserved():  # a replacement after the others were given back: not released
            return current.model_copy(update={"reserved": current.reserved + event.lines,
                                              "released": False})
        case ItemUnavailable():
            return current.model_copy(update={"unavailable": (*current.unavailable, event.sku)})
        case ReservationReleased():
            skus = tuple(line.sku for line in event.lines)
            whole = {line.sku for line in current.reserved} <= {*current.released_skus, *skus}
            return current.model_copy(update={"released": whole,
                                              "released_skus": (*current.released_skus, *skus)})
    return current


def _fold(state: FulfilmentState | None, events: list[Event]) -> FulfilmentState:
    current = state or FulfilmentState()
    for event in events:
        current = evolve(current, event)
    return current


def _restocked(state: FulfilmentState) -> list[Event]:
    """The parcel the carrier returned to the seller, once the contract ended for good (held
    cancelled or terminated; in either order): its bottles are in stock again, once."""
    back = state.outcome == "returned_to_sender" and not state.shipped
    if not back or state.held not in FOR_GOOD or state.restocked:
        return []
    lines = tuple(line for line in state.reserved if line.sku not in state.released_skus)
    return [ParcelRestocked(lines=lines)] if lines else []


def _shipping_evolve(state: FulfilmentState, event: Event) -> FulfilmentState | None:
    match event:
        case DeliveryDeadlineSet():
            return state.model_copy(update={"confirmed_on": event.confirmed_on,
                                            "deliver_by": event.deliver_by})
        case DeliveryAddressCorrected():
            restarted = {"corrected_while_late": event.corrected_on} if (
                event.deliver_by is None) else {
                "deadline_from": event.corrected_on, "deliver_by": event.deliver_by}
            return state.model_copy(update={"address_to_correct": False,
                                            "address_given_on": None, **restarted})
        case DeliveryAddressGiven():
            return state.model_copy(update={"address_given_on": event.given_on})
        case ShippingHeld():
            return state.model_copy(update={"held": event.reason})
        case ShippingReleased():
            return state.model_copy(update={"held": None})
        case Shipped():  # a parcel reshipped before the address had to be corrected, too
            return state.model_copy(update={"shipped": True, "outcome": None,
                                            "shipped_on": paris_date(event.shipped_at),
                                            "address_to_correct": False,
                                            "address_given_on": None})
        case Delivered() | DeliveryReserved():
            return state.model_copy(update={"outcome": _OUTCOMES[type(event)],
                                            "delivered_on": event.delivered_on})
        case DeliveryRefused():  # the parcel goes back to the seller
            return state.model_copy(update={"outcome": "refused", "shipped": False})
        case ClaimRecorded():
            return state.model_copy(update={"claims": (*state.claims, event.kind)})
        case ClaimAnswered():
            return state.model_copy(update={"answered": (*state.answered, event.kind)})
        case DeliveryAttemptFailed():
            back = event.outcome == "returned_to_sender"
            return state.model_copy(update={"outcome": event.outcome, "shipped": not back,
                                            "address_to_correct": back})
        case DeliveryOverdue():
            return state.model_copy(update={"overdue": True})
        case DeliveryOverdueWithdrawn():  # never late: a correction meanwhile counts
            late_fix = state.corrected_while_late
            return state.model_copy(update={"overdue": False, "corrected_while_late": None, **(
                {"deadline_from": late_fix} if late_fix else {})})
        case ReturnExpected():
            return state.model_copy(update={"return_expected": event.lines})
        case ReturnReceived():
            return state.model_copy(update={"returned": True})
        case ParcelRestocked():
            return state.model_copy(update={"restocked": True})
    return None


_OUTCOMES: dict[type[Event], str] = {Delivered: "delivered",
                                     DeliveryReserved: "delivered_with_reservations",
                                     DeliveryRefused: "refused"}
