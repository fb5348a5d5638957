"""The refunds escalation sweep on real PostgreSQL: it reads only the refunds whose next
escalation day has come, records each step once, keeps a batch's work when one of its orders
was changed meanwhile, and its read model is the one a replay of the events gives back; and the
policies that note a return of goods never note a day after the one the fact was recorded.

The sweep reads every candidate of its database, so these tests have a database of their own,
emptied before each test."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest
import pytest_asyncio

from contracts.base import Event
from contracts.envelope import EmittingService, Envelope, seal
from contracts.fulfilment import ReturnReceived
from contracts.hashing import GENESIS_HASH
from contracts.orders import ProofOfDispatchReceived
from contracts.policies import load_policy
from contracts.refunds import RefundPenaltyEscalated, RefundSituation, ReturnOfGoodsNoted
from contracts.vocabulary import LineQuantity
from services.platform.clock import ControllableClock
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.eventstore import load_stream
from services.platform.rebuild import snapshot
from services.platform.runtime import Context
from services.refunds import domain, handlers, policies
from services.refunds.main import SERVICE
from services.refunds.next_escalation import Owed, next_escalation_on
from services.refunds.projections import READ_MODEL, project
from services.refunds.subscriptions import escalate_refunds
from services.refunds.views import escalation_candidates
from tests.component.conftest import _fresh_database, context
from tests.component.support import recorded_events, waiting_on_a_lock

pytestmark = pytest.mark.asyncio(loop_scope="session")
DEADLINE = dt.date(2026, 3, 2)
UNRECORDED_HALF_YEAR = dt.date(2026, 7, 1)
"""A deadline in a half-year the shipped legal-interest rates do not cover yet."""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def database(server_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(await _fresh_database(server_url, "refunds_sweep"), max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, [PLATFORM_MIGRATIONS, SERVICE.migrations])
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> ControllableClock:
    """A clock early enough for every test to move it forward to the days it needs."""
    return ControllableClock(dt.datetime(2025, 12, 1, tzinfo=dt.UTC))


@pytest_asyncio.fixture(loop_scope="session")
async def pool(database: asyncpg.Pool) -> asyncpg.Pool:
    """The sweep's database, with no refund in it."""
    await database.execute("TRUNCATE events, streams, refund_view, refund_escalation_view, "
                           "legal_interest_rate_view")
    return database


def on_day(clock: ControllableClock, delay: int) -> Context:
    """The refunds' context, its clock at noon (Paris) on delay day ``delay``."""
    clock.set(dt.datetime.combine(DEADLINE + dt.timedelta(days=delay), dt.time(11),
                                  dt.UTC))
    return context(clock, "refunds")


async def owed(pool: asyncpg.Pool, ctx: Context, situation: RefundSituation = "withdrawal",
               order_id: str | None = None, deadline: dt.date = DEADLINE) -> str:
    """A refund of 100 euros (90 of products) owed on a new order; the order's id."""
    order_id = order_id or f"refunds-sweep-{uuid.uuid4()}"
    owe = domain.OweRefund(
        refund_id=str(uuid.uuid4()), situation=situation, base_cents=10_000,
        products_cents=9_000, deadline=deadline, rule="test", cause_type="Test",
        cause_event_id=str(uuid.uuid4()))
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, owe, ctx)
    return order_id


async def steps_of(pool: asyncpg.Pool, order_id: str) -> list[int]:
    async with pool.acquire() as conn:
        return [event.delay_days for event in await recorded_events(conn, order_id)
                if isinstance(event, RefundPenaltyEscalated)]


async def candidates_on(pool: asyncpg.Pool, delay: int) -> list[str]:
    return await escalation_candidates(pool, DEADLINE + dt.timedelta(days=delay), ["2026-S1"])


