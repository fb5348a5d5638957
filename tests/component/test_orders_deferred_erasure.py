"""Erasure while the buyer's data is still needed, on real PostgreSQL: given a buyer with a paid
order not delivered yet, when they ask for erasure, then their unpaid orders are cancelled, the
request is recorded and their data kept for the paid order alone; once it is delivered, the
orders worker's erasure sweep erases it all, whom the invoice bills kept as for any erasure."""

from __future__ import annotations

import dataclasses
import uuid

import asyncpg
import pytest

from contracts.personal import PersonalData
from contracts.policies import paris_date
from services.orders import after_sale, domain, handlers, lines, rights
from services.orders.invoices import issue_invoice
from services.orders.subscriptions import erasure_sweep, unpaid_orders_sweep
from services.orders.views import order_record
from services.platform.personal import PostgresKeyStore, open_sealed
from services.platform.sweep import sweep_once
from tests.component.conftest import context
from tests.component.support import recorded
from tests.component.test_orders_handlers import REQUEST
from tests.component.test_orders_timed_work import TIMEOUT

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def types_of(pool: asyncpg.Pool, order_id: str) -> list[str]:
    async with pool.acquire() as conn:
        return [envelope.type for envelope in await recorded(conn, order_id)]


async def placed_for(pool: asyncpg.Pool, clock, buyer_id: str) -> str:
    async with pool.acquire() as conn, conn.transaction():
        return await handlers.place_order(conn, dataclasses.replace(REQUEST, buyer_id=buyer_id),
                                          context(clock, "orders"), PostgresKeyStore(conn))


async def paid(pool: asyncpg.Pool, clock, order_id: str, *, confirm: bool = True) -> str:
    ctx = context(clock, "orders")
    async with pool.acquire() as conn, conn.transaction():
        [placed] = await recorded(conn, order_id)
        await handlers.handle(conn, order_id, domain.RecordPayment(
            f"{order_id}.aa", placed.payload["total_cents"], clock.now()), ctx)
        if confirm:
            await handlers.record_confirmation_sent(conn, order_id, f"<{order_id}@test>", ctx)
    return order_id


async def erase(pool: asyncpg.Pool, clock, buyer_id: str) -> rights.RightsReceipt:
    async with pool.acquire() as conn, conn.transaction():
        return await rights.erase_buyer_data(conn, PostgresKeyStore(conn),
                                             context(clock, "orders"), buyer_id)


async def personal(pool: asyncpg.Pool, order_id: str) -> PersonalData | None:
    record = await order_record(pool, order_id)
    assert record is not None
    return await open_sealed(PostgresKeyStore(pool), record.personal, PersonalData)


async def deliver(pool: asyncpg.Pool, clock, order_id: str, *, invoice: bool = True) -> None:
    """Ship and deliver a confirmed order, its invoice issued first unless not ``invoice``."""
    ctx = context(clock, "orders")
    async with pool.acquire() as conn, conn.transaction():
        assert not invoice or await issue_invoice(conn, order_id, ctx)
        await handlers.handle(conn, order_id, after_sale.NoteShipment(clock.now()), ctx)
        await handlers.handle(conn, order_id,
                              after_sale.NoteDelivery(paris_date(clock.now())), ctx)


async def test_erasure_waits_for_a_paid_order_to_be_delivered_then_the_sweep_erases_once(
        orders_pool, clock) -> None:
    # given a buyer with a confirmed order, not shipped yet, and an order not paid
    buyer_id = f"buyer-{uuid.uuid4()}"
    confirmed = await paid(orders_pool, clock, await placed_for(orders_pool, clock, buyer_id))
    unpaid = await placed_for(orders_pool, clock, buyer_id)
    # when they ask for erasure
    receipt = await erase(orders_pool, clock, buyer_id)
    # then the unpaid order is cancelled, the request recorded on both, nothing erased yet
    assert (receipt.awaiting, receipt.order_ids) == ([confirmed], [confirmed, unpaid])
    assert (await types_of(orders_pool, unpaid))[-2:] == [
        "OrderCancelled", "BuyerDataErasureDeferred"]
    assert (await types_of(orders_pool, confirmed))[-1] == "BuyerDataErasureDeferred"
    assert (await order_record(orders_pool, unpaid)).cancel_reason == "buyer_request"  # type: ignore[union-attr]
    assert await personal(orders_pool, confirmed) is not None  # the delivery still needs it
    ctx = context(clock, "orders")
    await erasure_sweep(orders_pool, ctx)
    assert "BuyerDataErased" not in await types_of(orders_pool, confirmed)

    # when the order is delivered and the sweep passes
    await deliver(orders_pool, clock, confirmed)
    assert await erasure_sweep(orders_pool, ctx) >= 1
    # then both orders are erased, the delivered one keeping whom its invoice bills
    assert (await types_of(orders_pool, confirmed))[-2:] == ["BillingDataRetained",
                                                             "BuyerDataErased"]
    assert (await types_of(orders_pool, unpaid))[-1] == "BuyerDataErased"
    assert await personal(orders_pool, confirmed) is None
    assert await personal(orders_pool, unpaid) is None
    await erasure_sweep(orders_pool, ctx)  # once
    assert (await types_of(orders_pool, confirmed)).count("BuyerDataErased") == 1


