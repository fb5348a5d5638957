"""The one write path: decide, append and project in the caller's transaction.

HTTP commands, reactions to other services' events and timed sweeps all record their decisions
through ``record``; what differs between them is only where the transaction, the command and the
metadata come from (``services.platform.idempotency``, ``services.platform.consumer``,
``services.platform.sweep``). ``record_together`` takes the same steps for many orders at once,
in a fixed number of statements: the refunds sweep, which decides on thousands of orders a pass.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from services.platform import positions
from services.platform.eventstore import (
    Aggregate,
    Decided,
    Metadata,
    State,
    append,
    append_together,
    lock_stream,
    lock_streams,
    new_stream,
)
from services.platform.runtime import Context

__all__ = ["BatchHandler", "Decision", "EventHandler", "record", "record_command",
           "record_together"]

EventHandler = Callable[[asyncpg.Connection, Envelope, Event], Awaitable[None]]
"""Applies one recorded event inside a transaction: a projection, or a reaction (policy)."""

BatchHandler = Callable[[asyncpg.Connection, Sequence[Envelope]], Awaitable[None]]
"""Applies the events recorded on many orders inside a transaction, each order's in their
order (``record_together``): a projection that writes a batch in a few statements."""

Decision = Callable[[State | None], Sequence[Event]]
"""The domain's ``decide`` with its command and time bound: the events for a state, or raises."""


async def record(conn: asyncpg.Connection, aggregate: Aggregate[State], order_id: str,
                 decide: Decision[State], metadata: Metadata,
                 project: EventHandler, *, new_order: bool = False) -> list[Envelope]:
    """Lock and load the order's state, decide, append the events with the new state and
    project them.

    Runs in the caller's transaction: either everything is committed or nothing is. ``decide``
    raises the domain's error to refuse; ``ConcurrencyError`` means another transaction
    recorded on the order first. Returns the sealed envelopes (none when nothing is decided).
    An HTTP command's answer names them in its position token (``services.platform.positions``).
    ``new_order``: ``order_id`` was just made up by the caller, so its stream is empty.
    """
    stream = new_stream(order_id) if new_order else await lock_stream(conn, order_id)
    state = aggregate.load(stream)
    events = decide(state)
    envelopes = await append(conn, stream, events, aggregate.fold(state, events), metadata)
    positions.note(envelopes)
    for envelope in envelopes:
        await project(conn, envelope, envelope.event())
    return envelopes


async def record_command(conn: asyncpg.Connection, order_id: str, command: Any, ctx: Context, *,
                         aggregate: Aggregate[State],
                         decide: Callable[[State | None, Any, Any], Sequence[Event]],
                         project: EventHandler, cause: Envelope | None = None,
                         idempotency_key: str | None = None) -> list[Envelope]:
    """Read the clock once, decide ``command`` with the domain's ``decide`` and ``record`` it:
    caused by ``cause`` when it reacts to another event, else a command from outside."""
    now = ctx.clock.now()
    metadata = (Metadata.in_reaction_to(cause, ctx.emitter, now) if cause
                else Metadata.for_command(ctx.emitter, now, idempotency_key))
    return await record(conn, aggregate, order_id,
                        lambda state: decide(state, command, now), metadata, project)


async def record_together(conn: asyncpg.Connection, aggregate: Aggregate[State],
                          decisions: Mapping[str, Decision[State]],
                          metadata: Callable[[], Metadata],
                          project: BatchHandler) -> dict[str, list[Envelope]]:
    """``record`` for many orders in the caller's transaction, in three round trips and the
    projection's, however many orders: lock every order's stream, decide on each, append all
    the events with the new states, project them. Each order's events get their own
    ``metadata()`` (a sweep's decision on one order is a command of its own).

    Raises what ``record`` raises, for the whole batch: the caller rolls it all back. Returns
    the sealed envelopes of each order (none where nothing is decided).
    """
    decided = []
    for stream in await lock_streams(conn, list(decisions)):
        state = aggregate.load(stream)
        events = decisions[stream.order_id](state)
        decided.append(Decided(stream, events, aggregate.fold(state, events), metadata()))
    recorded = await append_together(conn, decided)
    envelopes = [envelope for order in recorded.values() for envelope in order]
    positions.note(envelopes)
    if envelopes:
        await project(conn, envelopes)
    return recorded
