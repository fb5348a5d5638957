"""Reading what a handler recorded, in the tests' own terms."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import asyncpg

from bench.seed import Buyer, ChunkWriter, Plan, template
from contracts.base import Event
from contracts.envelope import Envelope, decode_record
from contracts.personal import Sealed
from services.orders.views import offer_at
from services.platform.rebuild import Decoded, ReadModel

NOW = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)


async def recorded(conn: asyncpg.Connection, order_id: str) -> list[Envelope]:
    """The order's envelopes in the service's event store, in version order."""
    rows = await conn.fetch(
        "SELECT envelope FROM events WHERE order_id = $1 ORDER BY version", order_id)
    return [Envelope.model_validate(row["envelope"]) for row in rows]


async def waiting_on_a_lock(pool: asyncpg.Pool) -> None:
    """Wait until a session of the pool's database waits for a lock another one holds."""
    async with asyncio.timeout(10):
        while not await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"):
            await asyncio.sleep(0.02)


async def recorded_events(conn: asyncpg.Connection, order_id: str) -> list[Event]:
    """The order's typed events, in version order."""
    return [envelope.event() for envelope in await recorded(conn, order_id)]


async def row(conn: asyncpg.Connection, query: str, *args: Any) -> dict[str, Any] | None:
    """One row as a dict, or None."""
    found = await conn.fetchrow(query, *args)
    return dict(found) if found else None


async def empty_read_model(conn: asyncpg.Connection, model: ReadModel) -> None:
    """The read model emptied as a rebuild empties it."""
    for table in model.tables:
        await conn.execute(f"DELETE FROM {table}")
    for table, assignment in model.derived_columns:
        await conn.execute(f"UPDATE {table} SET {assignment}")


async def seeded_orders(conn: asyncpg.Connection, orders: int) -> list[Decoded]:
    """The events of ``orders`` seeded orders (every profile and variant), in log order."""
    offer = await offer_at(conn, NOW)
    buyers = [Buyer.of(f"buyer-{n}", Sealed(key_id=f"key-{n}", nonce="bm9uY2U",
                                            ciphertext="Y2lw")) for n in range(3)]
    plan = Plan([template(offer, variant) for variant in range(5)], buyers, orders,
                int(NOW.timestamp()), partitions=0, build="test")
    writer = ChunkWriter(plan)
    for i in range(orders):
        writer.add(i)
    return [decode_record(row[5].encode()) for row in writer.chunk.events]


async def kept_without(conn: asyncpg.Connection, state: Any, field: str, version: int) -> str:
    """A new stream whose decision state was kept before ``field`` existed (a migration's
    given); its order id."""
    order_id = str(uuid.uuid4())
    kept = state.model_dump(mode="json")
    del kept[field]
    await conn.execute(
        "INSERT INTO streams (order_id, version, last_hash, state) VALUES ($1, $2, 'h', $3)",
        order_id, version, kept)
    return order_id
