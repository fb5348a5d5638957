"""Rebuilding a service's read model from the log, the same way for every service.

The read model's tables are locked for the whole rebuild, so live projections wait; everything
committed before the lock is first published by the relay, then the event-derived data is emptied
and every record of the service's topic up to the current end offsets is projected again, in
partition order (one order's events are in one partition, in order). Records the service's relay
did not publish (written to the topic by anything else) are skipped and counted, as the live
consumers dead-letter them; a record of the relay's that does not decode stops the rebuild.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import asyncpg

from contracts.envelope import Envelope, decode_record
from contracts.topics import events_topic
from services.platform.kafka_io import Record, read_topic
from services.platform.relay import published_by
from services.platform.write_path import EventHandler

__all__ = ["ReadModel", "Replay", "rebuild", "row_counts", "update_view"]


@dataclass(frozen=True)
class ReadModel:
    """What a service projects from its own topic, and how to empty it before a replay.

    ``tables`` are emptied; ``derived_columns`` reset event-derived columns of tables that also
    hold data from outside the log (``("stock", "reserved = 0")``: the warehouse's quantities on
    hand stay, the reservations are replayed).
    """

    service: str
    project: EventHandler
    tables: Sequence[str]
    derived_columns: Sequence[tuple[str, str]] = ()

    @property
    def topic(self) -> str:
        """The service's own topic, which the read model is folded from."""
        return events_topic(self.service)

    @property
    def locked_tables(self) -> list[str]:
        """Every table the rebuild writes, in a stable order."""
        return sorted({*self.tables, *(table for table, _ in self.derived_columns)})


@dataclass
class Replay:
    """What a rebuild replayed, and which records of the topic it skipped as not its own."""

    replayed_events: int = 0
    skipped_records: list[str] = field(default_factory=list)


async def rebuild(pool: asyncpg.Pool, bootstrap: str, model: ReadModel,
                  timeout: float = 60) -> Replay:
    """Empty and replay the read model; return what was replayed and skipped."""
    replay = Replay()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"LOCK TABLE {', '.join(model.locked_tables)} "
                           "IN ACCESS EXCLUSIVE MODE")
        await _until_published(pool, timeout)
        for table in model.tables:
            await conn.execute(f"DELETE FROM {table}")
        for table, assignment in model.derived_columns:
            await conn.execute(f"UPDATE {table} SET {assignment}")
        async for record in read_topic(bootstrap, model.topic):
            if await _replay(conn, model, record):
                replay.replayed_events += 1
            else:
                replay.skipped_records.append(f"{record.partition}/{record.offset}")
    return replay


async def _replay(conn: asyncpg.Connection, model: ReadModel, record: Record) -> bool:
    if published_by(record) != model.service:
        return False
    envelope, event = decode_record(record.value)
    await model.project(conn, envelope, event)
    return True


async def row_counts(db: asyncpg.Pool | asyncpg.Connection, model: ReadModel) -> dict[str, int]:
    """How many rows each table of the read model holds."""
    return {table: int(await db.fetchval(f"SELECT count(*) FROM {table}"))
            for table in model.tables}


async def _until_published(pool: asyncpg.Pool, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL"):
            await asyncio.sleep(0.1)


async def update_view(conn: asyncpg.Connection, table: str, envelope: Envelope,
                      **columns: object) -> bool:
    """Set ``columns`` on the order's row of a read model, unless the row already reflects
    this event (its ``version`` is not older): projecting an event twice changes nothing.
    True when the row changed."""
    assignments = ", ".join(f"{name} = ${n}" for n, name in enumerate(columns, start=4))
    status = await conn.execute(
        f"UPDATE {table} SET {assignments}, version = $2, updated_at = $3 "
        "WHERE order_id = $1 AND version < $2",
        envelope.order_id, envelope.version, envelope.occurred_at, *columns.values())
    return bool(status.endswith(" 1"))
