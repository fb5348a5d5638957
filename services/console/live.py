"""The log live, as server-sent events: a Kafka consumer of the console's own (no group, so
watching never moves a service's offsets) positioned at the end of every topic, each new record
sent as a table row the page inserts (htmx's SSE extension)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.topics import all_topics


@dataclass(frozen=True)
class Filters:
    """What an operator follows: a service, an event type, an order (empty: everything)."""

    service: str = ""
    type: str = ""
    order: str = ""

    def admit(self, row: dict[str, Any]) -> bool:
        """True when ``row`` passes every filter that is set."""
        return ((not self.service or row["topic"].startswith(f"{self.service}."))
                and (not self.type or row["type"] == self.type)
                and (not self.order or row["order_id"] == self.order))


def row_of(topic: str, partition: int, offset: int, value: bytes | None,
           headers: dict[str, bytes]) -> dict[str, Any]:
    """What the page shows of one record, with its whole envelope for the click-through."""
    row: dict[str, Any] = {"topic": topic, "partition": partition, "offset": offset,
                           "reason": headers.get("dlq-reason", b"").decode(errors="replace")}
    try:
        envelope = json.loads(value or b"")
        row.update(type=str(envelope["type"]), order_id=str(envelope["order_id"]),
                   version=envelope["version"], occurred_at=envelope["occurred_at"],
                   hash=str(envelope["hash"])[:12], envelope=json.dumps(envelope, indent=2))
    except (ValueError, KeyError, TypeError):
        row.update(type="undecodable", order_id="", version="", occurred_at="", hash="",
                   envelope=repr(value[:200] if value else value))
    return row


async def follow(bootstrap: str) -> AsyncIterator[dict[str, Any] | None]:
    """Yield ``None`` once positioned at the end of every topic (from then on nothing is
    missed), then a row per new record, as it arrives."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, fetch_max_wait_ms=100)
    await consumer.start()
    try:
        await _assign_at_end(consumer)
        yield None
        async for message in consumer:
            yield row_of(message.topic, message.partition, message.offset, message.value,
                         dict(message.headers or ()))
    finally:
        await consumer.stop()


async def _assign_at_end(consumer: AIOKafkaConsumer) -> None:
    await consumer._client.force_metadata_update()
    partitions = [TopicPartition(topic, p) for topic in all_topics()
                  for p in consumer.partitions_for_topic(topic) or ()]
    consumer.assign(partitions)
    await consumer.seek_to_end(*partitions)
    for tp in partitions:  # resolve each position now, not at the first fetch
        await consumer.position(tp)
