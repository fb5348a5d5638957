"""The consumer runner on real PostgreSQL and Kafka: transient failures are retried, never
skipped; persistent ones halt the worker; a redelivery changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from contracts.base import Event
from contracts.envelope import Envelope, decode_envelope
from services.platform.consumer import EventApplier, RetryPolicy
from services.platform.kafka_io import Record, idempotent_producer
from tests.integration.conftest import System
from tests.support.records import valid_order_placed

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
FAST = RetryPolicy(attempts=4, first_wait=0.01, max_wait=0.05)


class WorkerHaltedError(Exception):
    """Stands for the process exit in these in-process tests."""


def halt() -> None:
    raise WorkerHaltedError


@pytest_asyncio.fixture(loop_scope="session", autouse=True)
async def effects_table(fulfilment_db: asyncpg.Pool) -> None:
    await fulfilment_db.execute("CREATE TABLE IF NOT EXISTS applier_test_effects "
                                "(order_id text, attempt integer)")


@pytest_asyncio.fixture(loop_scope="session")
async def producer(system: System) -> AsyncIterator:
    started = idempotent_producer(system.infra.kafka_bootstrap)
    await started.start()
    yield started
    await started.stop()


def record_for(order_id: str) -> Record:
    return Record("orders.events", 0, 0, order_id.encode(), valid_order_placed(order_id), ())


class FlakyHandler:
    """Fails ``failures`` times with a transient error, after writing (rolled back), then works."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    async def __call__(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        self.calls += 1
        await conn.execute("INSERT INTO applier_test_effects (order_id, attempt) VALUES ($1, $2)",
                           envelope.order_id, self.calls)
        if self.calls <= self.failures:
            raise asyncpg.exceptions.SerializationError("could not serialize access")


async def effects_of(db: asyncpg.Pool, order_id: str) -> list[int]:
    return [r["attempt"] for r in await db.fetch(
        "SELECT attempt FROM applier_test_effects WHERE order_id = $1", order_id)]


async def test_transient_failures_are_retried_and_applied_once(fulfilment_db, producer) -> None:
    order_id, handler = f"applier-{uuid.uuid4()}", FlakyHandler(failures=2)
    applier = EventApplier(f"test-{uuid.uuid4()}", fulfilment_db, {"OrderPlaced": handler},
                           producer, FAST, halt)

    assert await applier.apply(record_for(order_id)) == "applied"
    assert handler.calls == 3
    assert await effects_of(fulfilment_db, order_id) == [3]  # failed attempts left nothing


async def test_a_redelivered_event_changes_nothing(fulfilment_db, producer) -> None:
    order_id, handler = f"applier-{uuid.uuid4()}", FlakyHandler(failures=0)
    applier = EventApplier(f"test-{uuid.uuid4()}", fulfilment_db, {"OrderPlaced": handler},
                           producer, FAST, halt)
    record = record_for(order_id)

    assert await applier.apply(record) == "applied"
    assert await applier.apply(record) == "duplicate"
    assert handler.calls == 1


async def test_a_persistent_failure_halts_the_worker_without_applying(fulfilment_db,
                                                                      producer) -> None:
    order_id, handler = f"applier-{uuid.uuid4()}", FlakyHandler(failures=100)
    name = f"test-{uuid.uuid4()}"
    applier = EventApplier(name, fulfilment_db, {"OrderPlaced": handler}, producer, FAST, halt)

    with pytest.raises(WorkerHaltedError):
        await applier.apply(record_for(order_id))
    assert handler.calls == FAST.attempts
    assert await effects_of(fulfilment_db, order_id) == []
    assert await fulfilment_db.fetchval(
        "SELECT count(*) FROM processed_events WHERE consumer = $1", name) == 0


class FailsFor:
    """Works, except for one order, where it always fails with a transient-looking error."""

    def __init__(self, failing_order: str) -> None:
        self.failing_order, self.calls = failing_order, 0

    async def __call__(self, conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        self.calls += 1
        await conn.execute("INSERT INTO applier_test_effects (order_id, attempt) VALUES ($1, $2)",
                           envelope.order_id, self.calls)
        if envelope.order_id == self.failing_order:
            raise asyncpg.exceptions.SerializationError("could not serialize access")


def batch_of(count: int) -> tuple[list[str], list[Record]]:
    ids = [f"applier-{uuid.uuid4()}" for _ in range(count)]
    return ids, [Record("orders.events", 0, i, o.encode(), valid_order_placed(o), ())
                 for i, o in enumerate(ids)]


async def test_a_batch_is_applied_once_and_a_redelivered_batch_changes_nothing(
        fulfilment_db, producer) -> None:
    ids, records = batch_of(5)
    handler = FlakyHandler(failures=0)
    applier = EventApplier(f"test-{uuid.uuid4()}", fulfilment_db, {"OrderPlaced": handler},
                           producer, FAST, halt)

    assert await applier.apply_batch([*records, records[0]]) == ["applied"] * 5 + ["duplicate"]
    assert await applier.apply_batch(records) == ["duplicate"] * 5
    assert handler.calls == 5
    assert [await effects_of(fulfilment_db, o) for o in ids] == [[n] for n in range(1, 6)]


async def test_a_poison_record_in_a_batch_is_dead_lettered_and_the_rest_applied(
        fulfilment_db, producer) -> None:
    ids, records = batch_of(2)
    poison = Record("orders.events", 0, 9, b"x", b"{not json", ())
    applier = EventApplier(f"test-{uuid.uuid4()}", fulfilment_db,
                           {"OrderPlaced": FlakyHandler(failures=0)}, producer, FAST, halt)

    outcomes = await applier.apply_batch([records[0], poison, records[1]])

    assert outcomes == ["applied", "dead-lettered", "applied"]
    assert [len(await effects_of(fulfilment_db, o)) for o in ids] == [1, 1]


async def test_a_failing_record_in_a_batch_halts_after_the_records_before_it_are_applied(
        fulfilment_db, producer) -> None:
    ids, records = batch_of(3)
    name, handler = f"test-{uuid.uuid4()}", FailsFor(ids[1])
    applier = EventApplier(name, fulfilment_db, {"OrderPlaced": handler}, producer, FAST, halt)

    with pytest.raises(WorkerHaltedError):
        await applier.apply_batch(records)

    assert [len(await effects_of(fulfilment_db, o)) for o in ids] == [1, 0, 0]
    assert [r["event_id"] for r in await fulfilment_db.fetch(
        "SELECT event_id FROM processed_events WHERE consumer = $1", name)] == [
        decode_envelope(records[0].value).event_id]
