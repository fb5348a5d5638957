"""The relay: publishes committed events from a service's outbox to its Kafka topic, in order.

It wakes on LISTEN/NOTIFY for low latency and re-scans on start and periodically, so a crash
between commit and publish only delays publication. A crash between publish and marking the rows
would publish them twice; to keep every event exactly once on the topic, the relay first reads
the last record of each partition and marks as published everything up to the outbox position it
carries (records of one partition are published in position order by an idempotent producer).

One relay per service publishes at a time: it holds a PostgreSQL advisory lock while it runs.

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

import asyncpg
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope, encode_record
from contracts.topics import events_topic
from services.platform.db import create_pool
from services.platform.eventstore import NOTIFY_CHANNEL
from services.platform.kafka_io import Record, idempotent_producer, partition_for, read_topic
from services.platform.runtime import until_up
from services.platform.settings import Settings, load_settings

log = logging.getLogger(__name__)
_RELAY_LOCK = 7_231_002
BATCH_SIZE = 500
RECONCILE_TAIL = 100
RESCAN_SECONDS = 1.0


class Relay:
    """Publishes one service's outbox to its events topic."""

    def __init__(self, pool: asyncpg.Pool, producer: AIOKafkaProducer, settings: Settings) -> None:
        self._pool, self._producer, self._settings = pool, producer, settings
        self._topic = events_topic(settings.service)
        self._wakeup = asyncio.Event()
        self._partitions = settings.partitions

    async def run(self) -> None:
        """Take the relay lock, reconcile with the topic, then publish forever."""
        async with self._pool.acquire() as listener:
            await listener.execute("SELECT pg_advisory_lock($1)", _RELAY_LOCK)
            await listener.add_listener(NOTIFY_CHANNEL, lambda *_: self._wakeup.set())
            # keys are placed by the topic's real partition count, whatever the settings say
            self._partitions = len(await self._producer.partitions_for(self._topic))
            await self.reconcile()
            while True:
                while await self.publish_pending():
                    pass
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), RESCAN_SECONDS)
                self._wakeup.clear()

    async def reconcile(self) -> int:
        """Mark as published the outbox rows already on the topic; return how many."""
        last_position = await self._last_published_positions()
        if not last_position:
            return 0
        rows = await self._pool.fetch(
            "SELECT position, order_id FROM events WHERE published_at IS NULL "
            "AND position <= $1 ORDER BY position", max(last_position.values()))
        done = [r["position"] for r in rows
                if r["position"] <= last_position.get(self._partition(r["order_id"]), 0)]
        await self._mark_published(done)
        if done:
            log.warning("relay %s: %d events were on Kafka but not marked", self._topic, len(done))
        return len(done)

    async def _last_published_positions(self) -> dict[int, int]:
        """Per partition, the highest outbox position this relay published there. Records
        without a position (written by anything else) are skipped: the tail is read first,
        the whole partition only when the tail has none of ours."""
        found: dict[int, int] = {}
        for tail in (RECONCILE_TAIL, None):
            async for record in read_topic(self._settings.kafka_bootstrap, self._topic,
                                           tail=tail, partitions=self._unknown(found, tail)):
                position = _position(record, self._settings.service)
                if position is not None:
                    found[record.partition] = max(found.get(record.partition, 0), position)
            if len(found) == self._partitions:
                break
        return found

    def _unknown(self, found: dict[int, int], tail: int | None) -> list[int] | None:
        return None if tail is not None else [p for p in range(self._partitions)
                                              if p not in found]

    async def publish_pending(self) -> int:
        """Publish the next batch of unpublished events in position order; return its size."""
        rows = await self._pool.fetch(
            "SELECT position, order_id, event_id, envelope FROM events "
            "WHERE published_at IS NULL ORDER BY position LIMIT $1", BATCH_SIZE)
        if not rows:
            return 0
        _failpoint("before_publish")
        sends = [await self._send(row) for row in rows]
        await asyncio.gather(*sends)
        _failpoint("after_publish")
        await self._mark_published([row["position"] for row in rows])
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[object]:
        value = encode_record(Envelope.model_validate(row["envelope"]))
        headers = [("position", str(row["position"]).encode()),
                   ("event-id", str(row["event_id"]).encode()),
                   ("producer", self._settings.service.encode())]
        future: asyncio.Future[object] = await self._producer.send(
            self._topic, value=value, key=row["order_id"].encode(),
            partition=self._partition(row["order_id"]), headers=headers)
        return future

    def _partition(self, order_id: str) -> int:
        return partition_for(order_id, self._partitions)

    async def _mark_published(self, positions: list[int]) -> None:
        if positions:
            await self._pool.execute(
                "UPDATE events SET published_at = now() WHERE position = ANY($1::bigint[])",
                positions)


def _position(record: Record, service: str) -> int | None:
    headers = dict(record.headers)
    if headers.get("producer") != service.encode() or "position" not in headers:
        return None
    return int(headers["position"])


def _failpoint(name: str) -> None:
    """Fault injection for the crash tests: ``RELAY_FAILPOINT=<name>`` kills the process here."""
    if os.environ.get("RELAY_FAILPOINT") == name:
        log.warning("relay failpoint %s: killing the process", name)
        os.kill(os.getpid(), signal.SIGKILL)


async def run_relay(settings: Settings) -> None:
    """Open the service's database and producer and run its relay until cancelled.

    Any failure ends it; ``main`` starts over, because a fresh producer and a fresh
    reconciliation are the safe way back after a Kafka or database error.
    """
    pool = await until_up(create_pool)(settings.database_url, max_size=3)
    producer = idempotent_producer(settings.kafka_bootstrap)
    await until_up(producer.start)()
    try:
        await Relay(pool, producer, settings).run()
    finally:
        await producer.stop()
        await pool.close()


def main() -> None:
    """Entry point: ``python -m services.platform.relay <service>``; restarts after a failure."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
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
