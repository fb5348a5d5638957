"""Building requests and reading results in the tests' own terms."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import events_topic
from deploy.demo import order_body
from services.platform.kafka_io import Record, read_topic
from tests.support.waiting import eventually

__all__ = ["committed_offset", "events_of", "events_of_buyer", "order_body", "published_records",
           "record_of"]

async def events_of(db: asyncpg.Pool, order_id: str) -> list[dict[str, Any]]:
    """The order's envelopes in a service's event store, in version order."""
    rows = await db.fetch(
        "SELECT envelope FROM events WHERE order_id = $1 ORDER BY version", order_id)
    return [row["envelope"] for row in rows]


async def events_of_buyer(orders_db: asyncpg.Pool, buyer_id: str) -> int:
    """How many events the orders service recorded for a buyer."""
    return int(await orders_db.fetchval(
        "SELECT count(*) FROM events WHERE envelope->'payload'->>'buyer_id' = $1", buyer_id))


async def published_records(bootstrap: str, service: str, order_id: str) -> list[dict[str, Any]]:
    """The envelopes of ``order_id`` on ``service``'s topic, in topic order."""
    found = []
    async for record in read_topic(bootstrap, events_topic(service)):
        if record.key == order_id.encode() and (envelope := _json(record)):
            found.append(envelope)
    return found


async def relayed_records(bootstrap: str, service: str, order_id: str,
                          db: asyncpg.Pool) -> list[dict[str, Any]]:
    """The envelopes of ``order_id`` on ``service``'s topic, once its relay has published
    every event the service recorded for it (a read model shows an event as soon as it is
    committed; the relay publishes it a moment later)."""
    async def relayed() -> bool:
        return await db.fetchval("SELECT count(*) FROM events WHERE order_id = $1 "
                                 "AND published_at IS NULL", order_id) == 0

    await eventually(relayed, what=f"every {service} event of {order_id} published")
    return await published_records(bootstrap, service, order_id)


def _json(record: Record) -> dict[str, Any] | None:
    """The record's JSON object, or None for the poison records other tests leave behind."""
    try:
        value = json.loads(record.value or b"")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def record_of(bootstrap: str, service: str, event_id: str) -> list[Record]:
    """Every record on ``service``'s topic that carries the event ``event_id``."""
    found = []
    async for record in read_topic(bootstrap, events_topic(service)):
        if (envelope := _json(record)) and envelope.get("event_id") == event_id:
            found.append(record)
    return found


async def committed_offset(bootstrap: str, group: str, topic: str, partition: int) -> int:
    """The offset a consumer group has committed on one partition (-1 if none)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, partition))
    return meta.offset if meta else -1
