"""The fulfilment read model: ``reservation_view`` per order and SKU, and the quantities set
aside in ``stock.reserved``. Both are folded from ``fulfilment.events`` in the transaction that
records the events, so a replay of the log gives them back (the warehouse's quantities on hand
are not events and stay as they are)."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.fulfilment import ItemUnavailable, ReservationReleased, StockReserved
from services.platform.rebuild import ReadModel

__all__ = ["READ_MODEL", "project"]

_UPSERT = (
    "INSERT INTO reservation_view (order_id, sku, quantity, status, available, version, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (order_id, sku) DO UPDATE SET quantity = EXCLUDED.quantity, "
    "status = EXCLUDED.status, available = EXCLUDED.available, version = EXCLUDED.version, "
    "updated_at = EXCLUDED.updated_at WHERE reservation_view.version < EXCLUDED.version "
    "RETURNING 1")


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one fulfilment event into the read model and the stock set aside."""
    match event:
        case StockReserved():
            for line in event.lines:
                changed = await conn.fetchval(
                    _UPSERT, envelope.order_id, line.sku, line.quantity, "reserved", None,
                    envelope.version, envelope.occurred_at)
                if changed:  # an event seen before sets nothing aside twice
                    await conn.execute("UPDATE stock SET reserved = reserved + $2 "
                                       "WHERE sku = $1", line.sku, line.quantity)
        case ItemUnavailable():
            await conn.fetchval(_UPSERT, envelope.order_id, event.sku, event.requested,
                               "unavailable", event.available, envelope.version,
                               envelope.occurred_at)
        case ReservationReleased():
            for line in event.lines:
                changed = await conn.fetchval(
                    _UPSERT, envelope.order_id, line.sku, line.quantity, "released", None,
                    envelope.version, envelope.occurred_at)
                if changed:  # given back once, however often the event is projected
                    await conn.execute("UPDATE stock SET reserved = reserved - $2 "
                                       "WHERE sku = $1", line.sku, line.quantity)


READ_MODEL = ReadModel(service="fulfilment", project=project,
                       tables=("reservation_view",), derived_columns=(("stock", "reserved = 0"),))
"""What ``python -m services.fulfilment.main rebuild`` replays."""
