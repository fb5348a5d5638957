"""A real three-broker KRaft cluster (``deploy/local/cluster.py``): acknowledged writes survive the
crash of the busiest broker, exactly once and in order per key; with two brokers of three down,
an ``acks=all`` write is refused, not acknowledged.

The cluster is this module's own (ports 32192-32197, data in ``.data/cluster-test``), not the
session's test stack: no fixture of ``conftest.py`` is used. Every wait is on a condition the
cluster reports (metadata: leaders, in-sync replicas, registered brokers), never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, NotEnoughReplicasError

from deploy.local.cluster import KafkaCluster
from deploy.local.kafka import REPO_ROOT
from services.platform.kafka_io import idempotent_producer, provision_topics, read_topic

pytestmark = pytest.mark.integration

DATA_DIR = REPO_ROOT / ".data" / "cluster-test"
BASE_PORT = 32192
PARTITIONS = 6
KEYS = 24
PHASE = 1000  # records produced before the crash, during the outage and while the node rejoins
WINDOW = 100  # sends in flight at once
METADATA_TIMEOUT = 60.0  # a leader election or a rejoin takes ~10 s; slow machines get room

Partitions = list[dict[str, Any]]


@pytest.fixture(scope="module")
def cluster() -> Iterator[KafkaCluster]:
    """A fresh three-node cluster, stopped (by its pids) at the end whatever happens."""
    KafkaCluster(DATA_DIR, BASE_PORT).stop(timeout=10)  # nodes an interrupted run left behind
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    cluster = KafkaCluster(DATA_DIR, BASE_PORT)
    try:
        cluster.start()
        cluster.wait_ready(timeout=180)
        yield cluster
    finally:
        cluster.stop(timeout=20)


# --- what the cluster says -------------------------------------------------------------------


async def describe(bootstrap: str, topic: str) -> Partitions:
    """The topic's partitions (leader, replicas, isr) as a live broker reports them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        [found] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if found["error_code"] or len(found["partitions"]) != PARTITIONS:
        raise LookupError(f"{topic} not (yet) known: {found}")
    return sorted(found["partitions"], key=lambda p: p["partition"])


async def wait_for(bootstrap: str, topic: str, what: str,
                   condition: Callable[[Partitions], bool]) -> Partitions:
    """Poll the topic's metadata until ``condition`` holds; fail after METADATA_TIMEOUT."""
    deadline = time.monotonic() + METADATA_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = partitions = await describe(bootstrap, topic)
            if condition(partitions):
                return partitions
        except (KafkaError, LookupError, OSError) as err:  # the admin picked a node that is down
            last = err
        await asyncio.sleep(0.25)
    raise AssertionError(f"{topic}: not {what} after {METADATA_TIMEOUT}s; last seen {last}")


def fully_replicated(node_ids: set[int]) -> Callable[[Partitions], bool]:
    """Every partition led by a node and replicated in sync on all of ``node_ids``."""
    return lambda parts: all(p["leader"] in node_ids and set(p["isr"]) == node_ids
                             for p in parts)


def led_without(node_id: int) -> Callable[[Partitions], bool]:
    """Every partition has a leader again, and it is not ``node_id``."""
    return lambda parts: all(p["leader"] not in (node_id, -1) for p in parts)


async def topic_config(bootstrap: str, topic: str, name: str) -> str:
    """One configuration value of ``topic``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {name: None})])
    finally:
        await admin.close()
    [resource] = response.to_object()["resources"]
    [entry] = resource["config_entries"]
    return str(entry["config_value"])


async def create_replicated_topic(cluster: KafkaCluster, topic: str) -> None:
    """Create ``topic`` the way the services do with TOPIC_REPLICATION=3 and wait until every
    partition is in sync on the three nodes."""
    await provision_topics(cluster.bootstrap, PARTITIONS, 3, [topic])
    everyone = {node.node_id for node in cluster.nodes}
    await wait_for(cluster.bootstrap, topic, "replicated on 3", fully_replicated(everyone))
    assert await topic_config(cluster.bootstrap, topic, "min.insync.replicas") == "2"


# --- what the producer did -------------------------------------------------------------------


@dataclass
class Sends:
    """Each record sent, as ``<key>:<n>`` (n counts up per key), and how its send ended."""

    acked: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)

    def next_record(self, n: int) -> tuple[str, str]:
        """The key and value of the ``n``-th record."""
        key = f"key-{n % KEYS}"
        self.counters[key] += 1
        return key, f"{key}:{self.counters[key]}"


async def produce(producer: AIOKafkaProducer, topic: str, sends: Sends, count: int) -> int:
    """Send ``count`` keyed records, ``WINDOW`` at a time; return how many were acknowledged."""
    acked_before = len(sends.acked)
    for start in range(0, count, WINDOW):
        pending: list[tuple[str, asyncio.Future[Any]]] = []
        for n in range(start, min(start + WINDOW, count)):
            key, value = sends.next_record(n)
            try:
                pending.append((value, await producer.send(topic, value.encode(),
                                                           key=key.encode())))
            except KafkaError as err:
                sends.failed[value] = repr(err)
        results = await asyncio.gather(*(future for _, future in pending),
                                       return_exceptions=True)
        for (value, _), result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                sends.failed[value] = repr(result)
            else:
                sends.acked.add(value)
    return len(sends.acked) - acked_before


async def consumed(bootstrap: str, topic: str) -> list[tuple[int, str]]:
    """Every record of ``topic`` as (partition, value), in offset order within each partition."""
    return [(r.partition, (r.value or b"").decode()) async for r in read_topic(bootstrap, topic)]


def check_exactly_once_in_order(records: list[tuple[int, str]], sends: Sends) -> None:
    """No acknowledged record lost, no record twice, each key's records in the order sent."""
    counts = Counter(value for _, value in records)
    duplicated = sorted(value for value, n in counts.items() if n > 1)
    lost = sorted(sends.acked - counts.keys())
    assert not duplicated, f"{len(duplicated)} records consumed twice: {duplicated[:10]}"
    assert not lost, f"{len(lost)} acknowledged records lost: {lost[:10]}"
    sequences: defaultdict[str, list[int]] = defaultdict(list)
    partitions: defaultdict[str, set[int]] = defaultdict(set)
    for partition, value in records:
        key, n = value.rsplit(":", 1)
        sequences[key].append(int(n))
        partitions[key].add(partition)
    for key, numbers in sequences.items():
        assert len(partitions[key]) == 1, f"{key} spread over partitions {partitions[key]}"
        assert numbers == sorted(numbers), f"{key} out of order: {numbers}"


