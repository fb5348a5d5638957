"""``lag``: how far each consumer group is behind, partition by partition, and what each relay
has not published yet.

The outbox is measured by the services' own health probe (``DatabaseProbe``: the same query and
limits as ``/health``), and a group's verdict by ``consumers_status``; the partition detail,
which ``/health`` only sums, is read here with one admin client and one group-less consumer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import SERVICES
from services.ops.kafka import reader
from services.ops.registry import consumer_groups
from services.ops.settings import OpsSettings
from services.platform.health import (
    DatabaseProbe,
    GroupLag,
    Limits,
    OutboxCheck,
    Status,
    consumers_status,
)
from services.platform.lag import PartitionPosition, first_timestamps, group_positions

__all__ = ["LagReport", "PartitionLag", "group_totals", "measure", "partition_lag"]


@dataclass(frozen=True)
class PartitionLag:
    """One partition a consumer group reads: its end offset, the group's committed offset (None
    if it never committed there), the records in between and the age of the first of them."""

    group: str
    topic: str
    partition: int
    end: int
    committed: int | None
    lag: int
    oldest_unprocessed_age_s: float | None


@dataclass(frozen=True)
class LagReport:
    """Every group's partitions and totals (with /health's verdict), every relay's outbox."""

    partitions: list[PartitionLag]
    groups: dict[str, GroupLag]
    group_status: dict[str, Status]
    outboxes: dict[str, OutboxCheck]


def partition_lag(group: str, at: PartitionPosition, oldest_ms: int | None,
                  now: float) -> PartitionLag:
    """One partition's lag (``services.platform.lag``) and the age of its oldest record not
    committed (Kafka's timestamp ``oldest_ms``, if it was fetched)."""
    age = (None if not at.lag or oldest_ms is None or oldest_ms < 0
           else round(now - oldest_ms / 1000, 3))
    return PartitionLag(group, at.tp.topic, at.tp.partition, at.end, at.committed, at.lag, age)


def group_totals(partitions: Sequence[PartitionLag]) -> dict[str, GroupLag]:
    """Each group's lag over its partitions, and the age of its oldest unprocessed record."""
    totals: dict[str, GroupLag] = {}
    for row in partitions:
        before = totals.get(row.group, GroupLag(lag=0))
        ages = [a for a in (before.oldest_unprocessed_age_s, row.oldest_unprocessed_age_s)
                if a is not None]
        totals[row.group] = GroupLag(lag=before.lag + row.lag,
                                     oldest_unprocessed_age_s=max(ages) if ages else None)
    return totals


async def measure(settings: OpsSettings) -> LagReport:
    """Every consumer group's partitions, and every relay's outbox."""
    limits = Limits(settings.health_max_consumer_lag, settings.health_max_lag_seconds,
                    settings.health_max_outbox_seconds)
    timeout = settings.health_check_timeout_ms / 1000
    partitions = await _all_partitions(settings.kafka_bootstrap, consumer_groups(), timeout)
    groups = group_totals(partitions)
    status = {group: consumers_status({group: lag}, limits) for group, lag in groups.items()}
    return LagReport(partitions, groups, status, await _outboxes(settings, limits, timeout))


async def _outboxes(settings: OpsSettings, limits: Limits,
                    timeout: float) -> dict[str, OutboxCheck]:
    found = {}
    for name in SERVICES:
        probe = DatabaseProbe(settings.database_url_for(name), timeout, limits)
        try:
            _, found[name] = await probe.check()
        finally:
            await probe.close()
    return found


async def _all_partitions(bootstrap: str, groups: Mapping[str, Sequence[str]],
                          timeout: float) -> list[PartitionLag]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = reader(bootstrap)
    await admin.start()
    try:
        await consumer.start()
        try:
            return [row for group, topics in groups.items()
                    for row in await _group(admin, consumer, group, topics, timeout)]
        finally:
            await consumer.stop()
    finally:
        await admin.close()


async def _group(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer, group: str,
                 topics: Sequence[str], timeout: float) -> list[PartitionLag]:
    positions = await group_positions(admin, consumer, group, topics)
    stamps = await first_timestamps(
        consumer, {at.tp: at.position for at in positions if at.lag}, timeout)
    now = time.time()
    return [partition_lag(group, at, stamps.get(at.tp), now) for at in positions]