async def test_a_paid_order_erased_before_its_confirmation_is_still_confirmed_to_its_buyer(
        orders_pool, clock) -> None:
    # given an order paid, its confirmation of acceptance not sent yet
    buyer_id = f"buyer-{uuid.uuid4()}"
    order_id = await paid(orders_pool, clock, await placed_for(orders_pool, clock, buyer_id),
                          confirm=False)
    ctx = context(clock, "orders")
    # when its buyer asks for erasure
    receipt = await erase(orders_pool, clock, buyer_id)
    # then the mailer can still write to them, and the sale becomes final
    assert receipt.awaiting == [order_id]
    assert await personal(orders_pool, order_id) is not None
    async with orders_pool.acquire() as conn, conn.transaction():
        await handlers.record_confirmation_sent(conn, order_id, f"<{order_id}@test>", ctx)
    assert (await order_record(orders_pool, order_id)).status == "confirmed"  # type: ignore[union-attr]
    await deliver(orders_pool, clock, order_id)
    await erasure_sweep(orders_pool, ctx)
    assert (await order_record(orders_pool, order_id)).personal_data == "erased"  # type: ignore[union-attr]


async def test_an_order_placed_after_the_request_holds_the_sweep_until_paid_or_cancelled(
        orders_pool, clock) -> None:
    # given a buyer whose erasure waits for a confirmed order, who then orders again
    buyer_id = f"buyer-{uuid.uuid4()}"
    confirmed = await paid(orders_pool, clock, await placed_for(orders_pool, clock, buyer_id))
    await erase(orders_pool, clock, buyer_id)
    later = await placed_for(orders_pool, clock, buyer_id)
    # when the first order is delivered, and the sweep passes (or had listed the buyer before
    # the new order was placed)
    await deliver(orders_pool, clock, confirmed)
    ctx = context(clock, "orders")
    await erasure_sweep(orders_pool, ctx)
    async with orders_pool.acquire() as conn, conn.transaction():
        assert not await rights.erase_when_performed(conn, PostgresKeyStore(conn), ctx,
                                                     buyer_id)
    # then the new order, still waiting for its payment, is neither cancelled nor erased
    record = await order_record(orders_pool, later)
    assert record is not None and (record.status, record.personal_data) == ("placed", "held")
    # until it is cancelled unpaid: then the sweep erases both
    clock.advance(TIMEOUT)
    await sweep_once(orders_pool, unpaid_orders_sweep(TIMEOUT), ctx)
    await erasure_sweep(orders_pool, ctx)
    for order_id in (confirmed, later):
        assert (await order_record(orders_pool, order_id)).personal_data == "erased"  # type: ignore[union-attr]


async def test_an_order_whose_every_line_was_cancelled_holds_no_erasure(orders_pool,
                                                                        clock) -> None:
    # given a confirmed order whose only lines the seller cancelled while it was blocked
    buyer_id = f"buyer-{uuid.uuid4()}"
    order_id = await paid(orders_pool, clock, await placed_for(orders_pool, clock, buyer_id))
    ctx = context(clock, "orders")
    async with orders_pool.acquire() as conn, conn.transaction():
        await handlers.handle(conn, order_id, domain.BlockOrder("buyer_account_problem"), ctx)
        for line in REQUEST.lines:
            await handlers.handle(conn, order_id, lines.CancelLine(line.sku, "seller"), ctx)
        assert await issue_invoice(conn, order_id, ctx)
    # when its buyer asks for erasure, then nothing is left to perform: it is erased now
    receipt = await erase(orders_pool, clock, buyer_id)
    assert receipt.awaiting == []
    assert (await order_record(orders_pool, order_id)).personal_data == "erased"  # type: ignore[union-attr]


async def test_operators_see_each_waiting_erasure_and_the_orders_it_waits_for(orders_pool,
                                                                              clock) -> None:
    # given a buyer whose erasure waits for a confirmed order
    buyer_id = f"buyer-{uuid.uuid4()}"
    confirmed = await paid(orders_pool, clock, await placed_for(orders_pool, clock, buyer_id))
    await erase(orders_pool, clock, buyer_id)
    # then it is listed with that order, until the order is delivered and the sweep erases
    [waiting] = [erasure for erasure in await rights.waiting_erasures(orders_pool)
                 if erasure.buyer_id == buyer_id]
    assert (waiting.awaiting, waiting.requested_at) == ([confirmed], clock.now())
    await deliver(orders_pool, clock, confirmed)
    await erasure_sweep(orders_pool, context(clock, "orders"))
    assert buyer_id not in {erasure.buyer_id
                            for erasure in await rights.waiting_erasures(orders_pool)}
