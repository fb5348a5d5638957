"""Rebuilding a service's read model from the log, the same way for every service.

The read model's tables are locked for the whole rebuild, so live projections wait; everything
committed before the lock is first published by the relay, then the event-derived data is emptied
and every record of the service's topic up to the current end offsets is projected again, in one
transaction. Records the service's relay did not publish (written to the topic by anything else)
are skipped and counted, as the live consumers dead-letter them; a record of the relay's that
does not decode stops the rebuild (nothing is changed).

Throughput (measured by ``python -m bench.rebuild``): the topic is read with large fetches and
decoded in windows of a few thousand records while the previous window is being projected, with
the cyclic garbage collector paused. A window is projected with its orders side by side: each
order's events in their order on the topic (one order's events are in one partition, in order);
while an order's projection waits on a statement, the other orders' projections run up to their
own next statement, and alike statements (the same SQL) are sent together in one pipelined
round trip (``fetchmany``), so that projecting an event costs a row of a batch, not a round
trip; while the server runs one batch, the projections the previous one answered go on.
Events of different orders thus interleave otherwise than on the topic — as they already did
between partitions, and live, where each order's events are projected in its commands' own
transactions: a projection must not depend on the order of different orders' events.
A statement whose result is needed keeps it: an INSERT, UPDATE or DELETE sent with others is
counted (``WITH s AS (... RETURNING 1) SELECT count(*)``), so ``execute`` still answers
``UPDATE 1`` or ``UPDATE 0``; anything else (a query, a statement with its own ``RETURNING``)
is sent alone, in its turn.

A read model whose projection is written as data (``ReadModel.changes``) is not projected
statement by statement: each window's changes are folded in memory and each row is written
once (``services.platform.changes.Folding``), which is several times faster again. Its records
are turned into their changes as they are decoded, so a window holds changes, not thousands of
decoded envelopes and events (which, freed a window later, cost a third more time).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Iterable,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from contracts.base import Event
from contracts.envelope import Envelope, decode_record
from contracts.topics import events_topic
from services.platform.changes import Changes, Folding, Table, Update, apply_change, projection
from services.platform.collector import collector_paused
from services.platform.kafka_io import Record
from services.platform.write_path import EventHandler

__all__ = [
    "FOLDING_WINDOW",
    "WINDOW",
    "Comparison",
    "Decoded",
    "DeferredConnection",
    "Observer",
    "ReadModel",
    "Replay",
    "Snapshot",
    "Statement",
    "TableComparison",
    "batch_verb",
    "compare",
    "counting",
    "project_together",
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
    hand stay, the reservations are replayed). A projection written as data (``changes``,
    ``services.platform.changes``; made by ``of_changes``) is folded a window at a time;
    ``project`` is then the same changes applied one event at a time, and the tables hold
    nothing else.
    """

    service: str
    project: EventHandler
    tables: Sequence[str]
    derived_columns: Sequence[tuple[str, str]] = ()
    changes: Changes | None = None

    def __post_init__(self) -> None:
        if self.changes is not None and self.derived_columns:
            raise ValueError("a folded read model's tables hold only what it folds")

    @classmethod
    def of_changes(cls, service: str, changes: Changes, tables: Sequence[str]) -> ReadModel:
        """A read model written as data: projected live by ``projection(changes)``, folded a
        window at a time in a rebuild."""
        return cls(service, projection(changes), tables, changes=changes)

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
        with collector_paused():
            replay = await _replay_topic(conn, bootstrap, model, watch)
        if watch.replayed:
            await watch.replayed(conn)
    return replay


async def _empty(conn: asyncpg.Connection, model: ReadModel) -> None:
    for table in model.tables:
        await conn.execute(f"DELETE FROM {table}")
    for table, assignment in model.derived_columns:
        await conn.execute(f"UPDATE {table} SET {assignment}")


