"""The orders read model (``order_view``), updated in the transaction that records the events.

Idempotent per event (an event older than the row's version changes nothing), so that replaying
the log rebuilds the same rows.
"""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import (
    BuyerDataErased,
    BuyerDataRestricted,
    OrderBlocked,
    OrderPlaced,
    OrderUnblocked,
    PersonalDataRectified,
)
from services.platform.rebuild import ReadModel

__all__ = ["READ_MODEL", "project"]


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one recorded event into ``order_view``."""
    match event:
        case OrderPlaced():
            await _insert_placed(conn, envelope, event)
        case OrderBlocked():
            await _update(conn, envelope, blocked=True, block_reason=event.reason)
        case OrderUnblocked():
            await _update(conn, envelope, blocked=False, block_reason=None)
        case PersonalDataRectified():
            await _update(conn, envelope, personal=event.personal.model_dump(mode="json"))
        case BuyerDataRestricted():
            await _update(conn, envelope, personal_data="restricted",
                          restricted_until=event.until)
        case BuyerDataErased():
            await _update(conn, envelope, personal_data="erased")


READ_MODEL = ReadModel(service="orders", project=project, tables=("order_view",))
"""What ``python -m services.orders.main rebuild`` replays."""


async def _insert_placed(conn: asyncpg.Connection, envelope: Envelope, event: OrderPlaced) -> None:
    data = event.model_dump(mode="json")
    await conn.execute(
        "INSERT INTO order_view (order_id, version, buyer_id, status, lines, personal, "
        "delivery_method, delivery_charge_cents, products_total_cents, total_cents, "
        "terms_version, placed_at, updated_at) "
        "VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7, $8, $9, $10, $11, $11) "
        "ON CONFLICT (order_id) DO NOTHING",
        envelope.order_id, envelope.version, event.buyer_id, data["lines"],
        data["personal"], event.delivery_method, event.delivery_charge_cents,
        event.products_total_cents, event.total_cents, event.terms_version, event.validated_at)


async def _update(conn: asyncpg.Connection, envelope: Envelope, **columns: object) -> None:
    """Set ``columns`` on the order's row, unless the row already reflects this event."""
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, start=4))
    await conn.execute(
        f"UPDATE order_view SET {assignments}, version = $2, updated_at = $3 "
        "WHERE order_id = $1 AND version < $2",
        envelope.order_id, envelope.version, envelope.occurred_at, *columns.values())
