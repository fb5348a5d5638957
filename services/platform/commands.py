"""Running a command: decide, append, project and answer in one transaction, idempotently."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg

from contracts.envelope import Envelope
from contracts.events import Event
from services.platform.eventstore import Aggregate, Metadata, State, decide_and_append
from services.platform.http import StoredResponse, store_response, stored_response

Projector = Callable[[asyncpg.Connection, Envelope, Event], Awaitable[None]]
Responder = Callable[[asyncpg.Connection, str], Awaitable[StoredResponse]]


@dataclass(frozen=True)
class Idempotency:
    """An ``Idempotency-Key`` (scoped to its endpoint) and the fingerprint of its request."""

    key: str
    fingerprint: str


async def run_command(
    pool: asyncpg.Pool, aggregate: Aggregate[State], order_id: str,
    decide: Callable[[State | None], Sequence[Event]], metadata: Metadata,
    project: Projector, respond: Responder, idempotency: Idempotency | None = None,
) -> StoredResponse:
    """Record the decision on ``order_id`` and return the response, or replay the response
    already given to the same idempotency key. Domain errors and ``ConcurrencyError``
    propagate with nothing recorded."""
    async with pool.acquire() as conn:
        if idempotency and (earlier := await _earlier(conn, idempotency)):
            return earlier
        try:
            async with conn.transaction():
                envelopes = await decide_and_append(conn, aggregate, order_id, decide, metadata)
                for envelope in envelopes:
                    await project(conn, envelope, envelope.event())
                response = await respond(conn, order_id)
                if idempotency:
                    await store_response(conn, idempotency.key, idempotency.fingerprint, response)
                return response
        except asyncpg.UniqueViolationError:
            # the same key was committed by a concurrent request: answer as it was answered
            if idempotency and (earlier := await _earlier(conn, idempotency)):
                return earlier
            raise


async def _earlier(conn: asyncpg.Connection, idempotency: Idempotency) -> StoredResponse | None:
    return await stored_response(conn, idempotency.key, idempotency.fingerprint)