async def test_a_refund_is_a_candidate_on_the_day_its_tier_changes_not_the_day_before(
        pool: asyncpg.Pool, clock: ControllableClock) -> None:
    # given a withdrawal and a blocked-line refund, swept on their first day of delay and on
    # the withdrawal's first band (day 11)
    withdrawal = await owed(pool, on_day(clock, -14))
    blocked = await owed(pool, on_day(clock, -14), "blocked")
    assert await candidates_on(pool, 0) == []
    assert sorted(await candidates_on(pool, 1)) == sorted([withdrawal, blocked])
    await escalate_refunds(pool, on_day(clock, 1))
    await escalate_refunds(pool, on_day(clock, 11))
    # then each is next a candidate on the day its tier changes, not the day before
    assert blocked not in await candidates_on(pool, 14)
    assert blocked in await candidates_on(pool, 15)
    assert withdrawal not in await candidates_on(pool, 20)
    assert withdrawal in await candidates_on(pool, 21)
    # and the passes on those days record those steps
    assert await escalate_refunds(pool, on_day(clock, 15)) == 1
    assert await escalate_refunds(pool, on_day(clock, 21)) == 1
    assert (await steps_of(pool, withdrawal), await steps_of(pool, blocked)) == (
        [1, 11, 21], [1, 15])


async def test_a_pass_records_each_step_due_once_and_a_second_pass_nothing(
        pool: asyncpg.Pool, clock: ControllableClock) -> None:
    # given refunds whose deadlines passed 0 to 40 days ago, swept every day until yesterday
    orders = {late: await owed(pool, on_day(clock, -60), deadline=DEADLINE - dt.timedelta(
        days=late)) for late in range(0, 41)}
    for delay in range(1, 60):
        await escalate_refunds(pool, on_day(clock, delay))
    # when the sweep runs today, twice
    first = await escalate_refunds(pool, on_day(clock, 60))
    second = await escalate_refunds(pool, on_day(clock, 60))
    # then it records the steps of the two refunds crossing a band today (delays 61 and 91),
    # and nothing the second time
    assert (first, second) == (2, 0)
    for late, order_id in orders.items():
        boundaries = [1, 11, 21, 31, 61, 91]
        assert await steps_of(pool, order_id) == [b for b in boundaries if b <= 60 + late]


async def test_an_order_changed_meanwhile_is_decided_on_its_new_state_and_its_batch_kept(
        pool: asyncpg.Pool, clock: ControllableClock) -> None:
    # given three refunds due on day 1, the second (in the same batch as the third) escalated
    # by another transaction that has not committed yet
    prefix = f"refunds-sweep-{uuid.uuid4()}"
    first, second, third = [await owed(pool, on_day(clock, -14), order_id=f"{prefix}-{n}")
                            for n in (1, 2, 3)]
    ctx = on_day(clock, 1)
    async with pool.acquire() as other:
        policy = await handlers.current_policy(other)
        transaction = other.transaction()
        await transaction.start()
        await handlers.escalate(other, [second], ctx, policy)
        # when the sweep runs, waits on that order, and the other transaction commits
        sweep = asyncio.create_task(escalate_refunds(pool, ctx))
        await waiting_on_a_lock(pool)
        await transaction.commit()
        recorded = await sweep
    # then the orders before and after it keep their steps, and it has its step once (the
    # sweep decided on what the other transaction committed)
    assert recorded == 2
    assert [await steps_of(pool, order_id) for order_id in (first, second, third)] == [
        [1], [1], [1]]
    assert await escalate_refunds(pool, ctx) == 0


async def test_a_batch_that_loses_a_deadlock_is_tried_again_in_halves_and_keeps_every_step(
        pool: asyncpg.Pool, clock: ControllableClock) -> None:
    # given three refunds due on day 1 (the sweep's second batch holds the second and third
    # orders), and another transaction holding the third order's stream
    prefix = f"refunds-sweep-{uuid.uuid4()}"
    orders = [await owed(pool, on_day(clock, -14), order_id=f"{prefix}-{n}") for n in (1, 2, 3)]
    ctx = on_day(clock, 1)
    async with pool.acquire() as other:
        # the sweep looks for the deadlock first, so it is the victim
        await other.execute("SET deadlock_timeout = '60s'")
        transaction = other.transaction()
        await transaction.start()
        await lock(other, orders[2])
        # when the sweep takes the second order and waits for the third, and the other
        # transaction then waits for the second
        sweep = asyncio.create_task(escalate_refunds(pool, ctx))
        await waiting_on_a_lock(pool)
        await lock(other, orders[1])
        await transaction.commit()
        recorded = await sweep
    # then the batch's halves are tried again on their own: every order has its step, once
    assert recorded == 3
    assert [await steps_of(pool, order_id) for order_id in orders] == [[1], [1], [1]]