WINDOW = 5000
"""Decoded records read ahead and projected together (the orders in them side by side)."""
FOLDING_WINDOW = 20_000
"""A folded read model's changes read ahead and folded together: the larger the window, the
fewer rows an earlier window wrote are read back and written again (at 200,000 events, 5,000
changes gave 56,000 events/s, 20,000 gave 60,000)."""
Decoded = tuple[Envelope, Event]


@dataclass(frozen=True)
class _Failed:
    """The reader stopped on this error (a record of the relay's that does not decode)."""

    error: BaseException


async def _replay_topic(conn: asyncpg.Connection, bootstrap: str, model: ReadModel,
                        watch: Observer) -> Replay:
    """Read and decode the topic in windows while the previous window is projected."""
    replay = Replay()
    windows: asyncio.Queue[list[Any] | _Failed | None] = asyncio.Queue(maxsize=2)
    reader = asyncio.create_task(_read_windows(bootstrap, model, watch, replay, windows))
    apply = _applier(model)
    try:
        while (window := await windows.get()) is not None:
            if isinstance(window, _Failed):
                raise window.error
            await apply(conn, window)
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return replay


def _applier(model: ReadModel) -> Callable[[asyncpg.Connection, list[Any]], Awaitable[None]]:
    """How a window of ``_items`` is applied to the read model."""
    if model.changes is not None:
        return Folding(model.changes).apply_changes
    return lambda conn, window: project_together(conn, model.project, window)


def _items(model: ReadModel) -> tuple[Callable[[bytes | None], Iterable[Any]], int]:
    """What a window keeps of a record of the relay's, and how many of them it holds: a folded
    read model's changes, made at once so that the decoded envelope and event are freed while
    they are still in the CPU's cache (windows of decoded records took a third more time:
    decision 0017); otherwise the decoded record, which ``project_together`` projects."""
    changes = model.changes
    if changes is None:
        return lambda raw: (decode_record(raw),), WINDOW
    return lambda raw: changes(*decode_record(raw)), FOLDING_WINDOW


async def _read_windows(bootstrap: str, model: ReadModel, watch: Observer, replay: Replay,
                        windows: asyncio.Queue[list[Any] | _Failed | None]) -> None:
    """Every record of the topic, decoded (the relay's: its ``_items``) or counted as skipped,
    in windows."""
    window: list[Any] = []
    ours, (items, size) = model.service.encode(), _items(model)
    try:
        async for messages in _fetched(bootstrap, model.topic):
            for message in messages:
                if _producer(message.headers or ()) == ours:
                    window.extend(items(message.value))
                    replay.replayed_events += 1
                else:  # not the relay's: skipped, as the live consumers dead-letter it
                    replay.skipped_records.append(f"{message.partition}/{message.offset}")
                if watch.record:
                    watch.record(Record(message.topic, message.partition, message.offset,
                                        message.key, message.value,
                                        tuple(message.headers or ())))
            if len(window) >= size:
                await windows.put(window)
                window = []
            await asyncio.sleep(0)  # let the window being projected go on meanwhile
        await windows.put(window)
        await windows.put(None)
    except Exception as error:  # handed to the rebuild, which raises it
        await windows.put(_Failed(error))


def _producer(headers: Sequence[tuple[str, bytes]]) -> bytes | None:
    """The ``producer`` header's raw value (the last one), as ``relay.published_by`` reads it:
    a record is the relay's when it equals the service's name."""
    found = None
    for key, value in headers:
        if key == "producer":
            found = value
    return found


FETCH_BYTES = 8 * 1024 * 1024
"""Bytes fetched from a partition at a time (Kafka's default: 1 MiB); getmany hands back at
most ``_BATCH`` records of them at once."""
_BATCH = 500


