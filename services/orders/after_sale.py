"""The contract after the sale: shipment and delivery as the order sees them, the late
delivery (performance request, termination) and the right of withdrawal. Pure decisions: the
date of ``now`` in Paris is the day a notice is received; deadlines come from
``contracts.policies``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from contracts.base import Event
from contracts.orders import (
    ContractTerminated,
    OrderDelivered,
    OrderDeliveryOverdue,
    OrderDeliveryOverdueWithdrawn,
    OrderShipped,
    PerformanceRequested,
    ProofOfDispatchReceived,
    TerminationVoided,
    WithdrawalRequested,
)
from contracts.policies import paris_date, withdrawal_window_deadline
from contracts.vocabulary import LineQuantity, PricedLine


class AfterSaleRefusedError(Exception):
    """The buyer's request is refused by a rule of the terms; says which, and its date."""


@dataclass(frozen=True)
class NoteShipment:
    """Fulfilment shipped the order."""

    shipped_at: dt.datetime


@dataclass(frozen=True)
class NoteDelivery:
    """Fulfilment recorded the delivery (with or without reservations)."""

    delivered_on: dt.date


@dataclass(frozen=True)
class NoteOverdue:
    """Fulfilment recorded that the delivery deadline passed."""

    deadline: dt.date


@dataclass(frozen=True)
class NoteOverdueWithdrawn:
    """Fulfilment withdrew the overdue: a suspension declared since moved the deadline to
    ``deadline``, not passed."""

    deadline: dt.date


@dataclass(frozen=True)
class RequestPerformance:
    """The buyer asks for delivery by ``perform_by`` (the additional period)."""

    perform_by: dt.date


@dataclass(frozen=True)
class Terminate:
    """The buyer terminates the contract: after the additional period (``late_delivery``), or
    at once when delivery will manifestly not happen (a product unavailable) or when the
    missed date was essential to them."""

    cause: Literal["late_delivery", "manifest_non_delivery", "essential_date_missed"] = (
        "late_delivery")


@dataclass(frozen=True)
class Withdraw:
    """The buyer withdraws ``lines`` (all delivered lines when None); the shop's cheapest
    standard delivery charge caps the delivery refund."""

    lines: tuple[LineQuantity, ...] | None
    cheapest_standard_cents: int


@dataclass(frozen=True)
class RecordProofOfDispatch:
    """The buyer proves they sent the goods back."""

    dispatched_on: dt.date


AfterSaleCommand = (NoteShipment | NoteDelivery | NoteOverdue | NoteOverdueWithdrawn
                    | RequestPerformance | Terminate | Withdraw | RecordProofOfDispatch)


@dataclass(frozen=True)
class Contract:
    """What these decisions need of the order's state."""

    status: str
    lines: tuple[PricedLine, ...]
    delivery_charge_cents: int
    paid_cents: int
    delivered_on: dt.date | None
    overdue_deadline: dt.date | None
    perform_by: dt.date | None
    unavailable_lines: bool = False
    settled_lines: tuple[str, ...] = ()
    refunded_cents: int = 0
    waived_cents: int = 0  # lines cancelled before the payment, never charged
    replacements: tuple[tuple[str, str], ...] = ()  # (line, the wine delivered instead)
    undelivered: tuple[str, ...] = ()  # unavailable lines not answered yet: not in the parcel
    terminated_on: dt.date | None = None  # when the seller received the termination
    proof_of_dispatch_on: dt.date | None = None  # the earliest day the buyer proved


def decide_after_sale(contract: Contract, command: AfterSaleCommand,
                      now: dt.datetime) -> list[Event]:
    """The events of ``command`` on the contract at ``now``, or the rule that refuses it."""
    today = paris_date(now)
    match command:
        case NoteShipment():
            return ([OrderShipped(shipped_at=command.shipped_at)]
                    if contract.status == "confirmed" else [])
        case NoteDelivery():
            return note_delivery(contract, command)
        case NoteOverdue():
            return ([OrderDeliveryOverdue(deadline=command.deadline)]
                    if contract.overdue_deadline is None and contract.delivered_on is None
                    else [])
        case NoteOverdueWithdrawn():
            return overdue_withdrawn(contract, command)
        case RequestPerformance():
            return request_performance(contract, command, today)
        case Terminate():
            return terminate(contract, command, today)
        case Withdraw():
            return withdraw(contract, command, today)
        case RecordProofOfDispatch():
            return record_proof_of_dispatch(contract, command, today)