async def lock(conn: asyncpg.Connection, order_id: str) -> None:
    await conn.execute("SELECT FROM streams WHERE order_id = $1 FOR UPDATE", order_id)


async def test_an_order_that_cannot_be_decided_is_left_out_and_the_others_escalated(
        pool: asyncpg.Pool, clock: ControllableClock, caplog: pytest.LogCaptureFixture) -> None:
    # given three refunds owed, the second order's decision state unreadable (it shares the
    # pass's second batch with the third)
    first, broken, third = sorted([await owed(pool, on_day(clock, -14)) for _ in range(3)])
    await pool.execute("UPDATE streams SET state = '{\"refunds\": 1}' WHERE order_id = $1",
                       broken)
    # when the sweep passes on their first day of delay
    with caplog.at_level(logging.ERROR, logger="services.refunds.subscriptions"):
        recorded = await escalate_refunds(pool, on_day(clock, 1))
    # then the others' first steps are recorded, and the error names the order left out
    assert recorded == 2
    assert [await steps_of(pool, order) for order in (first, broken, third)] == [[1], [], [1]]
    assert f"order {broken} cannot be decided" in caplog.text


async def test_the_read_model_replayed_from_the_events_is_the_live_one(
        pool: asyncpg.Pool, clock: ControllableClock) -> None:
    # given refunds owed, escalated, one deadline moved, one paid, one payout refused, and
    # one escalated in a half-year whose legal-interest rate is not recorded (provisional)
    orders = [await owed(pool, on_day(clock, -14), situation) for situation in (
        "withdrawal", "late_delivery", "unavailable", "blocked")]
    await owed(pool, on_day(clock, -14), deadline=UNRECORDED_HALF_YEAR)
    withdrawal = await owed_on_notice(pool, on_day(clock, -14))
    for delay in (1, 5, 11, 16, 31):
        await escalate_refunds(pool, on_day(clock, delay))
    await returned(pool, on_day(clock, 32), withdrawal)
    # one paid on day 33, but by the bank on day 61 only (20 % then 50 % of the base): the
    # figure of that day owed, its difference a balance
    await paid(pool, on_day(clock, 33), orders[0], bank_day=DEADLINE + dt.timedelta(days=61))
    late = await pool.fetchrow("SELECT * FROM refund_view WHERE order_id = $1", orders[0])
    assert (late["paid_on"], late["paid_delay_days"], late["paid_total_cents"],
            late["refunded_cents"]) == (DEADLINE + dt.timedelta(days=61), 61, 15_000, 12_000)
    await paid(pool, on_day(clock, 33), orders[1], refusal="00003")
    await escalate_refunds(pool, on_day(clock, 61))
    await escalate_refunds(pool, on_day(clock, (UNRECORDED_HALF_YEAR - DEADLINE).days + 1))
    live = await snapshot(pool, READ_MODEL)
    # when the read model is emptied and every event projected again, in the log's order,
    # then it is the live one, next escalation days included
    assert await replayed(pool) == live
    rows = await pool.fetch("SELECT next_escalation_on, missing_half_years FROM refund_view")
    assert any(row["next_escalation_on"] for row in rows)
    assert ["2026-S2"] in [row["missing_half_years"] for row in rows]


