"""The plumbing's write path on real PostgreSQL: idempotent answers, timed sweeps, and many
orders recorded together.

These tests commit (the code under test opens its own transactions), each on orders of its
own random id, in the session's throw-away ``component_*`` databases.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import pytest
from pydantic import BaseModel

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.fulfilment import DeliveryOverdue
from contracts.hashing import verify_chain
from services.platform.clock import ControllableClock
from services.platform.eventstore import (
    Aggregate,
    ConcurrencyError,
    Decided,
    Metadata,
    append_together,
    lock_streams,
)
from services.platform.idempotency import (
    Answer,
    Idempotency,
    IdempotencyKeyReusedError,
    answer_once,
)
from services.platform.sweep import Sweep, sweep_once
from services.platform.write_path import record, record_together
from tests.component.conftest import context
from tests.component.support import waiting_on_a_lock

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Counting:
    """Work that records a row per call and answers with the number of calls."""

    def __init__(self) -> None:
        self.calls, self.marker = 0, f"idem-{uuid.uuid4()}"

    async def __call__(self, conn: asyncpg.Connection) -> Answer:
        self.calls += 1
        await conn.execute("INSERT INTO idempotency_keys (key, request_hash, status, response) "
                           "VALUES ($1, '-', 0, '{}')", f"{self.marker}-{self.calls}")
        return Answer(201, {"calls": self.calls})

    async def rows(self, pool: asyncpg.Pool) -> int:
        return int(await pool.fetchval(
            "SELECT count(*) FROM idempotency_keys WHERE key LIKE $1", f"{self.marker}-%"))


async def test_the_same_key_and_request_get_the_first_answer_again(orders_pool) -> None:
    work, once = Counting(), Idempotency(f"test {uuid.uuid4()}", "fingerprint-a")

    first = await answer_once(orders_pool, once, work)
    again = await answer_once(orders_pool, once, work)

    assert first == again == Answer(201, {"calls": 1})
    assert work.calls == 1 and await work.rows(orders_pool) == 1


async def test_the_same_key_with_another_request_is_refused(orders_pool) -> None:
    work, key = Counting(), f"test {uuid.uuid4()}"
    await answer_once(orders_pool, Idempotency(key, "fingerprint-a"), work)

    with pytest.raises(IdempotencyKeyReusedError):
        await answer_once(orders_pool, Idempotency(key, "fingerprint-b"), work)
    assert work.calls == 1


async def test_a_refused_command_records_nothing_and_keeps_its_key_free(orders_pool) -> None:
    once, work = Idempotency(f"test {uuid.uuid4()}", "fingerprint-a"), Counting()

    async def refused(conn: asyncpg.Connection) -> Answer:
        await work(conn)
        raise ValueError("refused by the domain")

    with pytest.raises(ValueError, match="refused"):
        await answer_once(orders_pool, once, refused)
    assert await work.rows(orders_pool) == 0
    assert await answer_once(orders_pool, once, work) == Answer(201, {"calls": 2})


DEADLINE = dt.date(2026, 6, 8)


class Watched(BaseModel):
    overdue: bool = False


def evolve(state: Watched | None, event: Event) -> Watched:
    return Watched(overdue=isinstance(event, DeliveryOverdue) or bool(state and state.overdue))


def overdue_when_past_the_deadline(state: Watched | None, now: dt.datetime) -> list[Event]:
    if now.date() <= DEADLINE or (state and state.overdue):
        return []
    return [DeliveryOverdue(deadline=DEADLINE)]


def watching(order_ids: list[str], projected: list[Envelope]) -> Sweep[Watched]:
    async def candidates(_: asyncpg.Pool, __: dt.datetime) -> list[str]:
        return order_ids

    async def project(_: asyncpg.Connection, envelope: Envelope, __: Event) -> None:
        projected.append(envelope)

    return Sweep("deadline", Aggregate(Watched, evolve), candidates,
                 overdue_when_past_the_deadline, project)


async def test_a_sweep_records_what_time_made_due_once(fulfilment_pool) -> None:
    clock = ControllableClock(dt.datetime(2026, 6, 8, 21, 0, tzinfo=dt.UTC))
    orders, projected = [str(uuid.uuid4()), str(uuid.uuid4())], []
    sweep, ctx = watching(orders, projected), context(clock, "fulfilment")

    assert await sweep_once(fulfilment_pool, sweep, ctx) == 0  # 8 June is still in time
    clock.advance(dt.timedelta(days=1))
    assert await sweep_once(fulfilment_pool, sweep, ctx) == 2
    assert await sweep_once(fulfilment_pool, sweep, ctx) == 0  # running it again: nothing new

    assert sorted(e.order_id for e in projected) == sorted(orders)
    assert {(e.type, e.occurred_at, e.causation_id) for e in projected} == {
        ("DeliveryOverdue", clock.now(), None)}


WATCHED = Aggregate(Watched, evolve)
LATE = dt.datetime(2026, 6, 9, 12, tzinfo=dt.UTC)


def twice_overdue(_: Watched | None) -> list[Event]:
    return [DeliveryOverdue(deadline=DEADLINE), DeliveryOverdue(deadline=DEADLINE)]


def a_command() -> Metadata:
    return Metadata.for_command(context(ControllableClock(LATE), "fulfilment").emitter, LATE)


async def events_of(pool: asyncpg.Pool, order_id: str) -> list[dict[str, object]]:
    rows = await pool.fetch("SELECT envelope FROM events WHERE order_id = $1 ORDER BY version",
                            order_id)
    return [row["envelope"] for row in rows]


async def test_orders_recorded_together_each_continue_their_own_chain(fulfilment_pool) -> None:
    # given an order with two events and two orders without any
    known, new = str(uuid.uuid4()), sorted(str(uuid.uuid4()) for _ in range(2))
    async with fulfilment_pool.acquire() as conn, conn.transaction():
        await record(conn, WATCHED, known, twice_overdue, a_command(), project=nothing)
    projected: list[Envelope] = []

    async def project(_: asyncpg.Connection, envelopes: Sequence[Envelope]) -> None:
        projected.extend(envelopes)

    # when two events are decided on each of the three, together
    async with fulfilment_pool.acquire() as conn, conn.transaction():
        recorded = await record_together(
            conn, WATCHED, dict.fromkeys([known, *new], twice_overdue), a_command, project)
    # then each order's chain goes on from its own last event, each order's decision is a
    # command of its own, and the projection had them all, each order's in their order
    assert {order_id: [e.version for e in envelopes] for order_id, envelopes in
            recorded.items()} == {known: [3, 4], new[0]: [1, 2], new[1]: [1, 2]}
    for order_id in (known, *new):
        assert verify_chain(await events_of(fulfilment_pool, order_id)) == len(
            await events_of(fulfilment_pool, order_id))
        assert await fulfilment_pool.fetchval(
            "SELECT version FROM streams WHERE order_id = $1", order_id) == len(
            await events_of(fulfilment_pool, order_id))
    assert len({envelopes[0].correlation_id for envelopes in recorded.values()}) == 3
    assert projected == [e for envelopes in recorded.values() for e in envelopes]


async def test_a_batch_beaten_to_a_new_order_records_nothing(fulfilment_pool) -> None:
    # given another transaction recording the first events of a new order, not committed yet
    beaten, other_order = sorted(str(uuid.uuid4()) for _ in range(2))
    async with fulfilment_pool.acquire() as other:
        transaction = other.transaction()
        await transaction.start()
        await record(other, WATCHED, beaten, twice_overdue, a_command(), project=nothing,
                     new_order=True)
        # when a batch records on it and on another order, and the other transaction commits
        batch = asyncio.create_task(record_both(fulfilment_pool, [beaten, other_order]))
        await waiting_on_a_lock(fulfilment_pool)
        await transaction.commit()
        # then the batch is refused as a whole: the other order has nothing recorded
        with pytest.raises(ConcurrencyError):
            await batch
    assert len(await events_of(fulfilment_pool, beaten)) == 2
    assert await events_of(fulfilment_pool, other_order) == []


async def test_one_statement_appends_to_an_order_once(fulfilment_pool) -> None:
    # given two decisions on one order's stream as locked
    order_id = str(uuid.uuid4())
    async with fulfilment_pool.acquire() as conn, conn.transaction():
        [stream] = await lock_streams(conn, [order_id])
        decided = Decided(stream, twice_overdue(None), Watched(overdue=True), a_command())
        # when both are appended in one statement, then it is refused before anything is sent
        with pytest.raises(ValueError, match="at most once"):
            await append_together(conn, [decided, decided])
    assert await events_of(fulfilment_pool, order_id) == []


async def record_both(pool: asyncpg.Pool, order_ids: list[str]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await record_together(conn, WATCHED, dict.fromkeys(order_ids, twice_overdue),
                              a_command, project=nothing)


async def nothing(*_: object) -> None:
    """A projection (of one event or of a batch) with nothing to write."""