async def _fetched(bootstrap: str, topic: str) -> AsyncIterator[list[ConsumerRecord]]:
    """Every record of ``topic`` up to its end offsets at the time of the call, a batch at a
    time, in order within each partition (``kafka_io.read_topic``, with large fetches)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed",
        fetch_max_wait_ms=50, max_partition_fetch_bytes=FETCH_BYTES,
        fetch_max_bytes=8 * FETCH_BYTES)
    await consumer.start()
    try:
        extent = await _extent(consumer, topic)
        pending = {tp for tp, (begin, end) in extent.items() if begin < end}
        consumer.assign(list(pending))
        for tp in pending:
            consumer.seek(tp, extent[tp][0])
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000, max_records=_BATCH)
            for tp, messages in batch.items():
                yield [message for message in messages if message.offset < extent[tp][1]]
            pending = {tp for tp in pending if await consumer.position(tp) < extent[tp][1]}
    finally:
        await consumer.stop()


async def _extent(consumer: AIOKafkaConsumer,
                  topic: str) -> dict[TopicPartition, tuple[int, int]]:
    """Each partition's beginning and end offsets now."""
    await consumer._client.force_metadata_update()
    known = consumer.partitions_for_topic(topic)
    if not known:
        raise LookupError(f"topic {topic} does not exist")
    partitions = [TopicPartition(topic, p) for p in sorted(known)]
    ends = await consumer.end_offsets(partitions)
    begins = await consumer.beginning_offsets(partitions)
    return {tp: (begins[tp], ends[tp]) for tp in partitions}


# --- projecting many orders side by side -------------------------------------------------------

_DML = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_UNSAFE = re.compile(r"returning|--|/\*|;", re.IGNORECASE)


def batch_verb(query: str, args: Sequence[object]) -> str | None:
    """The command of a statement that may be sent with others like it and counted (one
    INSERT, UPDATE or DELETE with parameters, without RETURNING, comments or a second
    statement); None for anything else."""
    return _verb(query) if args else None


@functools.lru_cache(maxsize=1024)
def _verb(query: str) -> str | None:
    match = _DML.match(query)
    if match is None or _UNSAFE.search(query.rstrip().rstrip(";")):
        return None
    return match.group(1).upper()


@functools.lru_cache(maxsize=1024)
def counting(query: str) -> str:
    """``query`` rewritten to answer one row, the number of rows it changed."""
    return (f"WITH rebuild_batch AS ({query.rstrip().rstrip(';')} RETURNING 1) "
            "SELECT count(*) FROM rebuild_batch")


class Statement:
    """A statement a projection waits on during a rebuild: awaiting it hands it to the rebuild,
    which sends it (with others like it) and resumes the projection with its result."""

    __slots__ = ("args", "kwargs", "method", "query", "verb")

    def __init__(self, method: str, query: str, args: tuple[object, ...],
                 kwargs: dict[str, Any]) -> None:
        self.method, self.query, self.args, self.kwargs = method, query, args, kwargs
        self.verb = batch_verb(query, args) if method == "execute" and not kwargs else None

    def __await__(self) -> Generator[Statement, Any, Any]:
        return (yield self)

    async def run(self, conn: asyncpg.Connection) -> Any:
        """Send it alone on ``conn``; its result."""
        return await getattr(conn, self.method)(self.query, *self.args, **self.kwargs)


class DeferredConnection:
    """What a projection gets as its connection during a rebuild: the query methods of
    ``asyncpg.Connection``, each answered when the rebuild has sent the statement."""

    def execute(self, query: str, *args: object, **kwargs: Any) -> Statement:
        """``Connection.execute``: the status (``UPDATE 1``…)."""
        return Statement("execute", query, args, kwargs)

    def executemany(self, query: str, args: Any, **kwargs: Any) -> Statement:
        """``Connection.executemany``, sent alone."""
        return Statement("executemany", query, (args,), kwargs)

    def fetch(self, query: str, *args: object, **kwargs: Any) -> Statement:
        """``Connection.fetch``, sent alone."""
        return Statement("fetch", query, args, kwargs)

    def fetchrow(self, query: str, *args: object, **kwargs: Any) -> Statement:
        """``Connection.fetchrow``, sent alone."""
        return Statement("fetchrow", query, args, kwargs)

    def fetchval(self, query: str, *args: object, **kwargs: Any) -> Statement:
        """``Connection.fetchval``, sent alone."""
        return Statement("fetchval", query, args, kwargs)