async def test_a_pass_after_days_without_one_records_every_step_missed_as_a_replay_reads_it(
        pool: asyncpg.Pool, clock: ControllableClock) -> None:
    # given refunds swept on their first day of delay, then not for 39 days
    orders = [await owed(pool, on_day(clock, -14)) for _ in range(3)]
    await escalate_refunds(pool, on_day(clock, 1))
    # when the sweep runs again on day 40
    recorded = await escalate_refunds(pool, on_day(clock, 40))
    # then each order has the three steps it missed, recorded in one decision, and the read
    # model folded from the batch is the one a replay gives (its last step, its next day)
    assert recorded == 3 * 3
    assert [await steps_of(pool, order_id) for order_id in orders] == [[1, 11, 21, 31]] * 3
    live = await snapshot(pool, READ_MODEL)
    assert await replayed(pool) == live
    last_steps = await pool.fetch("SELECT last_escalated_on FROM refund_view")
    assert {row["last_escalated_on"] for row in last_steps} == {DEADLINE + dt.timedelta(31)}


async def test_a_deadline_moved_after_the_cap_is_swept_again_under_the_new_one(
        pool: asyncpg.Pool, clock: ControllableClock) -> None:
    # given a withdrawal whose products are 15 % of the base, stepped into A:cap on day 31
    withdrawal = await owed_on_notice(pool, on_day(clock, -14), products_cents=1_500)
    for delay in (1, 11, 21, 31):
        await escalate_refunds(pool, on_day(clock, delay))
    assert await steps_of(pool, withdrawal) == [1, 11, 21, 31]
    # when the goods are noted received on day 15, which moves the deadline 15 days later
    await returned(pool, on_day(clock, 32), withdrawal, days=15)
    # then the refund is a candidate again on the new deadline's 21st day (the old 36th), and
    # that day's pass records A:21-30 under it
    assert withdrawal not in await candidates_on(pool, 35)
    assert withdrawal in await candidates_on(pool, 36)
    assert await escalate_refunds(pool, on_day(clock, 36)) == 1
    assert await steps_of(pool, withdrawal) == [1, 11, 21, 31, 21]
    live = await snapshot(pool, READ_MODEL)
    assert await replayed(pool) == live


async def replayed(pool: asyncpg.Pool) -> object:
    """The read model emptied and every event projected again one by one, in the log's order."""
    async with pool.acquire() as conn, conn.transaction():
        for table in READ_MODEL.tables:
            await conn.execute(f"DELETE FROM {table}")
        for row in await conn.fetch("SELECT envelope FROM events ORDER BY position"):
            envelope = Envelope.model_validate(row["envelope"])
            await project(conn, envelope, envelope.event())
    return await snapshot(pool, READ_MODEL)


async def owed_on_notice(pool: asyncpg.Pool, ctx: Context, products_cents: int = 9_000) -> str:
    """A withdrawal refund counted from a notice, so that a return of goods moves it."""
    order_id, notice = f"refunds-sweep-{uuid.uuid4()}", DEADLINE - dt.timedelta(days=14)
    owe = domain.OweRefund(
        refund_id=str(uuid.uuid4()), situation="withdrawal", base_cents=10_000,
        products_cents=products_cents, deadline=DEADLINE, rule="test", cause_type="Test",
        cause_event_id=str(uuid.uuid4()), notice_on=notice)
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, owe, ctx)
    return order_id


async def returned(pool: asyncpg.Pool, ctx: Context, order_id: str, days: int = 20) -> None:
    """The goods noted received ``days`` after the deadline, which moves it there."""
    note = domain.NoteReturnOfGoods("goods_received", DEADLINE + dt.timedelta(days=days))
    async with pool.acquire() as conn, conn.transaction():
        assert len(await handlers.handle(conn, order_id, note, ctx)) == 2  # noted, moved


