"""Queries on the fulfilment read model, with typed results."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.personal import ERASED, FreeText, Sealed
from contracts.policies import add_working_days, is_working_day
from services.platform.db import Db
from services.platform.personal import KeyStore, open_all

__all__ = [
    "ClaimView",
    "OverdueDelivery",
    "ReservationLine",
    "ReservationView",
    "ShipmentView",
    "StockLevel",
    "all_reservations",
    "awaiting_delivery",
    "claims",
    "overdue_deliveries",
    "reservation",
    "shipment",
    "stock_level",
    "suspensions",
]


class ReservationLine(BaseModel):
    """One SKU of an order: reserved, or unavailable with what was available."""

    sku: str
    quantity: int
    status: Literal["reserved", "unavailable", "released", "shipped", "restocked"]
    available: int | None


class ReservationView(BaseModel):
    """What fulfilment set aside for an order."""

    order_id: str
    lines: list[ReservationLine]


class StockLevel(BaseModel):
    """On hand (taken in by the warehouse), reserved, shipped and available bottles of a SKU."""

    sku: str
    on_hand: int
    reserved: int
    shipped: int
    available: int


async def reservation(db: Db, order_id: str) -> ReservationView | None:
    """The order's reservation lines, or None if fulfilment has not seen the order."""
    rows = await db.fetch(
        "SELECT sku, quantity, status, available FROM reservation_view WHERE order_id = $1 "
        "ORDER BY sku", order_id)
    if not rows:
        return None
    return ReservationView(order_id=order_id,
                           lines=[ReservationLine.model_validate(dict(row)) for row in rows])


async def stock_level(db: Db, sku: str) -> StockLevel | None:
    """On hand, reserved and available quantities of ``sku``."""
    row = await db.fetchrow(
        "SELECT sku, on_hand, reserved, shipped, on_hand - reserved - shipped AS available "
        "FROM stock "
        "WHERE sku = $1", sku)
    return StockLevel.model_validate(dict(row)) if row else None


class ShipmentView(BaseModel):
    """An order's delivery deadline, shipment and outcome at the door."""

    order_id: str
    version: int
    confirmed_on: dt.date | None
    deliver_by: dt.date | None
    address_to_correct: bool = Field(default=False, description=(
        "the parcel came back for an incorrect or incomplete address: it ships again once the "
        "buyer has corrected it (rectification), and is not overdue meanwhile"))
    deadline_restarted_on: dt.date | None = Field(default=None, description=(
        "the address corrected that day: deliver_by counted again from it"))
    held: str | None
    carrier: str | None
    tracking_number: str | None
    shipped_at: dt.datetime | None
    outcome: str | None
    outcome_on: dt.date | None
    reservations: str | None
    collection_point: str | None
    collect_by: dt.date | None
    overdue_since: dt.date | None
    overdue_deadline: dt.date | None = Field(default=None, description=(
        "the deadline it passed: deliver_by extended by the suspensions declared"))
    return_by: dt.date | None
    returned_on: dt.date | None
    return_complete: bool | None
    return_reason: str | None
    updated_at: dt.datetime


async def shipment(db: Db, order_id: str) -> ShipmentView | None:
    """The order's shipment, or None before fulfilment heard of its confirmation."""
    row = await db.fetchrow("SELECT * FROM shipment_view WHERE order_id = $1", order_id)
    return None if row is None else ShipmentView.model_validate(dict(row))


_STILL_TO_DELIVER = ("(held IS NULL OR held = 'blocked') "
                     "AND (outcome IS NULL OR outcome IN ('absent', 'returned_to_sender', "
                     "'refused'))")
"""A shipment neither cancelled nor terminated (a seller's block holds it only for a while)
nor delivered: the predicate of the overdue sweep's work lists and their partial indexes."""


async def awaiting_delivery(db: Db, deadline_before: dt.date, limit: int = 500) -> list[str]:
    """Confirmed orders not delivered, not cancelled or terminated nor back for their address,
    not yet overdue, whose deadline is before the date, oldest deadline first (the overdue
    sweep's candidates; a suspension may still push some of them). Those are never overdue:
    listed, they would stay at the head of the list and keep newer orders off it."""
    rows = await db.fetch(
        "SELECT order_id FROM shipment_view WHERE deliver_by < $1 AND overdue_since IS NULL "
        f"AND NOT address_to_correct AND {_STILL_TO_DELIVER} "
        "ORDER BY deliver_by LIMIT $2", deadline_before, limit)
    return [row["order_id"] for row in rows]


