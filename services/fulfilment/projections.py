"""The fulfilment read model (``reservation_view``). Idempotent per event, so that replaying
the log, duplicates included, rebuilds the same rows."""

from __future__ import annotations

import asyncpg

from contracts.envelope import Envelope
from contracts.events import Event, ItemUnavailable, StockReserved

_UPSERT = (
    "INSERT INTO reservation_view (order_id, sku, quantity, status, available, version, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (order_id, sku) DO UPDATE SET quantity = EXCLUDED.quantity, "
    "status = EXCLUDED.status, available = EXCLUDED.available, version = EXCLUDED.version, "
    "updated_at = EXCLUDED.updated_at WHERE reservation_view.version < EXCLUDED.version")


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one fulfilment event into ``reservation_view``."""
    match event:
        case StockReserved():
            await conn.executemany(_UPSERT, [
                (envelope.order_id, line.sku, line.quantity, "reserved", None,
                 envelope.version, envelope.occurred_at) for line in event.lines])
        case ItemUnavailable():
            await conn.execute(_UPSERT, envelope.order_id, event.sku, event.requested,
                               "unavailable", event.available, envelope.version,
                               envelope.occurred_at)
