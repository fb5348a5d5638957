"""How far a consumer group is behind: the one count that the services' health, the operators'
``lag`` command and the fault suite's checks share.

A group reads each partition from its committed offset; from the partition's beginning when it
never committed there, or when retention removed records it had not read (the committed offset
is then before the beginning). The topics are those the caller says the group reads and every
topic the group committed on: a subscription the code no longer lists still lags.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

__all__ = ["PartitionPosition", "first_timestamps", "group_positions", "topic_partitions"]


@dataclass(frozen=True)
class PartitionPosition:
    """One partition a group reads: its beginning and end offsets, and the group's committed
    offset (None if it never committed there)."""

    tp: TopicPartition
    begin: int
    end: int
    committed: int | None

    @property
    def position(self) -> int:
        """Where the group reads next."""
        return self.begin if self.committed is None else max(self.begin, self.committed)

    @property
    def lag(self) -> int:
        """Records on the partition the group has not committed yet."""
        return max(0, self.end - self.position)


async def group_positions(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str,
                          topics: Iterable[str]) -> list[PartitionPosition]:
    """Every partition ``group`` reads, with the offsets its lag is counted from."""
    committed = {tp: meta.offset for tp, meta in
                 (await admin.list_consumer_group_offsets(group)).items() if meta.offset >= 0}
    partitions = await topic_partitions(admin, {*topics, *(tp.topic for tp in committed)})
    if not partitions:
        return []
    begins = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    return [PartitionPosition(tp, begins[tp], ends[tp], committed.get(tp)) for tp in partitions]


async def topic_partitions(admin: AIOKafkaAdminClient,
                           topics: Iterable[str]) -> list[TopicPartition]:
    """Every partition of the ``topics`` that exist, in order."""
    names = sorted(topics)
    if not names:
        return []
    return [TopicPartition(found["topic"], partition["partition"])
            for found in await admin.describe_topics(names) if not found["error_code"]
            for partition in sorted(found["partitions"], key=lambda p: p["partition"])]


async def first_timestamps(consumer: AIOKafkaConsumer, positions: Mapping[TopicPartition, int],
                           timeout: float) -> dict[TopicPartition, int]:
    """Kafka's timestamp of the record at each position, for those fetched within ``timeout``
    (what is not fetched by then is left out: an age is a hint, the lag is the count). The
    consumer is left with no partitions, so it fetches nothing in the background meanwhile."""
    if not positions:
        return {}
    consumer.assign(list(positions))
    for tp, offset in positions.items():
        consumer.seek(tp, offset)
    found: dict[TopicPartition, int] = {}
    deadline = time.monotonic() + timeout
    try:
        while len(found) < len(positions) and time.monotonic() < deadline:
            missing = [tp for tp in positions if tp not in found]
            batch = await consumer.getmany(*missing, timeout_ms=200)
            found.update({tp: records[0].timestamp for tp, records in batch.items() if records})
    finally:
        consumer.unsubscribe()
    return found