async def recorded_overdue(db: Db) -> list[str]:
    """Orders recorded overdue and still to deliver (not delivered, cancelled or terminated):
    those a suspension declared after the fact may undo."""
    rows = await db.fetch(
        f"SELECT order_id FROM shipment_view WHERE overdue_since IS NOT NULL "
        f"AND {_STILL_TO_DELIVER} ORDER BY overdue_since, order_id")
    return [row["order_id"] for row in rows]


async def suspensions(db: Db) -> tuple[tuple[dt.date, dt.date], ...]:
    """Every period when delivery deadlines are suspended."""
    rows = await db.fetch("SELECT first_day, last_day FROM deadline_suspensions ORDER BY 1, 2")
    return tuple((row["first_day"], row["last_day"]) for row in rows)


class ClaimView(BaseModel):
    """A buyer's claim, its window, and the shop's answer (due within 2 working days). What was
    written reads ``[erased]`` once the buyer's data was erased."""

    order_id: str
    kind: str
    claimed_on: dt.date
    window_ends: dt.date
    detail: str = Field(description="the buyer's words (empty when they wrote none)")
    exchange_reference: str | None
    answer: str | None
    answered_at: dt.datetime | None
    answer_due: dt.date
    working_days_waited: int


class OverdueDelivery(BaseModel):
    """An order past its delivery deadline, not delivered."""

    order_id: str
    deliver_by: dt.date
    deadline: dt.date = Field(description=(
        "the deadline passed: deliver_by extended by the suspensions declared (force majeure, "
        "an announced closure)"))
    overdue_since: dt.date
    days_late: int = Field(description="days since the deadline passed")
    blocked: bool = Field(default=False, description=(
        "the seller blocked the order (it may not ship until unblocked): its deadline ran on"))


async def claims(db: Db, keys: KeyStore, today: dt.date, *, waiting_only: bool = False,
                 order_id: str | None = None) -> list[ClaimView]:
    """Claims (of one order, or those still waiting for an answer), with how long they have
    waited in working days against the 2-working-day answer rule; what was written about them
    opened with one key lookup."""
    rows = [dict(row) for row in await db.fetch(
        "SELECT * FROM claim_view WHERE ($1::text IS NULL OR order_id = $1) "
        "AND (NOT $2 OR answered_at IS NULL) ORDER BY claimed_on, order_id, kind",
        order_id, waiting_only)]
    words = await _opened(keys, rows)
    return [ClaimView(**{**row, "detail": words.get((index, "sealed_detail"), row["detail"]),
                         "answer": words.get((index, "sealed_answer"), row["answer"])},
                      answer_due=add_working_days(row["claimed_on"], 2),
                      working_days_waited=_working_days_between(row["claimed_on"], today))
            for index, row in enumerate(rows)]


async def _opened(keys: KeyStore, rows: list[dict[str, Any]]) -> dict[tuple[int, str], str]:
    """The sealed words of ``rows`` by (row, column), ``[erased]`` for a destroyed key; claims
    recorded before the words were sealed have none here and keep their text in clear."""
    places = [(index, column) for index, row in enumerate(rows)
              for column in ("sealed_detail", "sealed_answer") if row[column] is not None]
    if not places:
        return {}
    opened = await open_all(keys, (Sealed.model_validate(rows[i][c]) for i, c in places),
                            FreeText)
    return {place: words.text if words else ERASED
            for place, words in zip(places, opened, strict=True)}


async def overdue_deliveries(db: Db, today: dt.date) -> list[OverdueDelivery]:
    """Orders past their delivery deadline and not delivered, the longest late first."""
    rows = await db.fetch(
        "SELECT order_id, deliver_by, coalesce(overdue_deadline, deliver_by) AS deadline, "
        "overdue_since, held IS NOT NULL AS blocked FROM shipment_view "
        f"WHERE overdue_since IS NOT NULL AND {_STILL_TO_DELIVER} "
        "ORDER BY deadline, order_id")
    return [OverdueDelivery(**dict(row), days_late=(today - row["deadline"]).days)
            for row in rows]


def _working_days_between(start: dt.date, end: dt.date) -> int:
    return sum(1 for n in range(1, (end - start).days + 1)
               if is_working_day(start + dt.timedelta(days=n)))


async def all_reservations(db: Db) -> list[dict[str, object]]:
    """The whole read model in a stable order (to compare a rebuild with the live one)."""
    rows = await db.fetch("SELECT * FROM reservation_view ORDER BY order_id, sku")
    return [dict(row) for row in rows]
