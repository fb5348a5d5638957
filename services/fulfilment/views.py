"""Queries on the fulfilment read model."""

from __future__ import annotations

from typing import Any

import asyncpg


async def reservation(db: asyncpg.Pool | asyncpg.Connection,
                      order_id: str) -> dict[str, Any] | None:
    """The order's reservation lines, or None if fulfilment has not seen the order."""
    rows = await db.fetch(
        "SELECT sku, quantity, status, available FROM reservation_view WHERE order_id = $1 "
        "ORDER BY sku", order_id)
    if not rows:
        return None
    return {"order_id": order_id, "lines": [dict(row) for row in rows]}


async def stock_level(db: asyncpg.Pool | asyncpg.Connection, sku: str) -> dict[str, Any] | None:
    """On hand, reserved and available quantities of ``sku``."""
    row = await db.fetchrow(
        "SELECT sku, on_hand, reserved, on_hand - reserved AS available FROM stock "
        "WHERE sku = $1", sku)
    return dict(row) if row else None


async def all_reservations(db: asyncpg.Pool | asyncpg.Connection) -> list[dict[str, Any]]:
    """The whole read model in a stable order (to compare a rebuild with the live one)."""
    rows = await db.fetch("SELECT * FROM reservation_view ORDER BY order_id, sku")
    return [dict(row) for row in rows]
