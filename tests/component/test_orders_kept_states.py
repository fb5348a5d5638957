"""Orders' decision states kept before a field existed, brought up to date by a migration:
given a stream whose state lacks it, when the migration runs, then the state is what folding
the stream again would give."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import asyncpg
import pytest

from services.orders import after_sale, domain
from tests.component.support import kept_without
from tests.unit.orders.test_orders_after_sale import (
    CONFIRMED,
    OVERDUE,
    PAID,
    PLACED,
    TERMINATED,
    given,
    on,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
MIGRATION = (Path(domain.__file__).parent / "migrations" / "012_terminated_on_in_state.sql")


async def test_a_termination_kept_before_its_day_was_in_the_state_gets_it_back(
        orders_conn: asyncpg.Connection) -> None:
    # given a terminated order whose state was kept without the termination's day
    state = given(PLACED, PAID, CONFIRMED, OVERDUE, TERMINATED)
    assert state is not None
    order_id = await kept_without(orders_conn, state, "terminated_on", 5)
    await orders_conn.execute(
        "INSERT INTO events (event_id, order_id, version, type, envelope) "
        "VALUES ($1, $2, 5, 'ContractTerminated', $3)", uuid.uuid4(), order_id,
        {"payload": TERMINATED.model_dump(mode="json")})
    # when the migration runs
    await orders_conn.execute(MIGRATION.read_text())
    # then the state has it, and a delivery reported for the day before voids the termination
    row = await orders_conn.fetchval("SELECT state FROM streams WHERE order_id = $1", order_id)
    migrated = domain.OrderState.model_validate(row)
    assert migrated == state and migrated.terminated_on == dt.date(2026, 6, 12)
    events = domain.decide(migrated, after_sale.NoteDelivery(dt.date(2026, 6, 11)),
                           on("2026-06-13"))
    assert [type(event).__name__ for event in events] == ["TerminationVoided", "OrderDelivered"]
