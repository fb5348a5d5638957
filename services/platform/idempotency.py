"""Idempotent commands: the first answer to an ``Idempotency-Key`` is replayed, exactly once.

A thin layer over the write path: the command's work and the answer it gives are committed in one
transaction with the key, so a retry after a timeout or a crash gets the same answer and records
nothing new; the same key with a different request is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.platform import positions

__all__ = ["Answer", "Idempotency", "IdempotencyKeyReusedError", "answer_once", "fingerprint"]


@dataclass(frozen=True)
class Idempotency:
    """An idempotency key (scoped to its endpoint) and the fingerprint of its request."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Answer:
    """What a command answered: a status and a JSON body (what is replayed for its key)."""

    status: int
    body: dict[str, Any]


class IdempotencyKeyReusedError(Exception):
    """The key was first used with a different request; nothing was recorded."""

    field = "Idempotency-Key"
    reason = "already used for another request"

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used with a different request; "
                         "use a new key for a new request.")


Work = Callable[[asyncpg.Connection], Awaitable[Answer]]


def fingerprint(request: Any) -> str:
    """Fingerprint of a JSON-ready request, to tell a retried request from a different one."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


async def answer_once(pool: asyncpg.Pool, idempotency: Idempotency | None, work: Work) -> Answer:
    """Run ``work`` in one transaction and return its answer, or replay the answer already
    given to the same key. Errors raised by ``work`` propagate with nothing recorded."""
    async with pool.acquire() as conn:
        if idempotency and (earlier := await _earlier(conn, idempotency)):
            return earlier
        try:
            with positions.tentative():  # a rolled-back attempt leaves no event in the token
                async with conn.transaction():
                    answer = await work(conn)
                    if idempotency:
                        await _remember(conn, idempotency, answer)
            return answer
        except asyncpg.UniqueViolationError:
            # the same key was committed by a concurrent request: answer as it was answered
            if idempotency and (earlier := await _earlier(conn, idempotency)):
                return earlier
            raise


async def _earlier(conn: asyncpg.Connection, idempotency: Idempotency) -> Answer | None:
    row = await conn.fetchrow(
        "SELECT request_hash, status, response, position FROM idempotency_keys WHERE key = $1",
        idempotency.key)
    if row is None:
        return None
    if row["request_hash"] != idempotency.fingerprint:
        raise IdempotencyKeyReusedError
    positions.replayed(row["position"])  # the replayed answer names what the first recorded
    return Answer(row["status"], row["response"])


async def _remember(conn: asyncpg.Connection, idempotency: Idempotency, answer: Answer) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (key, request_hash, status, response, position) "
        "VALUES ($1, $2, $3, $4, $5)", idempotency.key, idempotency.fingerprint, answer.status,
        answer.body, positions.current_token())