def note_delivery(contract: Contract, command: NoteDelivery) -> list[Event]:
    """The carrier delivered. A termination the seller received after the day of delivery
    did not take effect (L.216-6): it is voided and the order is delivered. One received on
    the day of delivery stands: a date cannot show the delivery came first."""
    delivered = OrderDelivered(delivered_on=command.delivered_on)
    if contract.status in ("confirmed", "shipped"):
        return [delivered]
    received = contract.terminated_on
    if contract.status == "terminated" and received and command.delivered_on < received:
        return [TerminationVoided(delivered_on=command.delivered_on, received_on=received),
                delivered]
    return []


def overdue_withdrawn(contract: Contract, command: NoteOverdueWithdrawn) -> list[Event]:
    """The delivery was not late after all (force majeure declared after the fact): the
    buyer's remedies wait for the new deadline, and an additional period they gave meanwhile
    is void. A contract the buyer terminated meanwhile stays terminated, and one delivered or
    ended otherwise has nothing to withdraw."""
    if (contract.overdue_deadline is None or contract.delivered_on is not None
            or contract.status not in ("confirmed", "shipped")):
        return []
    return [OrderDeliveryOverdueWithdrawn(deadline=command.deadline)]


def record_proof_of_dispatch(contract: Contract, command: RecordProofOfDispatch,
                             today: dt.date) -> list[Event]:
    """The buyer proves sending the withdrawn goods back. The refund may be deferred to the
    day of dispatch (L.221-24), so only a dispatch that happened can be proved: one dated
    after today would defer the refund on a promise. The earliest day proved is the one that
    counts (refunds takes it): a later one changes nothing, so nothing is recorded, and the
    order shows the day that counts."""
    if contract.status != "withdrawn":
        raise AfterSaleRefusedError("no withdrawal was notified for this order")
    if command.dispatched_on > today:
        raise AfterSaleRefusedError(
            f"the goods cannot have been sent on {command.dispatched_on.isoformat()}, after "
            f"today ({today.isoformat()})")
    earlier = contract.proof_of_dispatch_on
    if earlier is not None and command.dispatched_on >= earlier:
        return []
    return [ProofOfDispatchReceived(dispatched_on=command.dispatched_on)]


def request_performance(contract: Contract, command: RequestPerformance,
                        today: dt.date) -> list[Event]:
    """After a missed deadline, the buyer gives the seller an additional period (once)."""
    _still_undelivered(contract)
    if contract.overdue_deadline is None:
        raise AfterSaleRefusedError("the delivery deadline has not passed")
    if contract.perform_by is not None:
        raise AfterSaleRefusedError(
            f"performance was already requested by {contract.perform_by.isoformat()}")
    if command.perform_by <= today:
        raise AfterSaleRefusedError("the additional period must end after today")
    return [PerformanceRequested(requested_on=today, additional_deadline=command.perform_by)]


def terminate(contract: Contract, command: Terminate, today: dt.date) -> list[Event]:
    """Termination, effective on receipt (today), all sums paid owed back: for late delivery
    once the additional period passed; at once when a product is unavailable, or when the
    deadline passed and the date was essential."""
    _still_undelivered(contract)
    if command.cause == "manifest_non_delivery" and not contract.unavailable_lines:
        raise AfterSaleRefusedError("every product of the order is available")
    if command.cause == "essential_date_missed" and contract.overdue_deadline is None:
        raise AfterSaleRefusedError("the delivery deadline has not passed")
    owed = max(0, contract.paid_cents - contract.refunded_cents)  # lines refunded already
    products = min(owed, sum(line.line_total_cents for line in contract.lines)
                   - contract.refunded_cents - contract.waived_cents)
    terminated = ContractTerminated(cause=command.cause, received_on=today, refund_cents=owed,
                                    products_cents=max(0, products))
    if command.cause != "late_delivery":
        return [terminated]
    if contract.perform_by is None:
        deadline = contract.overdue_deadline
        raise AfterSaleRefusedError(
            "ask for performance within an additional period first (Art. 11)" + (
                f"; the delivery deadline was {deadline.isoformat()}" if deadline else ""))
    if today <= contract.perform_by:
        raise AfterSaleRefusedError(
            f"the additional period runs until {contract.perform_by.isoformat()}")
    return [terminated]


