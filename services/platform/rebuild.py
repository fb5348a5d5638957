"""Rebuilding a service's read model from the log, the same way for every service.

The read model's tables are locked for the whole rebuild, so live projections wait; everything
committed before the lock is first published by the relay, then the event-derived data is emptied
and every record of the service's topic up to the current end offsets is projected again, in
partition order (one order's events are in one partition, in order).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from contracts.envelope import decode_record
from services.platform.kafka_io import read_topic
from services.platform.write_path import EventHandler

__all__ = ["ReadModel", "rebuild", "row_counts"]


@dataclass(frozen=True)
class ReadModel:
    """What a service projects from its own topic, and how to empty it before a replay.

    ``tables`` are emptied; ``derived_columns`` reset event-derived columns of tables that also
    hold data from outside the log (``("stock", "reserved = 0")``: the warehouse's quantities on
    hand stay, the reservations are replayed).
    """

    topic: str
    project: EventHandler
    tables: Sequence[str]
    derived_columns: Sequence[tuple[str, str]] = ()

    @property
    def locked_tables(self) -> list[str]:
        """Every table the rebuild writes, in a stable order."""
        return sorted({*self.tables, *(table for table, _ in self.derived_columns)})


async def rebuild(pool: asyncpg.Pool, bootstrap: str, model: ReadModel,
                  timeout: float = 60) -> int:
    """Empty and replay the read model; return the number of events replayed."""
    replayed = 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"LOCK TABLE {', '.join(model.locked_tables)} "
                           "IN ACCESS EXCLUSIVE MODE")
        await _until_published(pool, timeout)
        for table in model.tables:
            await conn.execute(f"DELETE FROM {table}")
        for table, assignment in model.derived_columns:
            await conn.execute(f"UPDATE {table} SET {assignment}")
        async for record in read_topic(bootstrap, model.topic):
            envelope, event = decode_record(record.value)
            await model.project(conn, envelope, event)
            replayed += 1
    return replayed


async def row_counts(db: asyncpg.Pool | asyncpg.Connection, model: ReadModel) -> dict[str, int]:
    """How many rows each table of the read model holds."""
    return {table: int(await db.fetchval(f"SELECT count(*) FROM {table}"))
            for table in model.tables}


async def _until_published(pool: asyncpg.Pool, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL"):
            await asyncio.sleep(0.1)
