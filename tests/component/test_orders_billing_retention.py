"""Erasure and the billing retention on real PostgreSQL: given an invoiced order, when its
buyer's data is erased, then whom the invoice bills is kept, sealed under the order's own key,
until the retention ends, when the sweep destroys that key (RULES: data under legal retention
is restricted until the retention expires, then destroyed)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from contracts.personal import PersonalData
from contracts.policies import paris_date
from services.orders import domain, rights
from services.orders.invoices import (
    RESTRICTED_ADDRESS,
    billed_to,
    issue_invoice,
    recorded_documents,
)
from services.orders.subscriptions import billing_retention_sweep
from services.orders.views import order_record
from services.platform.personal import PostgresKeyStore, open_sealed
from services.platform.sweep import sweep_once
from tests.component.conftest import context
from tests.component.support import recorded
from tests.component.test_orders_deferred_erasure import deliver
from tests.component.test_orders_invoices import confirmed
from tests.component.test_orders_timed_work import place

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def invoiced(pool: asyncpg.Pool, clock) -> str:
    """An order confirmed, invoiced and delivered (erasure waits for an order's delivery)."""
    order_id = await confirmed(pool, clock)
    await deliver(pool, clock, order_id)
    return order_id


async def types_of(pool: asyncpg.Pool, order_id: str) -> list[str]:
    async with pool.acquire() as conn:
        return [envelope.type for envelope in await recorded(conn, order_id)]


async def test_erasure_keeps_whom_an_invoice_bills_until_its_retention_ends(
        orders_pool, clock) -> None:
    # given an invoiced order, and one of the same buyer erased before its invoice
    order_id = await invoiced(orders_pool, clock)
    record = await order_record(orders_pool, order_id)
    assert record is not None
    keys = PostgresKeyStore(orders_pool)
    billed = await billed_to(keys, record, reveal=True)
    assert billed is not None
    ctx = context(clock, "orders")
    # when the buyer's data is erased
    async with orders_pool.acquire() as conn, conn.transaction():
        await rights.erase_buyer_data(conn, PostgresKeyStore(conn), ctx, record.buyer_id)
    # then the order's personal data is erased, but its invoice bills the same address
    erased = await order_record(orders_pool, order_id)
    assert erased is not None and erased.personal_data == "erased"
    assert await open_sealed(keys, erased.personal, PersonalData) is None
    assert await billed_to(keys, erased, reveal=True) == billed
    assert await billed_to(keys, erased, reveal=False) == RESTRICTED_ADDRESS  # other roles
    issued, _ = await recorded_documents(orders_pool, order_id)
    assert issued is not None
    until = domain.retention_end(issued.issued_on)
    assert erased.billing_retained_until == until
    assert (await types_of(orders_pool, order_id))[-2:] == [
        "BillingDataRetained", "BuyerDataErased"]
    stored = await orders_pool.fetchval(
        "SELECT string_agg(envelope::text, '') || (SELECT o::text FROM order_view o "
        "WHERE order_id = $1) FROM events WHERE order_id = $1", order_id)
    assert billed.recipient not in stored and billed.street not in stored  # sealed only
    # and the buyer's access export shows what is kept, and until when
    export = await rights.export_buyer_data(orders_pool, keys, record.buyer_id, clock.now())
    assert [(kept.order_id, kept.billed_to.recipient, kept.until)
            for kept in export.billing_kept] == [(order_id, billed.recipient, until)]

    # when the sweep passes on the retention's last day, then the day after
    sweep = billing_retention_sweep()
    clock.advance(dt.datetime.combine(until, dt.time(10), dt.UTC) - clock.now())
    assert paris_date(clock.now()) == until
    await sweep_once(orders_pool, sweep, ctx)
    assert "BillingRetentionEnded" not in await types_of(orders_pool, order_id)
    clock.advance(dt.timedelta(days=1))
    await sweep_once(orders_pool, sweep, ctx)
    # then the kept billing data is destroyed: the invoice reads [erased] there too
    assert (await types_of(orders_pool, order_id))[-1] == "BillingRetentionEnded"
    ended = await order_record(orders_pool, order_id)
    assert ended is not None and await billed_to(keys, ended, reveal=True) is None
    assert await orders_pool.fetchval(
        "SELECT count(*) FROM personal_keys WHERE subject = $1 AND material IS NOT NULL",
        rights.billing_key(order_id)) == 0
    export = await rights.export_buyer_data(orders_pool, keys, record.buyer_id, clock.now())
    assert export.billing_kept == []
    await sweep_once(orders_pool, sweep, ctx)  # once
    assert (await types_of(orders_pool, order_id)).count("BillingRetentionEnded") == 1


async def test_an_order_erased_once_delivered_and_before_its_invoice_keeps_whom_it_bills(
        orders_pool, clock) -> None:
    # given an order whose sale is final, delivered, its invoice not issued yet
    order_id = await confirmed(orders_pool, clock)
    await deliver(orders_pool, clock, order_id, invoice=False)
    record = await order_record(orders_pool, order_id)
    assert record is not None and record.confirmed_at is not None
    keys = PostgresKeyStore(orders_pool)
    billed = await billed_to(keys, record, reveal=True)
    ctx = context(clock, "orders")
    # when the buyer's data is erased, then the invoice issued afterwards
    async with orders_pool.acquire() as conn, conn.transaction():
        await rights.erase_buyer_data(conn, PostgresKeyStore(conn), ctx, record.buyer_id)
    async with orders_pool.acquire() as conn, conn.transaction():
        assert await issue_invoice(conn, order_id, ctx)
    # then it bills whom the order named, kept from the day the sale was confirmed
    erased = await order_record(orders_pool, order_id)
    assert erased is not None and erased.personal_data == "erased"
    assert billed is not None and await billed_to(keys, erased, reveal=True) == billed
    assert erased.billing_retained_until == domain.retention_end(
        paris_date(record.confirmed_at))


async def test_an_order_erased_before_its_sale_was_final_keeps_nothing(orders_pool,
                                                                      clock) -> None:
    order_id = await place(orders_pool, clock)
    record = await order_record(orders_pool, order_id)
    assert record is not None
    async with orders_pool.acquire() as conn, conn.transaction():
        await rights.erase_buyer_data(conn, PostgresKeyStore(conn), context(clock, "orders"),
                                      record.buyer_id)
    assert "BillingDataRetained" not in await types_of(orders_pool, order_id)
    erased = await order_record(orders_pool, order_id)
    assert erased is not None and erased.billing_retained is None
    assert await billed_to(PostgresKeyStore(orders_pool), erased, reveal=True) is None