async def paid(pool: asyncpg.Pool, ctx: Context, order_id: str, refusal: str = "",
               bank_day: dt.date | None = None) -> None:
    """The order's refund paid out (by the bank on ``bank_day``, if later), or the payout
    refused with the bank's code ``refusal``."""
    async with pool.acquire() as conn, conn.transaction():
        refund_id = await conn.fetchval(
            "SELECT refund_id FROM refund_view WHERE order_id = $1", order_id)
        await handlers.pay_refund(conn, refund_id, ctx)
        outcome = (domain.RecordPayoutOutcome(refund_id, 1, code=refusal, reason="refused")
                   if refusal else domain.RecordPayoutOutcome(
                       refund_id, 1, "T/1", paid_on=bank_day,
                       policy=await handlers.current_policy(conn)))
        await handlers.handle(conn, order_id, outcome, ctx)


async def test_a_correction_into_another_tier_shows_the_recomputed_figure(pool, clock) -> None:
    # given a late delivery whose step of 24 September borrowed the unrecorded 2026-S2 rate
    # when operators record the rate and the sweep passes again
    refund_id, order_id = await corrected_from_a_capped_into_b(pool, clock)
    # then the step shows the recomputed tier, schedule and rate, in the read model and state
    assert await step_on(pool, refund_id, dt.date(2026, 9, 24)) == ("B:31+", "B", False)
    async with pool.acquire() as conn:
        state = handlers.REFUNDS.load(await load_stream(conn, order_id))
    assert state is not None
    assert [(step.tier, step.schedule) for step in state.refunds[refund_id].steps
            if step.on == dt.date(2026, 9, 24)] == [("B:31+", "B")]


async def test_a_correction_into_another_tier_reschedules_the_next_escalation(pool,
                                                                              clock) -> None:
    # given a late delivery stepped into A:cap on 24 September, which A never leaves
    # (no next escalation day), when a recorded rate corrects that step into B:31+
    refund_id, order_id = await corrected_from_a_capped_into_b(pool, clock)
    # then the sweep looks at it again from the next day, as it does after a step into B:31+
    owed = Owed("late_delivery", 10_000, 4_900, dt.date(2026, 6, 1))
    assert next_escalation_on(owed, dt.date(2026, 9, 24), "A:cap", load_policy()) is None
    expected = next_escalation_on(owed, dt.date(2026, 9, 24), "B:31+", load_policy())
    assert expected == dt.date(2026, 9, 25)
    assert await pool.fetchval("SELECT next_escalation_on FROM refund_view "
                               "WHERE refund_id = $1", refund_id) == expected
    assert order_id in await escalation_candidates(pool, expected, [])


async def corrected_from_a_capped_into_b(pool: asyncpg.Pool,
                                         clock: ControllableClock) -> tuple[str, str]:
    """A late delivery whose step of 24 September (A:cap, borrowing the unrecorded 2026-S2
    rate) a rate recorded then corrected into B:31+; its refund's and order's ids."""
    refund_id, order_id = str(uuid.uuid4()), f"refunds-sweep-{uuid.uuid4()}"
    owe = domain.OweRefund(
        refund_id=refund_id, situation="late_delivery", base_cents=10_000, products_cents=4_900,
        deadline=dt.date(2026, 6, 1), rule="test", cause_type="Test",
        cause_event_id=str(uuid.uuid4()))
    clock.set(dt.datetime(2026, 6, 1, 11, tzinfo=dt.UTC))
    ctx = context(clock, "refunds")
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, owe, ctx)
    clock.set(dt.datetime(2026, 9, 24, 11, tzinfo=dt.UTC))
    await escalate_refunds(pool, ctx)
    assert await step_on(pool, refund_id, dt.date(2026, 9, 24)) == ("A:cap", "A", True)
    async with pool.acquire() as conn, conn.transaction():
        await handlers.record_rate(conn, domain.RecordRate("2026-S2", Decimal("1.00"), "test"),
                                   ctx)
    await escalate_refunds(pool, ctx)
    return refund_id, order_id


async def step_on(pool: asyncpg.Pool, refund_id: str,
                  day: dt.date) -> tuple[str, str | None, bool]:
    row = await pool.fetchrow(
        "SELECT tier, schedule, provisional FROM refund_escalation_view "
        "WHERE refund_id = $1 AND escalated_on = $2", refund_id, day)
    assert row is not None
    return row["tier"], row["schedule"], row["provisional"]


