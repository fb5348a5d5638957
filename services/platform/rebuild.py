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
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from contracts.envelope import Envelope, decode_record
from contracts.topics import events_topic
from services.platform.kafka_io import Record, read_topic
from services.platform.relay import published_by
from services.platform.write_path import EventHandler

__all__ = [
    "Comparison",
    "Observer",
    "ReadModel",
    "Replay",
    "Snapshot",
    "TableComparison",
    "compare",
    "rebuild",
    "rebuild_and_compare",
    "row_counts",
    "snapshot",
    "update_view",
]

Snapshot = dict[str, list[str]]
"""Every table a rebuild writes → its rows as text, sorted (what "equal" means for a read
model: the same rows, column for column)."""


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


@dataclass(frozen=True)
class Observer:
    """What a caller may watch of a rebuild (each part optional).

    ``locked`` runs on the rebuild's connection once the read model is locked and the outbox
    published, before anything is emptied: it sees the live read model at that instant, which
    no projection can change until the rebuild commits. ``record`` is called for every record
    read from the topic (progress). ``replayed`` runs on the same connection after the last
    record, before the commit: it sees the rebuilt read model.
    """

    locked: Callable[[asyncpg.Connection], Awaitable[None]] | None = None
    record: Callable[[Record], None] | None = None
    replayed: Callable[[asyncpg.Connection], Awaitable[None]] | None = None


async def rebuild(pool: asyncpg.Pool, bootstrap: str, model: ReadModel,
                  timeout: float = 60, observer: Observer | None = None) -> Replay:
    """Empty and replay the read model; return what was replayed and skipped."""
    watch = observer or Observer()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(f"LOCK TABLE {', '.join(model.locked_tables)} "
                           "IN ACCESS EXCLUSIVE MODE")
        await _until_published(pool, timeout)
        if watch.locked:
            await watch.locked(conn)
        await _empty(conn, model)
        replay = await _replay_topic(conn, bootstrap, model, watch)
        if watch.replayed:
            await watch.replayed(conn)
    return replay


async def _empty(conn: asyncpg.Connection, model: ReadModel) -> None:
    for table in model.tables:
        await conn.execute(f"DELETE FROM {table}")
    for table, assignment in model.derived_columns:
        await conn.execute(f"UPDATE {table} SET {assignment}")


async def _replay_topic(conn: asyncpg.Connection, bootstrap: str, model: ReadModel,
                        watch: Observer) -> Replay:
    replay = Replay()
    async for record in read_topic(bootstrap, model.topic):
        if await _replay(conn, model, record):
            replay.replayed_events += 1
        else:
            replay.skipped_records.append(f"{record.partition}/{record.offset}")
        if watch.record:
            watch.record(record)
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


async def snapshot(db: asyncpg.Pool | asyncpg.Connection, model: ReadModel) -> Snapshot:
    """Every row of every table the rebuild writes, as text in a stable order."""
    return {table: [row[0] for row in await db.fetch(
        f"SELECT t::text FROM {table} t ORDER BY t::text")] for table in model.locked_tables}


@dataclass(frozen=True)
class TableComparison:
    """One table of a read model, live against rebuilt: how many rows each has, and how many
    of each are not in the other (as multisets: a doubled row counts)."""

    table: str
    live_rows: int
    rebuilt_rows: int
    only_live: int
    only_rebuilt: int

    @property
    def equal(self) -> bool:
        """The same rows, column for column."""
        return self.only_live == 0 and self.only_rebuilt == 0


def compare(live: Snapshot, rebuilt: Snapshot) -> list[TableComparison]:
    """Each table of ``live`` (and any only in ``rebuilt``) held against its rebuilt rows."""
    return [_compare_table(table, live.get(table, []), rebuilt.get(table, []))
            for table in sorted({*live, *rebuilt})]


def _compare_table(table: str, live: list[str], rebuilt: list[str]) -> TableComparison:
    before, after = Counter(live), Counter(rebuilt)
    return TableComparison(table, len(live), len(rebuilt), (before - after).total(),
                           (after - before).total())


@dataclass
class Comparison:
    """A rebuild, and its read model held table by table against the live one it replaced."""

    replay: Replay
    tables: list[TableComparison]

    @property
    def equal(self) -> bool:
        """Every table rebuilt identical to the live one."""
        return all(table.equal for table in self.tables)


async def rebuild_and_compare(pool: asyncpg.Pool, bootstrap: str, model: ReadModel,
                              on_record: Callable[[Record], None] | None = None,
                              timeout: float = 60) -> Comparison:
    """Rebuild the read model and compare it with the live one as it was when the rebuild
    locked it (both snapshots taken under the lock, so live traffic cannot make them differ)."""
    taken: dict[str, Snapshot] = {}

    async def keep(name: str, conn: asyncpg.Connection) -> None:
        taken[name] = await snapshot(conn, model)

    observer = Observer(locked=lambda conn: keep("live", conn), record=on_record,
                        replayed=lambda conn: keep("rebuilt", conn))
    replay = await rebuild(pool, bootstrap, model, timeout, observer)
    return Comparison(replay, compare(taken["live"], taken["rebuilt"]))


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
