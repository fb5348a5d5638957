"""Queries on the fulfilment read model, with typed results."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from services.platform.db import Db

__all__ = ["ReservationLine", "ReservationView", "StockLevel", "all_reservations",
           "reservation", "stock_level"]


class ReservationLine(BaseModel):
    """One SKU of an order: reserved, or unavailable with what was available."""

    sku: str
    quantity: int
    status: Literal["reserved", "unavailable", "released"]
    available: int | None


class ReservationView(BaseModel):
    """What fulfilment set aside for an order."""

    order_id: str
    lines: list[ReservationLine]


class StockLevel(BaseModel):
    """On hand, reserved and available quantities of a SKU."""

    sku: str
    on_hand: int
    reserved: int
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
        "SELECT sku, on_hand, reserved, on_hand - reserved AS available FROM stock "
        "WHERE sku = $1", sku)
    return StockLevel.model_validate(dict(row)) if row else None


async def all_reservations(db: Db) -> list[dict[str, object]]:
    """The whole read model in a stable order (to compare a rebuild with the live one)."""
    rows = await db.fetch("SELECT * FROM reservation_view ORDER BY order_id, sku")
    return [dict(row) for row in rows]
