"""Fulfilment: pure decisions on reserving stock for an order. No I/O, no clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from contracts.base import Event
from contracts.fulfilment import ItemUnavailable, ReservationReleased, StockReserved
from contracts.vocabulary import LineQuantity


@dataclass(frozen=True)
class ReserveStock:
    """Set stock aside for a placed order, given what is available per SKU right now."""

    lines: tuple[LineQuantity, ...]
    available: Mapping[str, int]


@dataclass(frozen=True)
class ReleaseReservation:
    """The order was cancelled: give back what was set aside for it."""


Command = ReserveStock | ReleaseReservation


class FulfilmentState(BaseModel):
    """The fulfilment decision state of one order."""

    model_config = ConfigDict(frozen=True)
    reserved: tuple[LineQuantity, ...] = ()
    unavailable: tuple[str, ...] = ()
    released: bool = False


def decide(state: FulfilmentState | None, command: Command, now: dt.datetime) -> list[Event]:
    """Reserve each line that stock covers and report the others as unavailable; or release
    a cancelled order's reservation.

    An order whose stock was already decided gets nothing new (the decision is made once); a
    reservation is released once, and an order cancelled before any reservation releases
    nothing.
    """
    del now  # reservations do not depend on the time; kept for the uniform decide signature
    if isinstance(command, ReleaseReservation):
        if state is None or state.released or not state.reserved:
            return []
        return [ReservationReleased(lines=state.reserved)]
    if state is not None:
        return []
    reserved = tuple(line for line in command.lines
                     if command.available.get(line.sku, 0) >= line.quantity)
    events: list[Event] = [StockReserved(lines=reserved)] if reserved else []
    events += [ItemUnavailable(sku=line.sku, requested=line.quantity,
                               available=command.available.get(line.sku, 0))
               for line in command.lines if line not in reserved]
    return events


def evolve(state: FulfilmentState | None, event: Event) -> FulfilmentState:
    """The order's fulfilment state after ``event``."""
    current = state or FulfilmentState()
    match event:
        case StockReserved():
            return current.model_copy(update={"reserved": current.reserved + event.lines})
        case ItemUnavailable():
            return current.model_copy(update={"unavailable": (*current.unavailable, event.sku)})
        case ReservationReleased():
            return current.model_copy(update={"released": True})
    return current
