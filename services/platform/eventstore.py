"""The event store and outbox: append a decision's events to an order's stream in one transaction.

Every append happens inside the caller's transaction, together with the decision-state row and
the read-model updates, so either all of it is committed or none of it. ``(order_id, version)``
is unique: two commands deciding on the same state cannot both be recorded.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

import asyncpg
from pydantic import BaseModel

from contracts.base import Event
from contracts.envelope import EmittingService, Envelope, seal_with_json
from contracts.hashing import GENESIS_HASH

__all__ = [
    "NOTIFY_CHANNEL",
    "Aggregate",
    "ConcurrencyError",
    "Decided",
    "Metadata",
    "Stream",
    "append",
    "append_together",
    "load_stream",
    "lock_stream",
    "lock_streams",
    "new_stream",
]

NOTIFY_CHANNEL = "events_appended"
State = TypeVar("State", bound=BaseModel)


class ConcurrencyError(Exception):
    """Another command changed the order since its state was loaded; nothing was recorded."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} was changed by another command first; "
                         "reload it and retry")
        self.order_id = order_id


@dataclass(frozen=True)
class Stream:
    """An order's stream in this service: its version, last hash and decision state (its JSON
    text, as stored: the aggregate parses and validates it in one pass)."""

    order_id: str
    version: int = 0
    last_hash: str = GENESIS_HASH
    state: str | None = None


@dataclass(frozen=True)
class Metadata:
    """Who recorded the events being appended, when, and what caused them."""

    emitter: EmittingService
    occurred_at: dt.datetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    idempotency_key: str | None = None

    @classmethod
    def for_command(cls, emitter: EmittingService, now: dt.datetime,
                    idempotency_key: str | None = None) -> Metadata:
        """A command from outside (HTTP, an operator, a sweep): it starts a new correlation."""
        return cls(emitter, now, uuid.uuid4(), idempotency_key=idempotency_key)

    @classmethod
    def in_reaction_to(cls, cause: Envelope, emitter: EmittingService,
                       now: dt.datetime) -> Metadata:
        """A reaction to ``cause``: caused by it, in its correlation."""
        return cls(emitter, now, cause.correlation_id, causation_id=cause.event_id)


@dataclass(frozen=True)
class Aggregate(Generic[State]):
    """How a service folds its events into the decision state of one order."""

    state_type: type[State]
    evolve: Callable[[State | None, Event], State | None]

    def load(self, stream: Stream) -> State | None:
        """The typed decision state of a stream (None for a new order)."""
        if stream.state is None:
            return None
        return self.state_type.model_validate_json(stream.state)

    def fold(self, state: State | None, events: Sequence[Event]) -> State | None:
        """Apply ``events`` to ``state`` in order."""
        for event in events:
            state = self.evolve(state, event)
        return state


async def load_stream(conn: asyncpg.Connection, order_id: str) -> Stream:
    """The order's stream as last committed (version 0 and no state if it has no events)."""
    row = await conn.fetchrow(
        "SELECT version, last_hash, state::text FROM streams WHERE order_id = $1", order_id)
    return _stream(order_id, row)


async def lock_stream(conn: asyncpg.Connection, order_id: str) -> Stream:
    """The order's stream, locked until the caller's transaction ends; a transaction recording
    on it first is waited for, and its version is then the one returned.

    Every writer takes the stream's row before it inserts the order's events: with the row
    taken only by the final update, two transactions appending to one order could each hold
    what the other waits for (one the new ``(order_id, version)`` index entry, the other the
    stream's row, as a batch holds it from an earlier record of the order), and PostgreSQL
    broke the deadlock by failing one of them (a withdrawal answered 500 in CI)."""
    row = await conn.fetchrow(
        "SELECT version, last_hash, state::text FROM streams WHERE order_id = $1 FOR UPDATE",
        order_id)
    return _stream(order_id, row)


async def lock_streams(conn: asyncpg.Connection, order_ids: Sequence[str]) -> list[Stream]:
    """The orders' streams, in the order of their ids, locked as ``lock_stream`` locks one: in
    one statement, taken in the order of the ids, so that two callers locking some of the same
    orders wait for each other rather than deadlock. An order without events has an empty
    stream (nothing to lock: its first append is guarded by the events' unique version)."""
    rows = await conn.fetch(
        "SELECT order_id, version, last_hash, state::text FROM streams WHERE order_id = ANY($1) "
        "ORDER BY order_id FOR UPDATE", list(order_ids))
    found = {row["order_id"]: row for row in rows}
    return [_stream(order_id, found.get(order_id)) for order_id in sorted(order_ids)]


def new_stream(order_id: str) -> Stream:
    """The empty stream of an order id the caller has just made up: nothing else can be
    recording on it, so there is nothing to lock (one round trip less per new order)."""
    return _stream(order_id, None)


def _stream(order_id: str, row: asyncpg.Record | None) -> Stream:
    if row is None:
        return Stream(order_id)
    return Stream(order_id, row["version"], row["last_hash"], row["state"])


