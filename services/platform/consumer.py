"""Applying consumed events exactly once in effect, and dead-lettering poison records.

``EventApplier.apply_batch`` is what every consumer agent calls for each batch of records it
takes from its stream. It applies the batch's events and records them in the inbox
(``processed_events``, one statement for the batch) in one PostgreSQL transaction, so a record
redelivered after a crash changes nothing and one commit serves many events. If anything in that
transaction fails, the batch is applied again record by record (``apply``), so that one failing
record is isolated and the records before it are applied. Neither ever raises for a single
record:

* a poison record (undecodable, unknown type or schema version, invalid payload) goes to the
  topic's ``.dlq`` twin with its reason and original bytes, and processing continues;
* any other failure is retried with exponential backoff; if it persists, the worker halts
  *without* acknowledging the record, so it is redelivered once the cause is fixed.

Faust acknowledges a record as soon as the agent's loop moves on, even after an exception; that
is why halting is a hard process exit rather than an exception (see DESIGN.md).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import asyncpg
import tenacity
from aiokafka import AIOKafkaProducer

from contracts.base import Event
from contracts.envelope import Envelope, PoisonEventError, decode_envelope
from contracts.topics import dead_letter_topic
from services.platform.kafka_io import Record
from services.platform.write_path import EventHandler

__all__ = [
    "EXIT_HALTED",
    "EventApplier",
    "RetryPolicy",
    "halt_worker",
]

log = logging.getLogger(__name__)
Outcome = Literal["applied", "duplicate", "ignored", "dead-lettered"]
EXIT_HALTED = 75


@dataclass(frozen=True)
class RetryPolicy:
    """How long a failing record is retried before the worker halts."""

    attempts: int = 8
    first_wait: float = 0.2
    max_wait: float = 10.0


class EventApplier:
    """Applies records of one consumer (a name unique in the service) through its handlers."""

    def __init__(self, name: str, pool: asyncpg.Pool, handlers: Mapping[str, EventHandler],
                 dead_letters: AIOKafkaProducer, retry: RetryPolicy | None = None,
                 halt: Callable[[], None] | None = None) -> None:
        self.name, self._pool, self._handlers = name, pool, handlers
        self._dead_letters = dead_letters
        self._retry = retry or RetryPolicy()
        self._halt = halt or halt_worker

    async def apply(self, record: Record) -> Outcome:
        """Apply ``record`` once in effect; dead-letter it if poison; halt if failures persist."""
        try:
            envelope = decode_envelope(record.value)
            handler = self._handlers.get(envelope.type)
            if handler is None:
                return "ignored"  # not this consumer's business, whatever its payload
            event = envelope.event()
            return await self._with_retries(self._apply_once, record, envelope, event, handler)
        except PoisonEventError as error:
            await self._with_retries(self._dead_letter, record, str(error))
            return "dead-lettered"

    async def apply_batch(self, records: Sequence[Record]) -> list[Outcome]:
        """Apply ``records`` (in order) once in effect, in one transaction when all goes well.

        Poison records are dead-lettered first (they apply nothing); if the transaction for the
        rest fails, each record is applied on its own with ``apply``'s retries and halting.
        """
        outcomes: list[Outcome | None] = [None] * len(records)
        batch: list[tuple[int, Envelope, Event, EventHandler]] = []
        for index, record in enumerate(records):
            try:
                decoded = self._decode(record)
            except PoisonEventError as error:
                outcomes[index] = await self._with_retries(self._dead_letter, record, str(error))
                continue
            if decoded is None:
                outcomes[index] = "ignored"
            else:
                batch.append((index, *decoded))
        try:
            applied = await self._apply_all(records, batch)
        except Exception as error:  # isolate the failing record: apply them one by one
            log.info("%s: batch of %d failed (%r); applying one by one", self.name, len(batch),
                     error)
            applied = {index: await self.apply(records[index]) for index, *_ in batch}
        for index, outcome in applied.items():
            outcomes[index] = outcome
        return [outcome or "ignored" for outcome in outcomes]

    def _decode(self, record: Record) -> tuple[Envelope, Event, EventHandler] | None:
        envelope = decode_envelope(record.value)
        handler = self._handlers.get(envelope.type)
        return None if handler is None else (envelope, envelope.event(), handler)

    async def _apply_all(self, records: Sequence[Record],
                         batch: Sequence[tuple[int, Envelope, Event, EventHandler]],
                         ) -> dict[int, Outcome]:
        if not batch:
            return {}
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await self._note_in_inbox(conn, [(records[i], e) for i, e, *_ in batch])
            outcomes: dict[int, Outcome] = {}
            for index, envelope, event, handler in batch:
                if envelope.event_id not in fresh:
                    log.info("%s: duplicate %s skipped", self.name, envelope.event_id)
                    outcomes[index] = "duplicate"
                    continue
                fresh.discard(envelope.event_id)  # twice in one batch: applied once
                await handler(conn, envelope, event)
                outcomes[index] = "applied"
        return outcomes

    async def _note_in_inbox(self, conn: asyncpg.Connection,
                             batch: Sequence[tuple[Record, Envelope]]) -> set[uuid.UUID]:
        """Insert the batch's inbox rows in one statement; the event ids not there before."""
        rows = await conn.fetch(
            "INSERT INTO processed_events (consumer, event_id, topic, partition, \"offset\") "
            "SELECT $1, * FROM unnest($2::uuid[], $3::text[], $4::int[], $5::bigint[]) "
            "ON CONFLICT DO NOTHING RETURNING event_id", self.name,
            [envelope.event_id for _, envelope in batch], [r.topic for r, _ in batch],
            [r.partition for r, _ in batch], [r.offset for r, _ in batch])
        return {row["event_id"] for row in rows}

    async def _apply_once(self, record: Record, envelope: Envelope, event: Event,
                          handler: EventHandler) -> Outcome:
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                "INSERT INTO processed_events (consumer, event_id, topic, partition, \"offset\") "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
                self.name, envelope.event_id, record.topic, record.partition, record.offset)
            if inserted is None:
                log.info("%s: duplicate %s skipped", self.name, envelope.event_id)
                return "duplicate"
            await handler(conn, envelope, event)
        return "applied"

    async def _dead_letter(self, record: Record, reason: str) -> Outcome:
        log.warning("%s: dead-lettering %s[%d]@%d: %s", self.name, record.topic,
                    record.partition, record.offset, reason)
        headers = [*record.headers, ("dlq-reason", reason.encode()),
                   ("dlq-consumer", self.name.encode()),
                   ("dlq-source", f"{record.topic}/{record.partition}/{record.offset}".encode())]
        await self._dead_letters.send_and_wait(
            dead_letter_topic(record.topic), value=record.value, key=record.key, headers=headers)
        return "dead-lettered"

    async def _with_retries(self, operation: Callable[..., Awaitable[Outcome]],
                            *args: object) -> Outcome:
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self._retry.attempts),
            wait=tenacity.wait_exponential(multiplier=self._retry.first_wait,
                                           max=self._retry.max_wait),
            retry=tenacity.retry_if_not_exception_type(PoisonEventError),
            before_sleep=lambda state: log.warning(
                "%s: retrying after %r", self.name, state.outcome and state.outcome.exception()),
            reraise=True)
        try:
            return await retrying(operation, *args)
        except PoisonEventError:
            raise
        except Exception:
            log.critical("%s: failure persists; halting without acknowledging", self.name,
                         exc_info=True)
            self._halt()
            raise


def halt_worker() -> None:
    """Stop the process at once, so the consumer's offset is not committed past this record."""
    logging.shutdown()
    os._exit(EXIT_HALTED)
