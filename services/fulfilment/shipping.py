"""Fulfilment's pure decisions after confirmation: the delivery deadline, shipping, the
outcome at the door and the overdue delivery. No I/O, no clock: ``now`` is a parameter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from contracts.base import Event
from contracts.fulfilment import (
    Delivered,
    DeliveryAddressCorrected,
    DeliveryAddressGiven,
    DeliveryAttemptFailed,
    DeliveryDeadlineSet,
    DeliveryOverdue,
    DeliveryOverdueWithdrawn,
    DeliveryRefused,
    DeliveryReserved,
    ReturnExpected,
    ReturnReceived,
    Shipped,
    ShippingHeld,
    ShippingReleased,
)
from contracts.policies import delivery_deadline, goods_return_deadline, paris_date
from contracts.vocabulary import LineQuantity

Outcome = Literal["delivered", "delivered_with_reservations", "refused", "absent",
                  "returned_to_sender"]
DELIVERED: frozenset[str] = frozenset({"delivered", "delivered_with_reservations"})
"""Outcomes that end the delivery. A parcel refused at the door (opened or damaged) goes back
to the seller like one returned to sender: the order is still to be delivered, may ship
again, and falls overdue past its deadline (the buyer's remedies for late delivery)."""
FOR_GOOD: frozenset[str] = frozenset({"cancelled", "terminated"})
"""Holds that no unblocking lifts."""


class ShippingConflictError(Exception):
    """The shipment or report does not fit the order's state; says which rule."""


@dataclass(frozen=True)
class SetDeadline:
    """The order is confirmed on ``confirmed_on`` (Paris date)."""

    confirmed_on: dt.date


@dataclass(frozen=True)
class HoldShipping:
    """The order is blocked, cancelled or terminated."""

    reason: str


@dataclass(frozen=True)
class ReleaseShipping:
    """The order's block is lifted."""


@dataclass(frozen=True)
class CorrectAddress:
    """The buyer gave the delivery address again on ``corrected_on`` (Paris date)."""

    corrected_on: dt.date


@dataclass(frozen=True)
class Ship:
    """The warehouse hands the parcel to the carrier."""

    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class ReportDelivery:
    """The carrier's report of what happened at the buyer's door."""

    outcome: Outcome
    at: dt.datetime
    reservations: str | None = None
    collection_point: str | None = None
    collect_by: dt.date | None = None


@dataclass(frozen=True)
class ExpectReturn:
    """The buyer withdrew these lines on ``notice_on``."""

    lines: tuple[LineQuantity, ...]
    notice_on: dt.date


@dataclass(frozen=True)
class ReceiveReturn:
    """The warehouse received the withdrawn goods back."""

    complete: bool
    reason: str | None


ShippingCommand = (SetDeadline | HoldShipping | ReleaseShipping | CorrectAddress | Ship
                   | ReportDelivery | ExpectReturn | ReceiveReturn)


def decide_shipping(state: ShippingView, command: ShippingCommand,
                    now: dt.datetime) -> list[Event]:
    """The events of a shipping command on the order's shipping state."""
    match command:
        case SetDeadline():
            return [] if state.deliver_by else [DeliveryDeadlineSet(
                confirmed_on=command.confirmed_on,
                deliver_by=delivery_deadline(command.confirmed_on))]
        case HoldShipping():
            if state.held == command.reason or state.held in FOR_GOOD:
                return []  # a cancelled or terminated order is held for good
            return [ShippingHeld(reason=command.reason)]
        case ReleaseShipping():
            return [ShippingReleased()] if state.held == "blocked" else []
        case CorrectAddress():
            return correct_address(state, command.corrected_on)
        case Ship():
            _check_shippable(state)
            return [Shipped(carrier=command.carrier, tracking_number=command.tracking_number,
                            shipped_at=now)]
        case ReportDelivery():
            return report_delivery(state, command, paris_date(now))
        case ExpectReturn():
            return [] if state.return_expected else [ReturnExpected(
                lines=command.lines, return_by=goods_return_deadline(command.notice_on))]
        case ReceiveReturn():
            return receive_return(state, command, now)


def receive_return(state: ShippingView, command: ReceiveReturn,
                   now: dt.datetime) -> list[Event]:
    """The withdrawn lines are back (once): complete and in original condition, or not."""
    if not state.return_expected:
        raise ShippingConflictError("no return is expected: the buyer has not withdrawn")
    if state.returned:
        raise ShippingConflictError("the return was already received")
    return [ReturnReceived(received_on=paris_date(now),
                           lines=state.return_expected, complete=command.complete,
                           reason=None if command.complete else command.reason or "not given")]


def correct_address(state: ShippingView, corrected_on: dt.date) -> list[Event]:
    """A parcel back with the seller for an incorrect or incomplete address may ship again
    once the buyer gave the address again (``_address_corrected``). Given while the parcel is
    with the carrier, the address is noted, once: should the parcel come back for it, it ships
    again at once. Nothing otherwise."""
    if state.address_to_correct:
        return [_address_corrected(state, corrected_on)]
    if state.shipped and state.outcome not in DELIVERED and not state.address_given:
        return [DeliveryAddressGiven(given_on=corrected_on)]
    return []


def _address_corrected(state: ShippingView, on: dt.date) -> DeliveryAddressCorrected:
    """Free to ship again, due 5 working days after ``on`` (the time lost is the buyer's),
    unless the delivery was already overdue (the seller was late regardless)."""
    return DeliveryAddressCorrected(corrected_on=on,
                                    deliver_by=None if state.overdue else delivery_deadline(on))


def _check_shippable(state: ShippingView) -> None:
    if state.address_to_correct:
        raise ShippingConflictError("the parcel came back for an incorrect or incomplete "
                                    "address: it ships again once the buyer has corrected it")
    if state.held:
        raise ShippingConflictError(f"the order may not ship: it is {state.held}")
    if state.deliver_by is None:
        raise ShippingConflictError("the order is not confirmed yet: nothing ships before the "
                                    "sale is final (Art. 10)")
    if state.outcome in DELIVERED:
        raise ShippingConflictError(f"the order was already {state.outcome}")
    if state.shipped:
        raise ShippingConflictError("the order has already shipped")


def report_delivery(state: ShippingView, command: ReportDelivery,
                    today: dt.date) -> list[Event]:
    """The outcome as an event; refused for an order not on its way, or dated before its
    parcel left or after today (Paris days: the day is what the deadlines, the withdrawal
    window and a termination's receipt are compared with)."""
    if state.outcome in DELIVERED:
        raise ShippingConflictError(f"the delivery already ended: {state.outcome}")
    if not state.shipped:
        raise ShippingConflictError("no parcel of the order is on its way: it was never "
                                    "shipped, or came back to the seller")
    day = paris_date(command.at)
    if state.shipped_on is not None and day < state.shipped_on:
        raise ShippingConflictError(f"the report is dated {day}, before the parcel left on "
                                    f"{state.shipped_on}")
    if day > today:
        raise ShippingConflictError(f"the report is dated {day}, after today ({today})")
    match command.outcome:
        case "delivered":
            return [Delivered(delivered_on=day)]
        case "delivered_with_reservations":
            return [DeliveryReserved(delivered_on=day,
                                     reservations=command.reservations or "unspecified")]
        case "refused":
            return [DeliveryRefused(refused_on=day,
                                    reason=command.reservations or "opened or damaged parcel")]
    if command.outcome == "absent":
        _check_notice(command, day)
    failed = DeliveryAttemptFailed(outcome=command.outcome, attempted_at=command.at,
                                   collection_point=command.collection_point,
                                   collect_by=command.collect_by)
    if command.outcome == "returned_to_sender" and state.address_given:
        return [failed, _address_corrected(state, day)]  # corrected while it travelled
    return [failed]


def _check_notice(command: ReportDelivery, day: dt.date) -> None:
    """The notice left for an absent buyer says where the parcel waits, and until a day not
    before the attempt."""
    if not command.collection_point or command.collect_by is None:
        raise ShippingConflictError("the buyer was absent: the notice says at which collection "
                                    "point the parcel waits and until when")
    if command.collect_by < day:
        raise ShippingConflictError(f"the parcel cannot wait at the collection point until "
                                    f"{command.collect_by}, before the attempt on {day}")


def overdue(state: ShippingView, today: dt.date) -> list[Event]:
    """``DeliveryOverdue`` once, when ``today`` is past the (suspension-extended) deadline of a
    confirmed order not yet delivered, nor cancelled or terminated, nor back with the seller
    for its address (the time that loses is the buyer's). A blocked order falls overdue all
    the same: the block is the seller's, and only force majeure or an announced closure
    suspend the deadline (Art. 11, 17). Asked of a delivery recorded overdue: whether a
    suspension declared since withdraws it (``withdrawn_overdue``)."""
    deadline = state.effective_deadline
    if state.overdue:
        return withdrawn_overdue(state, today)
    if (deadline is None or state.outcome in DELIVERED or state.held in FOR_GOOD
            or state.address_to_correct):
        return []
    return [DeliveryOverdue(deadline=deadline)] if today > deadline else []


def withdrawn_overdue(state: ShippingView, today: dt.date) -> list[Event]:
    """``DeliveryOverdueWithdrawn`` for a delivery recorded overdue whose deadline, as the
    suspensions declared since extend it (force majeure declared after the fact), has not
    passed: it was never late. Not once delivered, nor cancelled or terminated (the buyer's
    termination stands)."""
    deadline = state.deadline_if_never_late
    if (deadline is None or today > deadline or state.outcome in DELIVERED
            or state.held in FOR_GOOD):
        return []
    return [DeliveryOverdueWithdrawn(deadline=deadline)]


@dataclass(frozen=True)
class ShippingView:
    """What the shipping decisions need of the order's fulfilment state."""

    deliver_by: dt.date | None
    effective_deadline: dt.date | None
    held: str | None
    shipped: bool
    outcome: str | None
    overdue: bool
    return_expected: tuple[LineQuantity, ...] = ()
    returned: bool = False
    shipped_on: dt.date | None = None  # the latest parcel's (Paris date)
    address_to_correct: bool = False  # back for its address: held until the buyer corrects it
    address_given: bool = False  # given again while the parcel was with the carrier
    deadline_if_never_late: dt.date | None = None  # had it not been recorded overdue
