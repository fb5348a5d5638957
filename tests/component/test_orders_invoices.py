"""Invoices on real PostgreSQL: numbered without gap or duplicate however many orders are
confirmed at once, and never twice for one order."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.orders import domain, handlers
from services.orders.invoices import issue_invoice, issue_invoices
from tests.component.conftest import context
from tests.component.support import recorded
from tests.component.test_orders_timed_work import place

pytestmark = pytest.mark.asyncio(loop_scope="session")
CONFIRMED_AT_ONCE = 200


async def confirmed(pool: asyncpg.Pool, clock) -> str:
    order_id = await place(pool, clock)
    ctx = context(clock, "orders")
    async with pool.acquire() as conn, conn.transaction():
        [placed] = await recorded(conn, order_id)
        total = placed.payload["total_cents"]
        await handlers.handle(conn, order_id, domain.RecordPayment(
            f"{order_id}.aa", total, clock.now()), ctx, None)
        await handlers.record_confirmation_sent(conn, order_id, f"<{order_id}@test>", ctx)
    return order_id


async def numbers(pool: asyncpg.Pool, orders: list[str]) -> list[int]:
    rows = await pool.fetch("SELECT number FROM invoice_view WHERE order_id = ANY($1::text[])",
                            orders)
    return sorted(row["number"] for row in rows)


async def test_orders_confirmed_at_once_get_invoice_numbers_without_gap_or_duplicate(
        orders_pool, clock) -> None:
    orders = [await confirmed(orders_pool, clock) for _ in range(CONFIRMED_AT_ONCE)]
    before = await orders_pool.fetchval(
        "SELECT coalesce(max(last), 0) FROM document_numbers WHERE kind = 'invoice'")
    ctx = context(clock, "orders")

    async def invoice_one(order_id: str) -> bool:
        async with orders_pool.acquire() as conn, conn.transaction():
            return await issue_invoice(conn, order_id, ctx)

    # every order twice, concurrently, and a sweep pass on top: one invoice each, numbers 1..N
    results = await asyncio.gather(*(invoice_one(o) for o in orders + orders),
                                   issue_invoices(orders_pool, ctx))
    assert sum(results[:-1]) + results[-1] == CONFIRMED_AT_ONCE
    assert await numbers(orders_pool, orders) == list(
        range(before + 1, before + CONFIRMED_AT_ONCE + 1))
    for order_id in orders[:3]:
        async with orders_pool.acquire() as conn:
            types = [envelope.type for envelope in await recorded(conn, order_id)]
        assert types.count("InvoiceIssued") == 1


async def test_an_order_not_confirmed_is_not_invoiced_and_takes_no_number(orders_pool,
                                                                          clock) -> None:
    order_id = await place(orders_pool, clock)
    before = await orders_pool.fetchval(
        "SELECT coalesce(max(last), 0) FROM document_numbers WHERE kind = 'invoice'")
    async with orders_pool.acquire() as conn, conn.transaction():
        assert not await issue_invoice(conn, order_id, context(clock, "orders"))
    assert await orders_pool.fetchval(
        "SELECT coalesce(max(last), 0) FROM document_numbers WHERE kind = 'invoice'") == before
