"""Crashes, redeliveries and poison records: nothing lost, nothing doubled, bad input set aside.

These tests stop, kill (SIGKILL) and restart the real service processes; each one leaves the
session's processes running again for the next test.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from contracts.envelope import EmittingService
from contracts.topics import dead_letter_topic
from deploy.processes import ServiceProcess
from services.platform.kafka_io import partition_for, read_topic
from tests.integration.conftest import System
from tests.support.orders import committed_offset, events_of, order_body, record_of
from tests.support.records import valid_order_placed, with_schema_version
from tests.support.waiting import eventually, stack_now

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
GROUP = "fulfilment-consumers"


@pytest.fixture
def relay_stopped(system: System) -> Iterator[ServiceProcess]:
    """The orders relay is stopped for the test and running again after it."""
    system["orders-relay"].stop()
    yield system["orders-relay"]
    if not system["orders-relay"].running:
        system["orders-relay"].start()


@pytest.fixture
def worker_stopped(system: System) -> Iterator[ServiceProcess]:
    """The fulfilment worker is stopped for the test and running again after it."""
    system["fulfilment-worker"].stop()
    yield system["fulfilment-worker"]
    if not system["fulfilment-worker"].running:
        system["fulfilment-worker"].start()


def crashing_relay(system: System, failpoint: str) -> ServiceProcess:
    normal = system["orders-relay"]
    return ServiceProcess(f"orders-relay-{failpoint}", normal.args, normal.env,
                          normal.log_path.parent).start(RELAY_FAILPOINT=failpoint)


async def unpublished(orders_db: asyncpg.Pool, event_id: str) -> bool:
    return await orders_db.fetchval(
        "SELECT published_at IS NULL FROM events WHERE event_id = $1", uuid.UUID(event_id))


@pytest.mark.parametrize("failpoint", ["before_publish", "after_publish"])
async def test_event_is_on_the_topic_exactly_once_when_the_relay_is_killed(
        http: httpx.AsyncClient, system: System, orders_db: asyncpg.Pool,
        relay_stopped: ServiceProcess, failpoint: str) -> None:
    order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    event_id = (await events_of(orders_db, order["order_id"]))[0]["event_id"]
    assert await unpublished(orders_db, event_id)  # committed, not yet published

    crashed = crashing_relay(system, failpoint)
    assert crashed.wait_exit() == -9  # SIGKILL at the failpoint
    assert await unpublished(orders_db, event_id)
    on_topic = len(await record_of(system.infra.kafka_bootstrap, "orders", event_id))
    assert on_topic == (1 if failpoint == "after_publish" else 0)

    relay_stopped.start()
    await eventually(lambda: _published(orders_db, event_id), what="published after restart")
    assert len(await record_of(system.infra.kafka_bootstrap, "orders", event_id)) == 1


async def _published(orders_db: asyncpg.Pool, event_id: str) -> bool:
    return not await unpublished(orders_db, event_id)


async def test_event_redelivered_after_a_consumer_crash_is_applied_once(
        http: httpx.AsyncClient, system: System, fulfilment_db: asyncpg.Pool,
        orders_db: asyncpg.Pool, worker_stopped: ServiceProcess) -> None:
    bootstrap = system.infra.kafka_bootstrap
    # a worker that commits its offsets only every hour: a crash leaves them uncommitted
    lazy = ServiceProcess("fulfilment-worker-lazy-commit", worker_stopped.args,
                          worker_stopped.env, worker_stopped.log_path.parent)
    lazy.start(CONSUMER_COMMIT_INTERVAL="3600")
    reserved_before = await _reserved(fulfilment_db, "RIVESALTES-GRENAT-2019")
    order = (await http.post(f"{system.orders_url}/orders", json=order_body(
        lines=[{"sku": "RIVESALTES-GRENAT-2019", "quantity": 3}]))).json()
    order_id = order["order_id"]
    event_id = (await events_of(orders_db, order_id))[0]["event_id"]
    await eventually(lambda: events_of(fulfilment_db, order_id), what="reservation")
    [record] = await eventually(lambda: record_of(bootstrap, "orders", event_id))

    assert await committed_offset(bootstrap, GROUP, record.topic, record.partition) \
        <= record.offset  # applied, offset not committed
    lazy.kill()
    worker_stopped.start()
    await eventually(lambda: _committed_past(bootstrap, record), what="redelivered and committed")

    assert f"duplicate {event_id}" in worker_stopped.log_tail(2000)  # really delivered again
    assert [e["type"] for e in await events_of(fulfilment_db, order_id)] == ["StockReserved"]
    assert await _reserved(fulfilment_db, "RIVESALTES-GRENAT-2019") == reserved_before + 3
    assert await fulfilment_db.fetchval(
        "SELECT count(*) FROM processed_events WHERE event_id = $1", uuid.UUID(event_id)) == 1


async def _reserved(db: asyncpg.Pool, sku: str) -> int:
    return int(await db.fetchval("SELECT reserved FROM stock WHERE sku = $1", sku))


async def _committed_past(bootstrap: str, record) -> bool:
    return await committed_offset(bootstrap, GROUP, record.topic, record.partition) > record.offset


def with_payload_field(raw: bytes, field: str, value: object) -> bytes:
    document = json.loads(raw)
    document["payload"][field] = value
    return json.dumps(document).encode()


@pytest.mark.parametrize(("poison", "reason"), [
    (lambda order_id: b"\x00\xffnot json at all", "undecodable JSON"),
    (lambda order_id: with_schema_version(valid_order_placed(order_id), 99),
     "unknown schema_version 99 of OrderPlaced"),
    (lambda order_id: with_payload_field(valid_order_placed(order_id), "total_cents", -5),
     "invalid OrderPlaced payload: total_cents"),
])
async def test_poison_record_goes_to_the_dead_letter_topic_and_the_next_event_is_applied(
        http: httpx.AsyncClient, system: System, fulfilment_db: asyncpg.Pool, poison,
        reason: str) -> None:
    order_id, bootstrap = str(uuid.uuid4()), system.infra.kafka_bootstrap
    poison_bytes = poison(order_id)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        partition = partition_for(order_id, len(await producer.partitions_for("orders.events")))
        for value in (poison_bytes, valid_order_placed(order_id)):  # same partition, in order
            await producer.send_and_wait("orders.events", value, key=order_id.encode(),
                                         partition=partition)
    finally:
        await producer.stop()

    await eventually(lambda: events_of(fulfilment_db, order_id), what="next event applied")
    # every consumer that handles OrderPlaced; a record that is not even an envelope, every
    # consumer of the topic (refunds reads orders.events, but not OrderPlaced)
    consumers = {b"fulfilment.reserve-stock", b"payments.orders"} | (
        {b"refunds.orders"} if reason == "undecodable JSON" else set())
    dead_letters = await eventually(lambda: _dead_letters(bootstrap, order_id, len(consumers)),
                                    what="dead letters")
    assert {dict(dead.headers)["dlq-consumer"] for dead in dead_letters} == consumers
    for dead in dead_letters:
        assert dead.value == poison_bytes
        headers = dict(dead.headers)
        assert reason in headers["dlq-reason"].decode()
        assert headers["dlq-source"].decode().startswith(f"orders.events/{partition}/")


async def _dead_letters(bootstrap: str, order_id: str, expected: int) -> list:
    found = [record async for record in read_topic(bootstrap, dead_letter_topic("orders.events"))
             if record.key == order_id.encode()]
    return found if len(found) >= expected else []


async def test_an_event_committed_after_a_later_position_was_published_is_not_lost(
        http: httpx.AsyncClient, system: System, orders_db: asyncpg.Pool,
        relay_stopped: ServiceProcess) -> None:
    relay_stopped.start()
    earlier = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    await eventually(lambda: _published_order(orders_db, earlier["order_id"]))
    relay_stopped.stop()
    async with orders_db.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        # takes a lower outbox position than the order below, but commits after it
        [blocked] = await block(conn, earlier["order_id"])
        later = await order_on_the_partition_of(http, system, earlier["order_id"])
        later_event = (await events_of(orders_db, later["order_id"]))[0]["event_id"]
        assert crashing_relay(system, "after_publish").wait_exit() == -9
        await transaction.commit()

    relay_stopped.start()
    for event_id in (str(blocked.event_id), later_event):
        await eventually(lambda event_id=event_id: _published(orders_db, event_id))
        assert len(await record_of(system.infra.kafka_bootstrap, "orders", event_id)) == 1


async def order_on_the_partition_of(http: httpx.AsyncClient, system: System,
                                    order_id: str) -> dict:
    """Place orders until one lands on the same partition as ``order_id``; return it."""
    target = partition_for(order_id, 6)
    while True:
        order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
        if partition_for(order["order_id"], 6) == target:
            return order


async def _published_order(orders_db: asyncpg.Pool, order_id: str) -> bool:
    return bool(await orders_db.fetchval(
        "SELECT bool_and(published_at IS NOT NULL) FROM events WHERE order_id = $1", order_id))


async def block(conn: asyncpg.Connection, order_id: str):
    """Block the order through the one write path (decide, append, project) in ``conn``'s
    transaction, which the test commits when it chooses."""
    from services.orders import domain
    from services.orders.handlers import ORDERS
    from services.orders.projections import project
    from services.platform.eventstore import Metadata
    from services.platform.write_path import record

    now = stack_now()
    command = domain.BlockOrder("non_payment")
    return await record(conn, ORDERS, order_id, lambda state: domain.decide(state, command, now),
                        Metadata.for_command(EmittingService(service="orders", build="test"),
                                             now), project)
