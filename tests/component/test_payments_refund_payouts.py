"""Refund payouts on real PostgreSQL and the bank simulator in process: the refunds service's
``RefundPayoutRequested`` is ordered once, the payout worker's pass asks the bank to refund it on
the order's captured transaction, and the bank's answer is recorded once, even when it was lost
on the way back."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from contracts.envelope import EmittingService, Envelope, seal
from contracts.hashing import GENESIS_HASH
from contracts.payments import RefundPaid, RefundPayoutDeclined, RefundPayoutOrdered
from contracts.policies import paris_date
from contracts.refunds import RefundPayoutRequested
from services.payments import domain, handlers
from services.payments.policies import when_refund_payout_requested_order_the_payout
from services.payments.projections import project
from services.payments.settings import PaymentsSettings
from services.payments.subscriptions import pay_out_ordered
from services.payments.views import ordered_payouts
from services.platform.clock import ControllableClock
from tests.component.conftest import context
from tests.component.support import recorded, recorded_events, row
from tests.component.test_bank_simulator import Bank as Simulator
from tests.component.test_bank_simulator import (
    ShopEndpoint,
    _open_bank,
    _open_page,
    _pay,
    _transaction,
    _verified,
)
from tests.support.sealed import SEALED

pytestmark = pytest.mark.asyncio(loop_scope="session")
PRICE = 8730
PAYOUT_VIEW = "SELECT * FROM refund_payout_view WHERE order_id = $1 AND refund_id = $2"


@pytest_asyncio.fixture(loop_scope="session")
async def simulator(tmp_path: Path) -> AsyncIterator[Simulator]:
    opened = await _open_bank(tmp_path, ShopEndpoint())
    yield opened
    await opened.client.aclose()


@pytest.fixture
def bank(simulator: Simulator) -> handlers.Bank:
    return handlers.Bank(PaymentsSettings(), simulator.account, simulator.client)


async def captured_order(pool: asyncpg.Pool, clock: ControllableClock, simulator: Simulator,
                         bank: handlers.Bank) -> tuple[str, str]:
    """A new order paid on the bank's page and captured by the worker: (order, transaction)."""
    order_id, ctx = str(uuid.uuid4()), context(clock, "payments")
    payment_id = f"{order_id}.{secrets.token_hex(4)}"
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, domain.ExpectPayment(
            f"buyer-{uuid.uuid4()}", PRICE, SEALED), ctx)
        await handlers.handle(conn, order_id, domain.OpenSession(payment_id), ctx)
    await _pay(simulator, await _open_page(simulator, payment_id, PRICE))
    notice = _verified(simulator, simulator.shop.received[-1].url)
    async with pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, domain.ReceiveNotification(
            payment_id, PRICE, notice.error, notice.authorisation or "", notice.transaction,
            notice.call), ctx)
    assert await handlers.capture_payment(pool, order_id, ctx, bank)
    return order_id, notice.transaction


def requested(order_id: str, refund_id: str, attempt: int, total_cents: int,
              on: dt.date) -> Envelope:
    """A ``RefundPayoutRequested`` as it arrives from refunds.events."""
    event = RefundPayoutRequested(
        refund_id=refund_id, attempt=attempt, paid_on=on, delay_days=20, schedule="B",
        tier="11-20", rate=Decimal("0.05"), base_cents=PRICE,
        surcharge_cents=total_cents - PRICE, total_cents=total_cents, policy_version="test")
    return seal(event, order_id=order_id, version=attempt, prev_hash=GENESIS_HASH,
                occurred_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
                producer=EmittingService(service="refunds", build="component-test"),
                correlation_id=uuid.uuid4())


async def apply(pool: asyncpg.Pool, clock: ControllableClock, envelope: Envelope) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await when_refund_payout_requested_order_the_payout(
            conn, envelope, envelope.event(), context(clock, "payments"))


async def test_an_unreadable_bank_answer_holds_back_no_payout_and_is_asked_again(
        payments_pool, clock, simulator, bank) -> None:
    # given two captured orders, each with a payout ordered
    orders = [await captured_order(payments_pool, clock, simulator, bank) for _ in range(2)]
    payouts = [(order_id, transaction, f"refund-{uuid.uuid4()}")
               for order_id, transaction in orders]
    for order_id, _, refund_id in payouts:
        await apply(payments_pool, clock, requested(order_id, refund_id, 1, PRICE,
                                                    paris_date(clock.now())))
    # when the bank answers something that is no Direct answer, the pass goes through both
    # payouts without recording anything (and without failing)
    await simulator.client.post("/_simulator/faults", json={"refund": "garbled"})
    assert await pay_out_ordered(payments_pool, context(clock, "payments"), bank) == 0
    # then once the bank answers again, the next pass pays each once
    await simulator.client.post("/_simulator/faults", json={})
    ours = {(order_id, refund_id) for order_id, _, refund_id in payouts}
    async with payments_pool.acquire() as conn:
        assert ours <= {(p.order_id, p.refund_id) for p in await ordered_payouts(conn)}
    await pay_out_ordered(payments_pool, context(clock, "payments"), bank)
    for order_id, transaction, refund_id in payouts:
        assert (await _transaction(simulator, transaction))["refunded_cents"] == PRICE
        async with payments_pool.acquire() as conn:
            last = (await recorded_events(conn, order_id))[-1]
        assert isinstance(last, RefundPaid) and last.refund_id == refund_id