def busiest_leader(partitions: Partitions) -> int:
    """The node id that leads the most partitions."""
    return Counter(p["leader"] for p in partitions).most_common(1)[0][0]


# --- the tests -------------------------------------------------------------------------------


async def test_acknowledged_writes_survive_the_crash_of_the_busiest_broker(
    cluster: KafkaCluster,
) -> None:
    topic = "cluster-test.crash"
    everyone = {node.node_id for node in cluster.nodes}
    await create_replicated_topic(cluster, topic)
    sends = Sends()
    producer = idempotent_producer(cluster.bootstrap)  # the services' own: acks=all, idempotent
    await producer.start()
    try:
        assert await produce(producer, topic, sends, PHASE) == PHASE

        victim = busiest_leader(await describe(cluster.bootstrap, topic))
        assert await asyncio.to_thread(cluster.kill, cluster.index_of(victim))
        during = asyncio.create_task(produce(producer, topic, sends, PHASE))
        await wait_for(cluster.bootstrap, topic, f"led without node {victim}",
                       led_without(victim))
        acked_during_outage = await asyncio.wait_for(during, METADATA_TIMEOUT)

        await asyncio.to_thread(cluster.start_node, cluster.index_of(victim))
        rejoining = asyncio.create_task(produce(producer, topic, sends, PHASE))
        await asyncio.to_thread(cluster.wait_ready, METADATA_TIMEOUT)
        await wait_for(cluster.bootstrap, topic, f"back in sync on node {victim}",
                       fully_replicated(everyone))
        await asyncio.wait_for(rejoining, METADATA_TIMEOUT)
    finally:
        await producer.stop()

    # the producer rides out the fail-over: it retries until the new leader takes the write
    assert acked_during_outage == PHASE
    assert not sends.failed, f"{len(sends.failed)} sends failed: {list(sends.failed.items())[:5]}"
    check_exactly_once_in_order(await consumed(cluster.bootstrap, topic), sends)


async def test_acks_all_write_is_refused_with_two_brokers_of_three_down(
    cluster: KafkaCluster,
) -> None:
    topic = "cluster-test.quorum"
    everyone = {node.node_id for node in cluster.nodes}
    await create_replicated_topic(cluster, topic)
    sends = Sends()
    producer = idempotent_producer(cluster.bootstrap)
    await producer.start()
    try:
        assert await produce(producer, topic, sends, 100) == 100
    finally:
        await producer.stop()

    # stopped cleanly (the crash is the other test's): the controller then takes each one out
    # of the in-sync replicas at once, so the survivor refuses for min.insync.replicas itself
    # rather than timing out while it waits for replicas that will not come
    *down, survivor = cluster.nodes
    for node in down:
        assert await asyncio.to_thread(node.stop)
    await wait_for(cluster.bootstrap, topic, f"in sync on node {survivor.node_id} alone",
                   fully_replicated({survivor.node_id}))

    refused = await refused_writes(cluster.bootstrap, topic)
    assert refused and all(isinstance(err, NotEnoughReplicasError) for err in refused.values()), (
        f"acks=all writes with one in-sync replica of 3 were not refused: {refused}")

    for node in down:
        await asyncio.to_thread(node.start)
    await asyncio.to_thread(cluster.wait_ready, 120)
    await wait_for(cluster.bootstrap, topic, "in sync on all nodes again",
                   fully_replicated(everyone))
    records = await consumed(cluster.bootstrap, topic)
    check_exactly_once_in_order(records, sends)
    assert not set(refused) & {value for _, value in records}, "a refused write was stored"


async def refused_writes(bootstrap: str, topic: str) -> dict[str, BaseException]:
    """Send one acks=all record to each partition; return the error of each, by value.

    A producer without idempotence, so that a refused batch fails once its request timeout
    has passed (the idempotent one retries it without end, which the services want).
    """
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=3000)
    await producer.start()
    try:
        values = [f"refused:{p}" for p in range(PARTITIONS)]
        futures = [await producer.send(topic, v.encode(), partition=p)
                   for p, v in enumerate(values)]
        results = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        await producer.stop()
    acked = [v for v, r in zip(values, results, strict=True) if not isinstance(r, BaseException)]
    assert not acked, f"acknowledged with two brokers of three down: {acked}"
    return {v: r for v, r in zip(values, results, strict=True) if isinstance(r, BaseException)}
