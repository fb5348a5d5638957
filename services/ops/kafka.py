"""Reading the log for operators: following topics live and reading partitions from a given
offset. Like ``services.platform.watch``, without a consumer group: reading never commits, so it
never moves any service's offsets."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from services.platform.kafka_io import Record

__all__ = ["Arrival", "arrivals", "extent", "following", "offsets", "partitions_of", "read_from",
           "reader"]


@dataclass(frozen=True)
class Arrival:
    """A record as read, with Kafka's timestamp of it (milliseconds since the epoch)."""

    record: Record
    timestamp_ms: int


def reader(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer without a group (it never commits), not started."""
    return AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                            enable_auto_commit=False, isolation_level="read_committed",
                            fetch_max_wait_ms=100)


async def partitions_of(consumer: AIOKafkaConsumer,
                        topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of ``topics`` (those that exist), in a stable order."""
    # a fresh view of the whole cluster: a consumer knows only the partitions of the topics it
    # is assigned, and ``topics()`` does not keep what it fetched (kafka_io does the same)
    cluster = await consumer._client.fetch_all_metadata()
    return [TopicPartition(topic, p) for topic in topics
            for p in sorted(cluster.partitions_for_topic(topic) or ())]


@contextlib.asynccontextmanager
async def following(bootstrap: str, topics: Iterable[str],
                    from_beginning: bool) -> AsyncIterator[AIOKafkaConsumer]:
    """A group-less consumer assigned every partition of ``topics`` and already positioned at
    their beginnings (or ends): once entered, nothing published afterwards can be missed."""
    consumer = reader(bootstrap)
    await consumer.start()
    try:
        assigned = await partitions_of(consumer, topics)
        consumer.assign(assigned)
        if assigned:
            seek = consumer.seek_to_beginning if from_beginning else consumer.seek_to_end
            await seek(*assigned)
            for tp in assigned:  # resolve the positions now, not lazily at the first fetch
                await consumer.position(tp)
        yield consumer
    finally:
        await consumer.stop()


async def arrivals(consumer: AIOKafkaConsumer, idle: float | None = None,
                   ) -> AsyncGenerator[Arrival, None]:
    """Records as they arrive (in order within each partition); ends once ``idle`` seconds
    pass without one (never, without ``idle``)."""
    last = time.monotonic()
    while idle is None or time.monotonic() - last < idle:
        batch = await consumer.getmany(timeout_ms=200)
        for messages in batch.values():
            for message in messages:
                yield Arrival(_record(message), message.timestamp)
        if batch:
            last = time.monotonic()


async def offsets(bootstrap: str, topics: Iterable[str],
                  ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """The beginning and end offsets of every partition of ``topics``."""
    consumer = reader(bootstrap)
    await consumer.start()
    try:
        partitions = await partitions_of(consumer, topics)
        if not partitions:
            return {}, {}
        return (dict(await consumer.beginning_offsets(partitions)),
                dict(await consumer.end_offsets(partitions)))
    finally:
        await consumer.stop()


async def extent(bootstrap: str, topic: str) -> int:
    """How many records ``topic`` holds now (for a progress bar's total)."""
    begins, ends = await offsets(bootstrap, [topic])
    return sum(ends[tp] - begins[tp] for tp in ends)


async def read_from(bootstrap: str, topic: str,
                    starts: Mapping[int, int]) -> AsyncIterator[Record]:
    """Every record of ``topic``'s partitions in ``starts`` from the given offset up to the end
    offsets of the time of the call, in order within each partition."""
    consumer = reader(bootstrap)
    await consumer.start()
    try:
        wanted = [TopicPartition(topic, p) for p in starts]
        ends = await consumer.end_offsets(wanted) if wanted else {}
        pending = {tp for tp in wanted if starts[tp.partition] < ends[tp]}
        consumer.assign(list(pending))
        for tp in pending:
            consumer.seek(tp, starts[tp.partition])
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset < ends[tp]:
                        yield _record(message)
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()


def _record(message: ConsumerRecord) -> Record:
    return Record(message.topic, message.partition, message.offset, message.key, message.value,
                  tuple(message.headers or ()))
