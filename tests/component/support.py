"""Reading what a handler recorded, in the tests' own terms."""

from __future__ import annotations

from typing import Any

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope


async def recorded(conn: asyncpg.Connection, order_id: str) -> list[Envelope]:
    """The order's envelopes in the service's event store, in version order."""
    rows = await conn.fetch(
        "SELECT envelope FROM events WHERE order_id = $1 ORDER BY version", order_id)
    return [Envelope.model_validate(row["envelope"]) for row in rows]


async def recorded_events(conn: asyncpg.Connection, order_id: str) -> list[Event]:
    """The order's typed events, in version order."""
    return [envelope.event() for envelope in await recorded(conn, order_id)]


async def row(conn: asyncpg.Connection, query: str, *args: Any) -> dict[str, Any] | None:
    """One row as a dict, or None."""
    found = await conn.fetchrow(query, *args)
    return dict(found) if found else None
