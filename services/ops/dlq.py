"""``dlq list`` and ``dlq redrive``: the dead-letter topics, and putting a dead-lettered record
back on its source topic once the cause is fixed.

A record is put back with its key on the partition it came from, so it reaches the same
consumers in the same partition as the rest of its order; the records of one order go back in
the order they had on the source topic. Each dead letter put back is noted in the
``ops_dlq_redrives`` table of the database of the service whose topic it is, so it is never put
back twice; the consumers' inbox makes applying an event twice harmless anyway (a crash between
the send and the note can put one back twice). See docs/decisions/0013-ops-command-line.md,
also for what per-order order can and cannot mean for a record put back late.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.topics import SERVICES, dead_letter_topic, events_topic
from services.ops.kafka import read_from
from services.ops.records import REDRIVEN_FROM, Summary, parse_position, summarise
from services.ops.registry import owner_of
from services.ops.stores import connected
from services.platform.kafka_io import Record, idempotent_producer, read_topic
from services.platform.settings import LogSettings

__all__ = [
    "DeadLetter",
    "Listed",
    "Redriven",
    "count_later",
    "dead_letter_topics",
    "list_dead_letters",
    "pending",
    "redrive",
    "redrive_plan",
    "redriven_headers",
]

Position = tuple[str, int, int]  # topic, partition, offset
TABLE = "ops_dlq_redrives"
# created by the command line on first use: the table is the operators' note, not the service's
# data, and no service process reads it
_DDL = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    dlq_topic     text        NOT NULL,
    dlq_partition integer     NOT NULL,
    dlq_offset    bigint      NOT NULL,
    order_id      text        NOT NULL,
    source        text        NOT NULL,
    redriven_to   text        NOT NULL,
    redriven_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset))"""
_LOCK = 13  # the advisory locks' first key: this decision's number (two-key locks never meet
# the migrations' one-key lock)
_STRIPPED = frozenset({"dlq-reason", "dlq-consumer", "dlq-source", "producer", REDRIVEN_FROM})


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic."""

    record: Record
    summary: Summary

    @property
    def position(self) -> Position:
        """Where it is on the dead-letter topic."""
        return self.record.topic, self.record.partition, self.record.offset

    @property
    def source(self) -> Position | None:
        """Where the record was when it was dead-lettered (None if its headers do not say)."""
        dead = self.summary.dead_letter
        return parse_position(dead.source) if dead else None

    @property
    def source_topic(self) -> str:
        """The topic it is put back on."""
        return self.source[0] if self.source else self.record.topic.removesuffix(".dlq")

    def order_key(self) -> tuple[str, int, int, int]:
        """Its place on the source topic (its place on the dead-letter topic when unknown)."""
        if self.source:
            return self.source[0], self.source[1], self.source[2], 0
        return self.source_topic, self.record.partition, self.record.offset, 1


@dataclass(frozen=True)
class Listed:
    """A dead letter and where it was re-driven to (None: pending)."""

    letter: DeadLetter
    redriven_to: str | None


@dataclass(frozen=True)
class Redriven:
    """One record put back: the dead letters it settles (one per consumer that set the same
    record aside), where the copy went, and how many events of the same order were on the
    source partition after the original (those consumers already saw before this one)."""

    letters: list[DeadLetter]
    to: str
    later_events: int


def dead_letter_topics(topic: str | None = None) -> list[str]:
    """The dead-letter topics to read: one (given as itself or as its source), or all four."""
    if topic is None:
        return [dead_letter_topic(events_topic(name)) for name in SERVICES]
    return [topic if topic.endswith(".dlq") else dead_letter_topic(topic)]


def pending(letters: Iterable[DeadLetter], redriven: Iterable[Position],
            order: str | None = None) -> list[DeadLetter]:
    """The dead letters not re-driven yet (of ``order`` only, if given)."""
    done = set(redriven)
    return [letter for letter in letters if letter.position not in done
            and (order is None or order in (letter.summary.order_id, letter.summary.key))]


def redrive_plan(letters: Sequence[DeadLetter]) -> list[list[DeadLetter]]:
    """The records to put back, each as the dead letters of one source record (several
    consumers may have set the same record aside: one copy reaches them all), in their order
    on the source topic — per consumer that is the dead-letter topic's order; across consumers
    that dead-lettered records of one order, only the source topic's order is right."""
    batches: dict[tuple[str, int, int, int], list[DeadLetter]] = {}
    for letter in sorted(letters, key=lambda item: item.position):
        batches.setdefault(letter.order_key(), []).append(letter)
    return [batches[key] for key in sorted(batches)]


def redriven_headers(letter: DeadLetter) -> list[tuple[str, bytes]]:
    """The original headers without the dead-letter ones and without the relay's ``producer``
    (the copy is not a new publication: a rebuild skips it, the original is on the topic), and
    ``redriven-from``: the dead letter it comes from."""
    topic, partition, offset = letter.position
    kept = [(name, value) for name, value in letter.record.headers if name not in _STRIPPED]
    return [*kept, (REDRIVEN_FROM, f"{topic}/{partition}/{offset}".encode())]


