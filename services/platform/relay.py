"""The relay: publishes committed events from a service's outbox to its Kafka topic, in order.

It wakes on LISTEN/NOTIFY, lets the commits that follow within ``RELAY_LINGER_MS`` join the
batch (near saturation each command's commit woke it for a batch of its own), and re-scans on
start and periodically, so a crash between commit and publish only delays publication. A crash
between publish and marking the rows would publish them twice; to keep every event exactly once
on the topic, the relay first reads back the tail of each partition and marks as published the
outbox rows whose event ids are already there (see docs/decisions/0003). Only one batch can be
published-but-unmarked at a time, so a tail of one batch per partition is enough.

One relay per service publishes at a time: it holds a PostgreSQL advisory lock, and checks
before every batch that the session holding the lock is still alive.

Each service runs it as its own process: ``python -m services.platform.relay <service>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
import uuid

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer

from contracts.topics import events_topic
from services.platform.db import create_pool
from services.platform.eventloop import use_uvloop
from services.platform.eventstore import NOTIFY_CHANNEL
from services.platform.kafka_io import (
    Record,
    idempotent_producer,
    partition_for,
    provision_topics,
    read_topic,
)
from services.platform.logs import configure_logging
from services.platform.runtime import until_up
from services.platform.settings import ServiceSettings, load_settings

__all__ = [
    "BATCH_SIZE",
    "RESCAN_SECONDS",
    "Relay",
    "RelayLockLostError",
    "main",
    "published_by",
    "run_relay",
]

log = logging.getLogger(__name__)
_RELAY_LOCK = 7_231_002
BATCH_SIZE = 500
RESCAN_SECONDS = 1.0


class RelayLockLostError(RuntimeError):
    """The session holding the relay lock is gone: another relay may be publishing."""


class Relay:
    """Publishes one service's outbox to its events topic."""

    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer,
                 settings: ServiceSettings) -> None:
        self._pool, self._producer, self._settings = pool, producer, settings
        self._topic = events_topic(settings.service)
        self._wakeup = asyncio.Event()
        self._partitions = settings.topic_partitions
        self._linger = settings.relay_linger_ms / 1000

    async def run(self) -> None:
        """Take the relay lock, reconcile with the topic, then publish forever."""
        async with self._pool.acquire() as lock:
            await lock.execute("SELECT pg_advisory_lock($1)", _RELAY_LOCK)
            await lock.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
            # keys are placed by the topic's real partition count, whatever the settings say
            self._partitions = len(await self._producer.partitions_for(self._topic))
            await self.reconcile()
            while True:
                await _still_holding(lock)
                # a batch not full took everything committed before it; what commits later
                # notifies, and the wake-up is cleared before the next batch is read
                while await self.publish_pending() == BATCH_SIZE:
                    await _still_holding(lock)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), RESCAN_SECONDS)
                    await asyncio.sleep(self._linger)
                self._wakeup.clear()

    async def reconcile(self) -> int:
        """Mark as published the outbox rows already on the topic; return how many."""
        on_topic = [uuid.UUID(event_id) for event_id in await self._recent_event_ids()]
        done = await self._pool.fetch(
            "UPDATE events SET published_at = now() "
            "WHERE published_at IS NULL AND event_id = ANY($1::uuid[]) RETURNING position",
            on_topic)
        if done:
            log.warning("relay %s: %d events were on Kafka but not marked", self._topic, len(done))
        return len(done)

    async def _recent_event_ids(self) -> set[str]:
        """Event ids this service published in the last batch's reach of every partition."""
        found = set()
        async for record in read_topic(self._settings.kafka_bootstrap, self._topic,
                                       tail=BATCH_SIZE):
            event_id = _our_event_id(record, self._settings.service)
            if event_id:
                found.add(event_id)
        return found

    async def publish_pending(self) -> int:
        """Publish the next batch of unpublished events in position order; return its size."""
        async with self._pool.acquire() as conn:  # one connection for the read and the mark
            rows = await conn.fetch(
                "SELECT position, order_id, event_id, envelope FROM events "
                "WHERE published_at IS NULL ORDER BY position LIMIT $1", BATCH_SIZE)
            if not rows:
                return 0
            _failpoint(self._settings, "before_publish")
            sends = [await self._send(row) for row in rows]
            await asyncio.gather(*sends)
            _failpoint(self._settings, "after_publish")
            await conn.execute(
                "UPDATE events SET published_at = now() WHERE position = ANY($1::bigint[])",
                [row["position"] for row in rows])
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[object]:
        # the envelope exactly as stored: the hash was computed over this content
        value = orjson.dumps(row["envelope"])
        headers = [("position", str(row["position"]).encode()),
                   ("event-id", str(row["event_id"]).encode()),
                   ("producer", self._settings.service.encode())]
        future: asyncio.Future[object] = await self._producer.send(
            self._topic, value=value, key=row["order_id"].encode(),
            partition=partition_for(row["order_id"], self._partitions), headers=headers)
        return future


async def _still_holding(lock: asyncpg.Connection) -> None:
    try:
        await lock.fetchval("SELECT 1")
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
        raise RelayLockLostError("lost the relay lock's session") from error


def published_by(record: Record) -> str | None:
    """The service whose relay published ``record`` (None for a record written otherwise)."""
    producer = dict(record.headers).get("producer")
    return producer.decode(errors="replace") if producer else None


def _our_event_id(record: Record, service: str) -> str | None:
    headers = dict(record.headers)
    if published_by(record) != service or "event-id" not in headers:
        return None  # written by something else (a forged or test record): not ours to mark
    return headers["event-id"].decode()


def _failpoint(settings: ServiceSettings, name: str) -> None:
    """Fault injection for the crash tests: ``RELAY_FAILPOINT=<name>`` kills the process here."""
    if settings.relay_failpoint == name:
        log.warning("relay failpoint %s: killing the process", name)
        os.kill(os.getpid(), signal.SIGKILL)


async def run_relay(settings: ServiceSettings) -> None:
    """Open the service's database and producer and run its relay until cancelled.

    Any failure ends it; ``main`` starts over, because a fresh producer and a fresh
    reconciliation are the safe way back after a Kafka or database error.
    """
    pool = await until_up(create_pool)(settings.service_database_url, max_size=3)
    # the API provisions the topics too; a relay that starts first must not publish to a topic
    # that is not there yet (aiokafka would log an error for every attempt until it is)
    await until_up(provision_topics)(settings.kafka_bootstrap, settings.topic_partitions,
                                     settings.topic_replication, [events_topic(settings.service)])
    producer = idempotent_producer(settings.kafka_bootstrap)
    await until_up(producer.start)()
    try:
        await Relay(pool, producer, settings).run()
    finally:
        await producer.stop()
        await pool.close()


def main() -> None:
    """Entry point: ``python -m services.platform.relay <service>``; restarts after a failure."""
    configure_logging()
    use_uvloop()
    settings = load_settings(sys.argv[1])
    while True:
        try:
            asyncio.run(run_relay(settings))
        except KeyboardInterrupt:
            return
        except Exception:  # publication only waits: start over with a fresh producer
            log.exception("relay %s failed; restarting", settings.service)
            time.sleep(1)


if __name__ == "__main__":
    main()
