"""The timed passes' work lists are read from an index, never by scanning a whole read model.

Each pass runs every half second or so; a work list read by a sequential scan costs in
proportion to every order ever placed (``make bench`` found four such lists taking a third of
the database's time after 8,000 orders). Each test runs the real query function against a
connection that answers its query with the plan PostgreSQL chooses when sequential scans are
discouraged: an index that can serve the query is then always taken.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from services.fulfilment.views import awaiting_delivery, recorded_overdue
from services.orders import invoices
from services.orders.views import (
    billing_retention_over,
    confirmations_due,
    erasures_due,
    lines_awaiting_answer,
    unavailable_lines_to_notify,
    unpaid_since,
)
from services.payments.views import authorised_payments, ordered_payouts

pytestmark = pytest.mark.asyncio(loop_scope="session")

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


class Explaining:
    """Stands for a connection: runs ``EXPLAIN`` of each query and keeps what it reads whole."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self.whole: list[str] = []
        self.queries = 0

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        await self.conn.execute("SET LOCAL enable_seqscan = off")
        [plan] = json.loads(await self.conn.fetchval(f"EXPLAIN (FORMAT JSON) {query}", *args))
        partial = {row["name"] for row in await self.conn.fetch(
            "SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indpred IS NOT NULL")}
        self.whole += read_whole(plan["Plan"], partial)
        self.queries += 1
        return []


def read_whole(plan: dict[str, Any], partial: set[str]) -> list[str]:
    """What a plan reads whole: a relation scanned sequentially, or an index scanned from end
    to end (no condition on its keys, and not a partial index of the rows sought)."""
    kind, index = plan["Node Type"], plan.get("Index Name")
    whole = ([plan["Relation Name"]] if kind == "Seq Scan" else
             [index] if index and "Index Cond" not in plan and index not in partial else [])
    return whole + [name for child in plan.get("Plans", []) for name in read_whole(child, partial)]


WorkList = Callable[[Any], Awaitable[Any]]

ORDERS_LISTS: dict[str, WorkList] = {
    "confirmations due": confirmations_due,
    "unavailable lines to notify": unavailable_lines_to_notify,
    "lines awaiting an answer": lambda db: lines_awaiting_answer(db, NOW),
    "unpaid orders": lambda db: unpaid_since(db, NOW),
    "billing retentions over": lambda db: billing_retention_over(db, NOW.date()),
    "orders to invoice": invoices._uninvoiced,
    "erasures due": erasures_due,
}
PAYMENTS_LISTS: dict[str, WorkList] = {
    "payments to capture": authorised_payments,
    "payouts ordered": ordered_payouts,
}


async def read_whole_by(conn: asyncpg.Connection, work_list: WorkList) -> list[str]:
    """What the work list's queries read whole (it must run at least one)."""
    explaining = Explaining(conn)
    await work_list(explaining)
    assert explaining.queries, "the work list ran no query"
    return explaining.whole


@pytest.mark.parametrize("name", ORDERS_LISTS)
async def test_an_orders_work_list_reads_an_index(orders_conn: asyncpg.Connection,
                                                  name: str) -> None:
    assert await read_whole_by(orders_conn, ORDERS_LISTS[name]) == []


@pytest.mark.parametrize("name", PAYMENTS_LISTS)
async def test_a_payments_work_list_reads_an_index(payments_conn: asyncpg.Connection,
                                                   name: str) -> None:
    assert await read_whole_by(payments_conn, PAYMENTS_LISTS[name]) == []


async def test_the_overdue_deliveries_work_list_reads_an_index(
        fulfilment_conn: asyncpg.Connection) -> None:
    assert await read_whole_by(fulfilment_conn,
                               lambda db: awaiting_delivery(db, NOW.date())) == []


async def test_the_deliveries_recorded_overdue_are_listed_by_an_index(
        fulfilment_conn: asyncpg.Connection) -> None:
    assert await read_whole_by(fulfilment_conn, recorded_overdue) == []