def count_later(batches: Sequence[Sequence[DeadLetter]], records: Iterable[Record]) -> list[int]:
    """For each batch, how many records of the same key follow its source record on the source
    partition (re-driven copies not counted): events its consumers saw before this one."""
    after: dict[tuple[str, int, bytes | None], list[tuple[int, int]]] = {}
    for index, batch in enumerate(batches):
        if (source := batch[0].source) is not None:
            key = (source[0], source[1], batch[0].record.key)
            after.setdefault(key, []).append((index, source[2]))
    counts = [0] * len(batches)
    for record in records:
        if any(name == REDRIVEN_FROM for name, _ in record.headers):
            continue
        for index, offset in after.get((record.topic, record.partition, record.key), ()):
            counts[index] += record.offset > offset
    return counts


async def _read_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    return [DeadLetter(record, summarise(record))
            async for record in read_topic(bootstrap, topic)]


async def _redriven(conn: asyncpg.Connection, topic: str) -> dict[Position, str]:
    """The dead letters of ``topic`` already put back, and where to."""
    if not await conn.fetchval(f"SELECT to_regclass('{TABLE}') IS NOT NULL"):
        return {}
    rows = await conn.fetch(f"SELECT dlq_partition, dlq_offset, redriven_to FROM {TABLE} "
                            "WHERE dlq_topic = $1", topic)
    return {(topic, row["dlq_partition"], row["dlq_offset"]): row["redriven_to"] for row in rows}


async def list_dead_letters(settings: LogSettings, topic: str | None = None,
                            order: str | None = None,
                            with_redriven: bool = False) -> list[Listed]:
    """The dead letters (of ``order``), pending ones only unless ``with_redriven``."""
    listed = []
    for dlq in dead_letter_topics(topic):
        async with connected(settings, owner_of(dlq)) as conn:
            done = await _redriven(conn, dlq)
        letters = await _read_letters(settings.kafka_bootstrap, dlq)
        shown = letters if with_redriven else pending(letters, done)
        listed += [Listed(letter, done.get(letter.position)) for letter in shown
                   if order is None or order in (letter.summary.order_id, letter.summary.key)]
    return listed


async def redrive(settings: LogSettings, topic: str | None = None,
                  order: str | None = None) -> list[Redriven]:
    """Put every pending dead letter (of ``order``) back on its source topic, in order; note
    each one put back so that it is never put back again."""
    done: list[Redriven] = []
    producer = idempotent_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        for dlq in dead_letter_topics(topic):
            async with connected(settings, owner_of(dlq)) as conn:
                done += await _redrive_topic(conn, producer, settings.kafka_bootstrap, dlq, order)
    finally:
        await producer.stop()
    return done


async def _redrive_topic(conn: asyncpg.Connection, producer: AIOKafkaProducer, bootstrap: str,
                         dlq: str, order: str | None) -> list[Redriven]:
    # one re-drive of a topic at a time: two operators at once would each put a record back
    await conn.execute("SELECT pg_advisory_lock($1, hashtext($2))", _LOCK, dlq)
    try:
        await conn.execute(_DDL)
        letters = pending(await _read_letters(bootstrap, dlq), await _redriven(conn, dlq), order)
        batches = redrive_plan(letters)
        later = count_later(batches, await _source_records(bootstrap, batches))
        return [await _put_back(conn, producer, batch, n)
                for batch, n in zip(batches, later, strict=True)]
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))", _LOCK, dlq)


async def _source_records(bootstrap: str,
                          batches: Sequence[Sequence[DeadLetter]]) -> list[Record]:
    """The source partitions' records from the earliest source record to be put back."""
    starts: dict[str, dict[int, int]] = {}
    for batch in batches:
        if (source := batch[0].source) is not None:
            partitions = starts.setdefault(source[0], {})
            partitions[source[1]] = min(partitions.get(source[1], source[2]), source[2])
    return [record for topic, partitions in starts.items()
            async for record in read_from(bootstrap, topic, partitions)]


async def _put_back(conn: asyncpg.Connection, producer: AIOKafkaProducer,
                    batch: Sequence[DeadLetter], later: int) -> Redriven:
    first = batch[0]
    sent = await producer.send_and_wait(
        first.source_topic, value=first.record.value, key=first.record.key,
        partition=first.source[1] if first.source else None, headers=redriven_headers(first))
    to = f"{first.source_topic}/{sent.partition}/{sent.offset}"
    await conn.executemany(
        f"INSERT INTO {TABLE} (dlq_topic, dlq_partition, dlq_offset, order_id, source, "
        "redriven_to) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        [(*letter.position, letter.summary.order_id,
          letter.summary.dead_letter.source if letter.summary.dead_letter else "", to)
         for letter in batch])
    return Redriven(list(batch), to, later)