async def test_a_payout_is_paid_once_even_when_the_banks_answer_was_lost(
        payments_pool, clock, simulator, bank) -> None:
    # given a captured order and a payout of its price plus a late-refund surcharge
    order_id, transaction = await captured_order(payments_pool, clock, simulator, bank)
    refund_id, total = f"refund-{uuid.uuid4()}", PRICE + 470
    request = requested(order_id, refund_id, 1, total, paris_date(clock.now()))

    # when the request is applied, and the same attempt asked again
    await apply(payments_pool, clock, request)
    await apply(payments_pool, clock, requested(order_id, refund_id, 1, total,
                                                paris_date(clock.now())))

    # then it is ordered once, and on the payout's work list
    async with payments_pool.acquire() as conn:
        envelopes = await recorded(conn, order_id)
        ordered = envelopes[-1].event()
        assert isinstance(ordered, RefundPayoutOrdered) and ordered.question is not None
        assert ordered == RefundPayoutOrdered(refund_id=refund_id, attempt=1,
                                              amount_cents=total, question=ordered.question)
        assert (envelopes[-1].causation_id, envelopes[-1].correlation_id) == (
            request.event_id, request.correlation_id)
        assert [(p.order_id, p.refund_id) for p in await ordered_payouts(conn)] == [
            (order_id, refund_id)]

    # when the bank refunds it but its answer is lost, the pass records nothing
    await simulator.client.post("/_simulator/faults", json={"refund": "answer_lost"})
    assert await pay_out_ordered(payments_pool, context(clock, "payments"), bank) == 0
    assert (await _transaction(simulator, transaction))["refunded_cents"] == total
    async with payments_pool.acquire() as conn:
        assert len(await recorded(conn, order_id)) == len(envelopes)

    # and the next pass asks the same question, gets the answer, and records it paid once
    clock.advance(dt.timedelta(hours=18))
    assert await pay_out_ordered(payments_pool, context(clock, "payments"), bank) == 1
    assert await pay_out_ordered(payments_pool, context(clock, "payments"), bank) == 0
    record = await _transaction(simulator, transaction)
    assert record["refunded_cents"] == total
    async with payments_pool.acquire() as conn:
        events = await recorded_events(conn, order_id)
        assert events[len(envelopes):] == [RefundPaid(
            refund_id=refund_id, amount_cents=total, paid_on=paris_date(clock.now()),
            attempt=1, bank_reference=f"{transaction}/{record['authorisation']}")]
        view = await row(conn, PAYOUT_VIEW, order_id, refund_id)
    assert view is not None
    assert (view["status"], view["amount_cents"], view["paid_on"]) == (
        "paid", total, paris_date(clock.now()))
    await simulator.client.post("/_simulator/faults", json={})


async def test_a_refused_payout_is_declined_and_a_new_attempt_is_paid(
        payments_pool, clock, simulator, bank) -> None:
    # given a payout the bank refuses
    order_id, transaction = await captured_order(payments_pool, clock, simulator, bank)
    refund_id, ctx = f"refund-{uuid.uuid4()}", context(clock, "payments")
    await apply(payments_pool, clock, requested(order_id, refund_id, 1, PRICE, dt.date.today()))
    await simulator.client.post("/_simulator/faults", json={"refund": "refuse"})
    assert await handlers.pay_out_refund(payments_pool, order_id, refund_id, ctx, bank)

    # then the refusal is recorded with the bank's code and reason, and nothing was refunded
    async with payments_pool.acquire() as conn:
        assert (await recorded_events(conn, order_id))[-1] == RefundPayoutDeclined(
            refund_id=refund_id, attempt=1, code="00003", reason="PAYBOX : Erreur Paybox")
        view = await row(conn, PAYOUT_VIEW, order_id, refund_id)
    assert view is not None and (view["status"], view["amount_cents"]) == ("declined", PRICE)
    assert (await _transaction(simulator, transaction))["refunded_cents"] == 0

    # when the refunds service asks a second attempt and the bank is back
    await simulator.client.post("/_simulator/faults", json={})
    await apply(payments_pool, clock, requested(order_id, refund_id, 2, PRICE, dt.date.today()))
    assert await handlers.pay_out_refund(payments_pool, order_id, refund_id, ctx, bank)

    # then that attempt is paid
    async with payments_pool.acquire() as conn:
        paid = (await recorded_events(conn, order_id))[-1]
    assert isinstance(paid, RefundPaid) and (paid.attempt, paid.amount_cents) == (2, PRICE)
    assert (await _transaction(simulator, transaction))["refunded_cents"] == PRICE


async def test_a_payout_without_a_captured_payment_is_declined_at_once(payments_conn,
                                                                      clock) -> None:
    # given an order that expects a payment not made yet
    order_id, ctx = str(uuid.uuid4()), context(clock, "payments")
    await handlers.handle(payments_conn, order_id, domain.ExpectPayment("buyer-x", PRICE,
                                                                        SEALED), ctx)
    refund_id = f"refund-{uuid.uuid4()}"
    request = requested(order_id, refund_id, 1, PRICE, dt.date.today())

    # when a payout is requested, twice
    for _ in range(2):
        await when_refund_payout_requested_order_the_payout(payments_conn, request,
                                                            request.event(), ctx)

    # then it is declined once, and never on the payout's work list
    [*_, declined] = envelopes = await recorded(payments_conn, order_id)
    assert len(envelopes) == 2
    assert declined.event() == RefundPayoutDeclined(
        refund_id=refund_id, attempt=1, code="no-captured-payment",
        reason="the order has no captured payment to refund")
    view = await row(payments_conn, PAYOUT_VIEW, order_id, refund_id)
    assert view is not None and (view["status"], view["code"]) == ("declined",
                                                                   "no-captured-payment")
    assert order_id not in {p.order_id for p in await ordered_payouts(payments_conn)}
    # and projecting the event again changes nothing
    await project(payments_conn, declined, declined.event())
    assert await row(payments_conn, PAYOUT_VIEW, order_id, refund_id) == view