Projection = Coroutine[Any, Any, None]


async def project_together(conn: asyncpg.Connection, project: EventHandler,
                           events: Sequence[Decoded]) -> None:
    """Project ``events`` on ``conn``: each order's in their order, the orders side by side,
    the statements they wait on sent together (see the module's docstring)."""
    deferred = cast(asyncpg.Connection, DeferredConnection())
    started = [_chain(project, deferred, chain) for chain in _by_order(events)]
    try:
        await _Pipeline(conn).run(started)
    finally:
        for chain in started:
            chain.close()


def _by_order(events: Sequence[Decoded]) -> list[list[Decoded]]:
    chains: dict[str, list[Decoded]] = {}
    for decoded in events:
        chains.setdefault(decoded[0].order_id, []).append(decoded)
    return list(chains.values())


async def _chain(project: EventHandler, conn: asyncpg.Connection,
                 events: list[Decoded]) -> None:
    for envelope, event in events:
        await project(conn, envelope, event)


Waiting = tuple[Projection, Statement]
"""A projection, and the statement it waits on."""


def _advance(chain: Projection, result: Any) -> Waiting | None:
    """Resume ``chain`` with ``result`` up to its next statement (None once it is done)."""
    try:
        awaited = chain.send(result)
    except StopIteration:
        return None
    if not isinstance(awaited, Statement):
        raise TypeError(f"a projection awaited {awaited!r} during a rebuild: only its "
                        "connection's query methods can be awaited there")
    return chain, awaited


class _Pipeline:
    """The statements projections wait on, alike ones grouped; one group is on its way to the
    server while the projections the previous group answered go on to their next statements
    (a projection has one statement at a time, so its statements keep their order)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._alike: dict[str, list[Waiting]] = {}
        self._alone: list[Waiting] = []

    def _add(self, waiting: Waiting | None) -> None:
        if waiting is None:
            return
        if waiting[1].verb is None:
            self._alone.append(waiting)
        else:
            self._alike.setdefault(waiting[1].query, []).append(waiting)

    def _next_group(self) -> list[Waiting] | None:
        """A statement that goes alone, else the largest group of alike ones."""
        if self._alone:
            return [self._alone.pop()]
        if not self._alike:
            return None
        return self._alike.pop(max(self._alike, key=lambda query: len(self._alike[query])))

    async def run(self, chains: list[Projection]) -> None:
        """Run every chain to its end."""
        for chain in chains:
            self._add(_advance(chain, None))
        group = self._next_group()
        sending = self._send(group) if group is not None else None
        try:
            while group is not None and sending is not None:
                results = await sending
                answered, group = group, self._next_group()
                sending = self._send(group) if group is not None else None
                if sending is not None:
                    await asyncio.sleep(0)  # on the wire before the projections go on
                for (chain, _), result in zip(answered, results, strict=True):
                    self._add(_advance(chain, result))
                if group is None and (group := self._next_group()) is not None:
                    sending = self._send(group)
        finally:
            if sending is not None and not sending.done():
                with contextlib.suppress(Exception):
                    await sending  # the connection is free again before anything else

    def _send(self, group: list[Waiting]) -> asyncio.Future[list[Any]]:
        return asyncio.ensure_future(send_group(self._conn, [s for _, s in group]))


async def send_group(conn: asyncpg.Connection, statements: list[Statement]) -> list[Any]:
    """Send a statement alone, or alike ones together and counted; the result of each."""
    if len(statements) == 1:
        return [await statements[0].run(conn)]
    counts = await conn.fetchmany(counting(statements[0].query),
                                  [statement.args for statement in statements])
    return [_status(statements[0].verb, row[0]) for row in counts]


def _status(verb: str | None, rows: int) -> str:
    """The command status PostgreSQL would have answered."""
    return f"INSERT 0 {rows}" if verb == "INSERT" else f"{verb} {rows}"


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
    return await apply_change(conn, Update(Table(table), envelope.order_id, columns,
                                           envelope.version, envelope.occurred_at))
