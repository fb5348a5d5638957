"""The one write path: decide, append and project in the caller's transaction.

HTTP commands, reactions to other services' events and timed sweeps all record their decisions
through ``record``; what differs between them is only where the transaction, the command and the
metadata come from (``services.platform.idempotency``, ``services.platform.consumer``,
``services.platform.sweep``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from services.platform.eventstore import Aggregate, Metadata, State, append, load_stream

__all__ = ["Decision", "EventHandler", "record"]

EventHandler = Callable[[asyncpg.Connection, Envelope, Event], Awaitable[None]]
"""Applies one recorded event inside a transaction: a projection, or a reaction (policy)."""

Decision = Callable[[State | None], Sequence[Event]]
"""The domain's ``decide`` with its command and time bound: the events for a state, or raises."""


async def record(conn: asyncpg.Connection, aggregate: Aggregate[State], order_id: str,
                 decide: Decision[State], metadata: Metadata,
                 project: EventHandler) -> list[Envelope]:
    """Load the order's state, decide, append the events with the new state and project them.

    Runs in the caller's transaction: either everything is committed or nothing is. ``decide``
    raises the domain's error to refuse; ``ConcurrencyError`` means another transaction
    recorded on the order first. Returns the sealed envelopes (none when nothing is decided).
    """
    stream = await load_stream(conn, order_id)
    state = aggregate.load(stream)
    events = decide(state)
    envelopes = await append(conn, stream, events, aggregate.fold(state, events), metadata)
    for envelope in envelopes:
        await project(conn, envelope, envelope.event())
    return envelopes