async def test_a_payout_borrowing_a_rate_not_recorded_alerts_the_operators(
        pool, clock, caplog: pytest.LogCaptureFixture) -> None:
    # given a withdrawal due on 1 March 2027, a half-year no rate is recorded for here
    order_id, deadline = f"refunds-sweep-{uuid.uuid4()}", dt.date(2027, 3, 1)
    owe = domain.OweRefund(
        refund_id=str(uuid.uuid4()), situation="withdrawal", base_cents=10_000,
        products_cents=9_000, deadline=deadline, rule="test", cause_type="Test",
        cause_event_id=str(uuid.uuid4()), notice_on=deadline - dt.timedelta(days=14))
    clock.set(dt.datetime(2027, 2, 15, 11, tzinfo=dt.UTC))
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, owe, context(clock, "refunds"))
    # when operators pay it five days late, before any sweep recorded a step
    clock.set(dt.datetime(2027, 3, 6, 11, tzinfo=dt.UTC))
    with caplog.at_level(logging.WARNING, logger="services.refunds.handlers"):
        await paid(pool, context(clock, "refunds"), order_id)
    # then the payout's figure is provisional, and operators are told which rate to record
    [alert] = [r for r in caplog.records if "provisional surcharge" in r.getMessage()]
    assert order_id in alert.getMessage() and "2027-S1" in alert.getMessage()


def arriving(event: Event, order_id: str, producer: str, recorded_on: dt.date) -> Envelope:
    """``event`` as it arrives from ``producer``'s topic, recorded at noon on ``recorded_on``."""
    return seal(event, order_id=order_id, version=5, prev_hash=GENESIS_HASH,
                occurred_at=dt.datetime.combine(recorded_on, dt.time(11), dt.UTC),
                producer=EmittingService(service=producer, build="component-test"),
                correlation_id=uuid.uuid4())


@pytest.mark.parametrize("fact", [
    ProofOfDispatchReceived(dispatched_on=DEADLINE + dt.timedelta(days=30)),
    ReturnReceived(received_on=DEADLINE + dt.timedelta(days=30),
                   lines=(LineQuantity(sku="ROUGE", quantity=6),))])
async def test_a_return_fact_dated_after_the_day_it_was_recorded_is_noted_on_that_day(
        pool: asyncpg.Pool, clock: ControllableClock, fact: Event) -> None:
    # given a withdrawal refund owed by DEADLINE (notice 14 days before)
    ctx = on_day(clock, -14)
    order_id = f"refunds-clamp-{uuid.uuid4()}"
    owe = domain.OweRefund(
        refund_id=str(uuid.uuid4()), situation="withdrawal", base_cents=10_000,
        products_cents=9_000, deadline=DEADLINE, rule="test", cause_type="WithdrawalRequested",
        cause_event_id=str(uuid.uuid4()), notice_on=DEADLINE - dt.timedelta(days=14))
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, owe, ctx)

    # when a return fact dated a month ahead arrives, recorded two days after the notice
    recorded_on = DEADLINE - dt.timedelta(days=12)
    is_proof = isinstance(fact, ProofOfDispatchReceived)
    envelope = arriving(fact, order_id, "orders" if is_proof else "fulfilment", recorded_on)
    note = (policies.when_proof_of_dispatch_is_received_note_it if is_proof
            else policies.when_goods_are_returned_note_it)
    async with pool.acquire() as conn, conn.transaction():
        await note(conn, envelope, envelope.event(), on_day(clock, -12))

    # then refunds notes it on the day it was recorded, and the deadline does not move
    async with pool.acquire() as conn:
        events = await recorded_events(conn, order_id)
    kind = "proof_of_dispatch" if is_proof else "goods_received"
    assert events[1:] == [ReturnOfGoodsNoted(kind=kind, on=recorded_on)]
