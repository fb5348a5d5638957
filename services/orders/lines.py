"""Unavailable and blocked lines (Art. 4, 7): the buyer cancels an unavailable line or takes an
equivalent wine at the same price, without an answer the line is cancelled when the time to
reply is up, and the seller may cancel a blocked order's line while the rest stays firm. Pure
decisions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Literal

from contracts.base import Event
from contracts.orders import (
    LineExchanged,
    LineUnavailable,
    OrderLineCancelled,
    UnavailabilityNotified,
)
from contracts.policies import paris_date
from contracts.vocabulary import PricedLine


class LineRefusedError(Exception):
    """The request on a line does not fit its state; says why."""


@dataclass(frozen=True)
class NoteUnavailable:
    """Fulfilment could not reserve the line; the buyer has until ``reply_by``."""

    sku: str
    reply_by: dt.datetime


@dataclass(frozen=True)
class RecordUnavailabilityNotified:
    """The e-mail telling the buyer went out, giving them until ``reply_by`` (None: the line's
    time to reply) to choose."""

    sku: str
    message_id: str
    reply_by: dt.datetime | None = None


@dataclass(frozen=True)
class CancelLine:
    """Cancel a line: the buyer's choice for an unavailable one, or the seller's for a blocked
    order."""

    sku: str
    by: Literal["buyer", "seller"]


@dataclass(frozen=True)
class ExchangeLine:
    """The buyer takes ``replacement_sku`` (priced ``replacement_price_cents`` now)."""

    sku: str
    replacement_sku: str
    replacement_price_cents: int


@dataclass(frozen=True)
class CancelUnansweredLines:
    """The sweep's question: whose time to reply is up?"""


LineCommand = (NoteUnavailable | RecordUnavailabilityNotified | CancelLine | ExchangeLine
               | CancelUnansweredLines)


@dataclass(frozen=True)
class Lines:
    """What these decisions need of the order's state."""

    lines: tuple[PricedLine, ...]
    blocked: bool
    unavailable: tuple[tuple[str, dt.datetime], ...]
    notified: tuple[str, ...]
    settled: tuple[str, ...]
    exchanged: tuple[str, ...] = ()
    delivery_charge_cents: int = 0
    replacements: tuple[tuple[str, str], ...] = ()  # (line, the wine it was exchanged for)
    erased: bool = False  # the buyer's data is erased: no one can be told any more


def decide_line(order: Lines, command: LineCommand, now: dt.datetime) -> list[Event]:
    """The events of a line command, or why it is refused."""
    match command:
        case NoteUnavailable():
            if _line(order, command.sku) is None:
                return _replacement_unavailable(order, command.sku, now)
            if command.sku in dict(order.unavailable):
                return []
            return [LineUnavailable(sku=command.sku, quantity=_quantity(order, command.sku),
                                    reply_by=command.reply_by)]
        case RecordUnavailabilityNotified():
            return [] if command.sku in order.notified else [notified(order, command)]
        case CancelLine():
            return [cancel(order, command.sku, command.by, now)]
        case ExchangeLine():
            return [exchange(order, command)]
        case CancelUnansweredLines():
            return _cancelled_unanswered(order, now)


def notified(order: Lines, command: RecordUnavailabilityNotified) -> UnavailabilityNotified:
    """The notice sent; its time to reply, when later than the line's (a notice that went out
    late gives the buyer their whole time to reply from it)."""
    planned = dict(order.unavailable).get(command.sku)
    later = command.reply_by if (command.reply_by is not None and planned is not None
                                 and command.reply_by > planned) else None
    return UnavailabilityNotified(sku=command.sku, message_id=command.message_id,
                                  reply_by=later)


def cancel(order: Lines, sku: str, by: str, now: dt.datetime) -> OrderLineCancelled:
    """The buyer cancels an unavailable line they have not settled; the seller, any line of a
    blocked order (the rest stays firm)."""
    if _line(order, sku) is None:
        raise LineRefusedError(f"{sku} is not in this order")
    if sku in order.settled:
        raise LineRefusedError(f"{sku} was already cancelled or exchanged")
    if by == "seller":
        if not order.blocked:
            raise LineRefusedError("the seller cancels a line of a blocked order only")
        return _cancelled(order, sku, "blocked", now)
    if sku not in dict(order.unavailable):
        raise LineRefusedError(f"{sku} is available: the order is firm")
    return _cancelled(order, sku, "unavailable", now)


def _cancelled_unanswered(order: Lines, now: dt.datetime) -> list[Event]:
    """Each unavailable line whose buyer was told (or can no longer be: erased) and whose time
    to reply is up, cancelled in turn (the last of the order's lines takes the delivery charge
    with it, even among lines cancelled together)."""
    cancelled: list[Event] = []
    for sku, reply_by in order.unavailable:
        told = sku in order.notified or order.erased
        if sku not in order.settled and told and reply_by <= now:
            cancelled.append(_cancelled(order, sku, "unavailable", now))
            order = replace(order, settled=(*order.settled, sku))
    return cancelled


def _replacement_unavailable(order: Lines, sku: str, now: dt.datetime) -> list[Event]:
    """The wine a line was exchanged for could not be set aside either: the line is cancelled
    (its price owed back) rather than left exchanged for a wine that never comes."""
    exchanged_for = {replacement: line for line, replacement in order.replacements}
    if sku not in exchanged_for:
        return []
    return [_cancelled(order, exchanged_for[sku], "unavailable", now)]


def exchange(order: Lines, command: ExchangeLine) -> LineExchanged:
    """An equivalent wine at the same price instead of an unavailable line, and not one the
    order already holds (a line, or another line's replacement)."""
    line = _line(order, command.sku)
    if line is None or command.sku not in dict(order.unavailable):
        raise LineRefusedError(f"{command.sku} is not an unavailable line of this order")
    if command.sku in order.settled:
        raise LineRefusedError(f"{command.sku} was already cancelled or exchanged")
    held = {other.sku for other in order.lines} | {wine for _, wine in order.replacements}
    if command.replacement_sku in held:
        raise LineRefusedError(f"{command.replacement_sku} is already in this order: choose "
                               "another wine")
    if command.replacement_price_cents != line.unit_price_cents:
        raise LineRefusedError(
            f"{command.replacement_sku} is not at the same price "
            f"({line.unit_price_cents} cents a bottle)")
    return LineExchanged(sku=command.sku, replacement_sku=command.replacement_sku,
                         quantity=line.quantity)


def _cancelled(order: Lines, sku: str, cause: Literal["unavailable", "blocked"],
               now: dt.datetime) -> OrderLineCancelled:
    line = _line(order, sku)
    assert line is not None
    kept = [other for other in order.lines if other.sku != sku
            and (other.sku not in order.settled or other.sku in order.exchanged)]
    # the last line cancelled leaves nothing to deliver: the delivery charge goes with it
    refund = line.line_total_cents + (0 if kept else order.delivery_charge_cents)
    return OrderLineCancelled(sku=sku, quantity=line.quantity, refund_cents=refund,
                              cause=cause, cancelled_on=paris_date(now))


def _line(order: Lines, sku: str) -> PricedLine | None:
    return next((line for line in order.lines if line.sku == sku), None)


def _quantity(order: Lines, sku: str) -> int:
    line = _line(order, sku)
    return line.quantity if line else 0