async def append(conn: asyncpg.Connection, stream: Stream, events: Sequence[Event],
                 new_state: BaseModel | None, metadata: Metadata) -> list[Envelope]:
    """Seal ``events`` after ``stream`` and record them with the new state, in one statement;
    return the envelopes.

    Raises ``ConcurrencyError`` if another transaction appended to the stream first (the
    caller's transaction must then be rolled back, as it is when the error leaves it).
    """
    decided = Decided(stream, events, new_state, metadata)
    return (await append_together(conn, [decided]))[stream.order_id]


@dataclass(frozen=True)
class Decided:
    """One order's decision, ready to append: its stream as locked, the events decided on it,
    the state they lead to, and who recorded them."""

    stream: Stream
    events: Sequence[Event]
    new_state: BaseModel | None
    metadata: Metadata


_APPEND_TOGETHER = """
WITH appended AS (
    INSERT INTO events (event_id, order_id, version, type, envelope)
    SELECT event_id, order_id, version, type, envelope
    FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::text[], $5::jsonb[])
         WITH ORDINALITY AS batch (event_id, order_id, version, type, envelope, n)
    ORDER BY n
), decided AS (
    SELECT * FROM unnest($6::text[], $7::integer[], $8::text[], $9::text[], $10::integer[])
        AS decided (order_id, version, last_hash, state, decided_on)
), advanced AS (
    UPDATE streams SET version = decided.version, last_hash = decided.last_hash,
                       state = decided.state::jsonb
    FROM decided
    WHERE streams.order_id = decided.order_id AND streams.version = decided.decided_on
    RETURNING 1
), started AS (
    INSERT INTO streams (order_id, version, last_hash, state)
    SELECT order_id, version, last_hash, state::jsonb FROM decided WHERE decided_on = 0
    ON CONFLICT (order_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM advanced) + (SELECT count(*) FROM started) AS advanced
FROM pg_notify($11, '')
"""
"""One round trip for one order or many: every order's events (positions in their order),
each stream advanced only from the version its decision was made on (or started, for an order
without events), and the relay woken up (delivered at commit)."""


async def append_together(conn: asyncpg.Connection,
                          decisions: Sequence[Decided]) -> dict[str, list[Envelope]]:
    """``append`` for many orders (each once) in the same one statement: the envelopes of
    each order.

    Raises ``ConcurrencyError`` (naming the first order of the statement: which one lost is
    not known) if another transaction appended to one of the streams first."""
    sealed = {d.stream.order_id: _seal_all(d.stream, d.events, d.metadata) for d in decisions}
    if len(sealed) != len(decisions):
        raise ValueError("an order is appended to at most once per statement")
    moved = [d for d in decisions if sealed[d.stream.order_id].envelopes]
    if moved:
        await _append_together(conn, moved, [sealed[d.stream.order_id] for d in moved])
    return {order_id: order.envelopes for order_id, order in sealed.items()}


async def _append_together(conn: asyncpg.Connection, moved: Sequence[Decided],
                           sealed: Sequence[_Sealed]) -> None:
    envelopes = [envelope for order in sealed for envelope in order.envelopes]
    lasts = [order.envelopes[-1] for order in sealed]
    try:
        advanced = await conn.fetchval(
            _APPEND_TOGETHER, [e.event_id for e in envelopes], [e.order_id for e in envelopes],
            [e.version for e in envelopes], [e.type for e in envelopes],
            [document for order in sealed for document in order.documents],
            [d.stream.order_id for d in moved], [last.version for last in lasts],
            [last.hash for last in lasts], [_state_json(d.new_state) for d in moved],
            [d.stream.version for d in moved], NOTIFY_CHANNEL)
    except asyncpg.UniqueViolationError as error:
        raise ConcurrencyError(moved[0].stream.order_id) from error
    if advanced != len(moved):
        raise ConcurrencyError(moved[0].stream.order_id)


def _state_json(state: BaseModel | None) -> str | None:
    return None if state is None else state.model_dump_json()


class _Sealed(NamedTuple):
    envelopes: list[Envelope]
    documents: list[dict[str, Any]]
    """The envelopes' JSON forms, as stored."""


def _seal_all(stream: Stream, events: Sequence[Event], metadata: Metadata) -> _Sealed:
    sealed = _Sealed([], [])
    prev_hash, version = stream.last_hash, stream.version
    for event in events:
        version += 1
        envelope, document = seal_with_json(
            event, order_id=stream.order_id, version=version, prev_hash=prev_hash,
            occurred_at=metadata.occurred_at, producer=metadata.emitter,
            correlation_id=metadata.correlation_id, causation_id=metadata.causation_id,
            idempotency_key=metadata.idempotency_key)
        sealed.envelopes.append(envelope)
        sealed.documents.append(document)
        prev_hash = envelope.hash
    return sealed
