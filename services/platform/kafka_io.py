"""Kafka plumbing: topic provisioning, partitioning, producers and reading a topic's records."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from contracts.topics import CHECKPOINTS_TOPIC, all_topics

__all__ = [
    "Record",
    "idempotent_producer",
    "partition_for",
    "provision_topics",
    "read_topic",
]

log = logging.getLogger(__name__)
Headers = Sequence[tuple[str, bytes]]


def partition_for(key: str, partitions: int) -> int:
    """The partition of ``key`` by Kafka's default (murmur2) partitioner, as Java computes it."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


async def provision_topics(bootstrap: str, partitions: int, replication: int = 1,
                           topics: Sequence[str] | None = None) -> list[str]:
    """Create the log's topics that do not exist yet (retention unlimited); return those created.

    ``replication`` is 1 on the local single broker and 3 on a cluster, where the topics also
    get ``min.insync.replicas=2``: an ``acks=all`` write then survives the loss of any broker.
    Without ``topics``, the checkpoints topic is provisioned too, with one partition.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in (topics or all_topics()) if t not in existing]
        for topic in missing:
            await _create_topic(admin, topic, partitions, replication)
        if topics is None and CHECKPOINTS_TOPIC not in existing:
            # one partition: each topic's checkpoints stay in the order they were signed
            await _create_topic(admin, CHECKPOINTS_TOPIC, 1, replication)
            missing.append(CHECKPOINTS_TOPIC)
        return missing
    finally:
        await admin.close()


async def _create_topic(admin: AIOKafkaAdminClient, topic: str, partitions: int,
                        replication: int) -> None:
    configs = {"retention.ms": "-1", "retention.bytes": "-1"}
    if replication >= 3:
        # set on the topic, not left to the brokers' default, so that a cluster configured with
        # min.insync.replicas=1 still refuses an acks=all write that only one replica holds
        configs["min.insync.replicas"] = "2"
    new = NewTopic(topic, num_partitions=partitions, replication_factor=replication,
                   topic_configs=configs)
    # another instance may have created it between our listing and our request
    with contextlib.suppress(TopicAlreadyExistsError):
        await admin.create_topics([new])


PRODUCER_BATCH_BYTES = 256 * 1024
"""A partition's batch per request: about 170 of our ~1.5 KB envelopes. aiokafka's default
(16 KB) fits ten, which held the relay to a fifth of what the broker takes (``make bench``'s
Kafka ceiling)."""


def idempotent_producer(bootstrap: str) -> AIOKafkaProducer:
    """A producer that keeps per-partition order and writes each send once (acks=all).

    No compression: on loopback it only spends the CPU the services need (measured by
    ``make bench``); across machines, ``compression_type`` is the knob to turn.
    """
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                            linger_ms=2, max_batch_size=PRODUCER_BATCH_BYTES,
                            request_timeout_ms=30000)


@dataclass(frozen=True)
class Record:
    """One record read from a topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


async def read_topic(bootstrap: str, topic: str, *, tail: int | None = None,
                     partitions: Sequence[int] | None = None) -> AsyncIterator[Record]:
    """Every record of ``topic`` up to its end offsets at the time of the call, in order within
    each partition (only the last ``tail`` records of each with ``tail``; only ``partitions``
    if given)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                isolation_level="read_committed", fetch_max_wait_ms=50)
    await consumer.start()
    try:
        ends = await _end_offsets(consumer, topic, partitions)
        starts = await _start_offsets(consumer, ends, tail)
        pending = {tp for tp, end in ends.items() if starts[tp] < end}
        if pending:
            consumer.assign(list(pending))
            for tp in pending:
                consumer.seek(tp, starts[tp])
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset < ends[tp]:
                        yield Record(tp.topic, tp.partition, message.offset, message.key,
                                     message.value, tuple(message.headers or ()))
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()


async def _end_offsets(consumer: AIOKafkaConsumer, topic: str,
                       partitions: Sequence[int] | None) -> dict[TopicPartition, int]:
    # an unassigned consumer knows no partitions until its cluster metadata is refreshed
    await consumer._client.force_metadata_update()
    known = consumer.partitions_for_topic(topic)
    if not known:
        raise LookupError(f"topic {topic} does not exist")
    selected = [TopicPartition(topic, p) for p in sorted(known)
                if partitions is None or p in partitions]
    return dict(await consumer.end_offsets(selected)) if selected else {}


async def _start_offsets(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int],
                         tail: int | None) -> dict[TopicPartition, int]:
    begins = await consumer.beginning_offsets(list(ends)) if ends else {}
    return {tp: begins[tp] if tail is None else max(begins[tp], end - tail)
            for tp, end in ends.items()}
