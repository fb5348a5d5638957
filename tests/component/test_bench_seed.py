"""The benchmark's seed on real PostgreSQL: what it writes is what the orders service would have
written — valid envelopes, unbroken chains, the decision state ``evolve`` folds, the read model
the projection folds — and its topic records are what the relay would send.

The seed commits, so it gets a database of its own (dropped at the end).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest_asyncio

from bench.seed import PROFILES, ChunkWriter, plan_seed, seed_orders_log, store_chunk
from contracts.envelope import Envelope, decode_record
from contracts.hashing import verify_chain
from contracts.personal import PersonalData
from services.orders import domain
from services.orders.projections import READ_MODEL
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.personal import PostgresKeyStore, open_sealed
from services.platform.rebuild import snapshot
from services.platform.relay import Relay
from services.platform.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[2]
DATABASE = "component_bench_seed"


@pytest_asyncio.fixture(loop_scope="session")
async def seed_db(server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated orders database, dropped after the test."""
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{DATABASE}"))
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, [PLATFORM_MIGRATIONS, REPO / "services" / "orders" / "migrations"])
    finally:
        await conn.close()
    try:
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.close()


async def _streams(pool: asyncpg.Pool) -> dict[str, list[dict[str, Any]]]:
    streams: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in await pool.fetch("SELECT envelope FROM events ORDER BY position"):
        streams[row["envelope"]["order_id"]].append(row["envelope"])
    return streams


async def test_seeded_streams_are_valid_chained_and_folded(seed_db: str) -> None:
    result = await seed_orders_log(seed_db, "unused:9092", 13, publish=False, chunk_orders=5)

    pool = await create_pool(seed_db, max_size=2)
    try:
        streams = await _streams(pool)
        assert result["events"] == sum(len(s) for s in streams.values()) == sum(
            PROFILES[i % len(PROFILES)] + 1 for i in range(13))
        assert result["orders"] == len(streams) == 13 and result["published"] == 0
        for order_id, stream in streams.items():
            assert verify_chain(stream) == len(stream)
            events = [decode_record(json.dumps(envelope).encode())[1] for envelope in stream]
            state = None
            for event in events:
                state = domain.evolve(state, event)
            row = await pool.fetchrow("SELECT * FROM streams WHERE order_id = $1", order_id)
            assert row["state"] == state.model_dump(mode="json")  # type: ignore[union-attr]
            assert (row["version"], row["last_hash"]) == (len(stream), stream[-1]["hash"])
        assert not await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL")
    finally:
        await pool.close()


async def test_the_seeded_read_model_is_the_projection_of_the_seeded_log(seed_db: str) -> None:
    await seed_orders_log(seed_db, "unused:9092", 9, publish=False)

    pool = await create_pool(seed_db, max_size=2)
    try:
        async with pool.acquire() as conn, conn.transaction():
            seeded = await snapshot(conn, READ_MODEL)
            for table in READ_MODEL.tables:
                await conn.execute(f"DELETE FROM {table}")
            for row in await conn.fetch("SELECT envelope FROM events ORDER BY position"):
                envelope = Envelope.model_validate(row["envelope"])
                await READ_MODEL.project(conn, envelope, envelope.event())
            projected = await snapshot(conn, READ_MODEL)
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await pool.close()
    assert seeded == projected
    assert len(seeded["order_view"]) == 9


class _RollBack(Exception):
    """Leaves the transaction without committing."""


async def test_buyers_personal_data_opens_with_their_keys_and_numbers_are_taken(
        seed_db: str) -> None:
    await seed_orders_log(seed_db, "unused:9092", 4, publish=False)

    pool = await create_pool(seed_db, max_size=2)
    try:
        placed = await pool.fetchval(
            "SELECT envelope FROM events WHERE type = 'OrderPlaced' ORDER BY position LIMIT 1")
        sealed = Envelope.model_validate(placed).event().personal  # type: ignore[attr-defined]
        assert await open_sealed(PostgresKeyStore(pool), sealed, PersonalData) is not None
        numbers = [row[0] for row in await pool.fetch(
            "SELECT number FROM invoice_view ORDER BY number")]
        assert numbers == list(range(1, 5))
        assert await pool.fetchval("SELECT last FROM document_numbers WHERE kind = 'invoice'") == 4
    finally:
        await pool.close()


class Sent:
    """A producer that keeps what it is asked to send."""

    def __init__(self) -> None:
        self.records: dict[int, list[tuple[bytes, bytes, list[tuple[str, bytes]]]]] = (
            defaultdict(list))

    async def send(self, topic: str, *, value: bytes, key: bytes, partition: int,
                   headers: list[tuple[str, bytes]]) -> object:
        assert topic == "orders.events"
        self.records[partition].append((key, value, headers))
        return None


async def test_topic_records_are_what_the_relay_sends_for_the_stored_rows(seed_db: str) -> None:
    conn = await asyncpg.connect(seed_db)  # the seed's own: jsonb as text, COPY in binary
    try:
        plan = await plan_seed(conn, 6, None, "test", partitions=6)
        writer = ChunkWriter(plan)
        for i in range(6):
            writer.add(i)
        await store_chunk(conn, writer.chunk)
    finally:
        await conn.close()
    pool = await create_pool(seed_db, max_size=2)  # the relay's: jsonb as Python objects
    try:
        settings = ServiceSettings.model_construct(service="orders", topic_partitions=6)
        producer = Sent()
        relay = Relay(pool, producer, settings)  # type: ignore[arg-type]
        for row in await pool.fetch("SELECT position, order_id, event_id, envelope FROM events "
                                    "ORDER BY position"):
            await relay._send(row)
    finally:
        await pool.close()
    assert dict(producer.records) == dict(writer.chunk.records)
