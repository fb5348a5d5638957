"""The consumer runner on real PostgreSQL and Kafka: transient failures are retried, never
skipped; persistent ones halt the worker; a redelivery changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio

from contracts.base import Event
from contracts.envelope import Envelope
from services.platform.consumer import EventApplier, RetryPolicy
from services.platform.kafka_io import Record, idempotent_producer
from tests.integration.conftest import System
from tests.integration.test_reliability import valid_order_placed

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