def withdraw(contract: Contract, command: Withdraw, today: dt.date) -> list[Event]:
    """Withdrawal within 14 working days of the last delivery: the products withdrawn plus the
    initial delivery up to the cheapest standard delivery, never the return costs."""
    if contract.delivered_on is None or contract.status not in ("delivered",):
        raise AfterSaleRefusedError("only a delivered order can be withdrawn from")
    last_day = withdrawal_window_deadline(contract.delivered_on)
    if today > last_day:
        raise AfterSaleRefusedError(
            f"the withdrawal period ended on {last_day.isoformat()} (14 working days after "
            f"delivery on {contract.delivered_on.isoformat()})")
    lines = command.lines or _delivered(contract)
    if not lines:
        raise AfterSaleRefusedError("every line was cancelled: nothing was delivered to return")
    if len({line.sku for line in lines}) != len(lines):
        raise AfterSaleRefusedError("a product is on two lines of the withdrawal")
    products = sum(_unit_price(contract, line) * line.quantity for line in lines)
    # never more than was paid and is not owed back already (a delivery charge refunded with
    # the last line cancelled is not refunded again)
    delivery = max(0, min(contract.delivery_charge_cents, command.cheapest_standard_cents,
                          contract.paid_cents - contract.refunded_cents - products))
    return [WithdrawalRequested(notice_on=today, lines=lines, products_refund_cents=products,
                                delivery_refund_cents=delivery)]


def _delivered(contract: Contract) -> tuple[LineQuantity, ...]:
    """What the parcel held: each line neither cancelled, exchanged nor unavailable, and the
    wine each exchanged line was delivered as."""
    instead = dict(contract.replacements)
    return tuple(LineQuantity(sku=instead.get(line.sku, line.sku), quantity=line.quantity)
                 for line in contract.lines if line.sku not in contract.undelivered
                 and (line.sku not in contract.settled_lines or line.sku in instead))


def _unit_price(contract: Contract, wanted: LineQuantity) -> int:
    """The price of a bottle delivered (a replacement: the line it replaced, at the same
    price), within the quantity ordered."""
    line_of = {wine: line for line, wine in contract.replacements}
    sku = line_of.get(wanted.sku, wanted.sku)
    if sku == wanted.sku and sku in contract.settled_lines:
        raise AfterSaleRefusedError(f"{wanted.sku} was cancelled or exchanged: not delivered")
    if sku in contract.undelivered:
        raise AfterSaleRefusedError(f"{wanted.sku} was unavailable: not delivered (cancel it "
                                    "for its price)")
    for line in contract.lines:
        if line.sku == sku:
            if wanted.quantity > line.quantity:
                raise AfterSaleRefusedError(
                    f"{wanted.sku}: {line.quantity} bottles were ordered, not "
                    f"{wanted.quantity}")
            return line.unit_price_cents
    raise AfterSaleRefusedError(f"{wanted.sku} is not in this order")


def _still_undelivered(contract: Contract) -> None:
    if contract.delivered_on is not None:
        raise AfterSaleRefusedError(
            f"the order was delivered on {contract.delivered_on.isoformat()}")
    if contract.status == "terminated":
        raise AfterSaleRefusedError("the contract is already terminated")
    if contract.status not in ("confirmed", "shipped"):
        raise AfterSaleRefusedError(f"the order is {contract.status}: only a confirmed order "
                                    "not yet delivered can be performed or terminated")
