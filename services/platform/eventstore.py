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
from typing import Any, Generic, TypeVar

import asyncpg
from pydantic import BaseModel

from contracts.base import Event
from contracts.envelope import EmittingService, Envelope, seal
from contracts.hashing import GENESIS_HASH

__all__ = [
    "NOTIFY_CHANNEL",
    "Aggregate",
    "ConcurrencyError",
    "Metadata",
    "Stream",
    "append",
    "load_stream",
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
    """An order's stream in this service: its version, last hash and decision state (JSON)."""

    order_id: str
    version: int = 0
    last_hash: str = GENESIS_HASH
    state: dict[str, Any] | None = None


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
        return None if stream.state is None else self.state_type.model_validate(stream.state)

    def fold(self, state: State | None, events: Sequence[Event]) -> State | None:
        """Apply ``events`` to ``state`` in order."""
        for event in events:
            state = self.evolve(state, event)
        return state


async def load_stream(conn: asyncpg.Connection, order_id: str) -> Stream:
    """The order's stream as last committed (version 0 and no state if it has no events)."""
    row = await conn.fetchrow(
        "SELECT version, last_hash, state FROM streams WHERE order_id = $1", order_id)
    if row is None:
        return Stream(order_id)
    return Stream(order_id, row["version"], row["last_hash"], row["state"])


async def append(conn: asyncpg.Connection, stream: Stream, events: Sequence[Event],
                 new_state: BaseModel | None, metadata: Metadata) -> list[Envelope]:
    """Seal ``events`` after ``stream`` and record them with the new state; return the envelopes.

    Raises ``ConcurrencyError`` if another transaction appended to the stream first.
    """
    envelopes = _seal_all(stream, events, metadata)
    if not envelopes:
        return []
    try:
        await conn.executemany(
            "INSERT INTO events (event_id, order_id, version, type, envelope) "
            "VALUES ($1, $2, $3, $4, $5)",
            [(e.event_id, e.order_id, e.version, e.type, e.to_json()) for e in envelopes])
    except asyncpg.UniqueViolationError as error:
        raise ConcurrencyError(stream.order_id) from error
    await _save_stream(conn, stream, envelopes[-1], new_state)
    await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
    return envelopes


def _seal_all(stream: Stream, events: Sequence[Event], metadata: Metadata) -> list[Envelope]:
    envelopes: list[Envelope] = []
    prev_hash, version = stream.last_hash, stream.version
    for event in events:
        version += 1
        envelope = seal(
            event, order_id=stream.order_id, version=version, prev_hash=prev_hash,
            occurred_at=metadata.occurred_at, producer=metadata.emitter,
            correlation_id=metadata.correlation_id, causation_id=metadata.causation_id,
            idempotency_key=metadata.idempotency_key)
        envelopes.append(envelope)
        prev_hash = envelope.hash
    return envelopes


async def _save_stream(conn: asyncpg.Connection, stream: Stream, last: Envelope,
                       new_state: BaseModel | None) -> None:
    state = None if new_state is None else new_state.model_dump(mode="json")
    status = await conn.execute(
        "INSERT INTO streams (order_id, version, last_hash, state) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (order_id) DO UPDATE SET version = $2, last_hash = $3, state = $4 "
        "WHERE streams.version = $5",
        stream.order_id, last.version, last.hash, state, stream.version)
    if status.endswith(" 0"):
        raise ConcurrencyError(stream.order_id)
