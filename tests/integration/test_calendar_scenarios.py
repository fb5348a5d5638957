"""The terms' calendar on the running system, driven by the stack's shared clock
(``python -m services.platform.clock``): the 5-working-day delivery deadline around Ascension,
and a force-majeure period that pushes it.

The test stack's clock starts on Monday 11 May 2026 (``deploy.system.TEST_CLOCK_START``) and
only ever moves forward; this module is the first to move it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import asyncpg
import httpx
import pytest

from deploy.demo import APPROVED_CARD, order_body, pay_on_bank_page
from deploy.system import TEST_CLOCK, bearer
from tests.integration.conftest import System
from tests.integration.test_payments import session_for, status_is
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def clock(system: System, *args: str) -> str:
    """Run the clock command against the test stack, as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "services.platform.clock", *args],
        env={"PATH": "/usr/bin:/bin", "CLOCK_FILE": str(TEST_CLOCK),
             "DATABASE_URL": system.infra.database_server_url},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def confirmed_order(http: httpx.AsyncClient, system: System) -> str:
    """Place an order, pay it with the approved card and wait until the sale is final."""
    order_id = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()[
        "order_id"]
    await eventually(lambda: _found(http, f"{system.payments_url}/payments/{order_id}"))
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    await eventually(lambda: _found(http, f"{system.fulfilment_url}/shipments/{order_id}"))
    return order_id


async def _found(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(url, headers=bearer("ops"))).status_code == 200


async def shipment(http: httpx.AsyncClient, system: System, order_id: str) -> dict:
    return (await http.get(f"{system.fulfilment_url}/shipments/{order_id}",
                           headers=bearer("ops"))).json()


async def sweep_passes_after(fulfilment_db: asyncpg.Pool, moment: dt.datetime) -> None:
    """Wait until the overdue sweep has started a pass after ``moment`` (machine time)."""
    async def passed() -> bool:
        started = await fulfilment_db.fetchval(
            "SELECT last_started_at FROM timed_work WHERE name = 'overdue-deliveries'")
        return started is not None and started > moment

    await eventually(passed, what="a sweep pass after the clock moved")


async def move_clock_and_sweep(system: System, fulfilment_db: asyncpg.Pool,
                               *args: str) -> None:
    clock(system, *args)
    await sweep_passes_after(fulfilment_db, dt.datetime.now(dt.UTC))


async def test_delivery_deadline_around_ascension_and_a_force_majeure_period(
        http: httpx.AsyncClient, system: System, fulfilment_db: asyncpg.Pool) -> None:
    now = dt.datetime.fromisoformat(clock(system, "show"))
    assert now < dt.datetime(2026, 5, 13, 8, tzinfo=dt.UTC), (
        f"this scenario needs a fresh test stack (its clock is at {now}); "
        "run it from make test, which starts one")
    monday = await confirmed_order(http, system)  # Monday 11 May: deadline Tuesday 19 May
    clock(system, "set", "2026-05-13T10:00")  # Wednesday 13 May, 10:00 in Paris
    wednesday = await confirmed_order(http, system)
    assert (await shipment(http, system, wednesday))["deliver_by"] == "2026-05-21"

    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-05-21T23:00")
    assert (await shipment(http, system, monday))["overdue_since"] == "2026-05-21"
    assert (await shipment(http, system, wednesday))["overdue_since"] is None

    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-05-22T00:30")
    assert (await shipment(http, system, wednesday))["overdue_since"] == "2026-05-22"

    # Friday 22 May: deadline Monday 1 June (Whit Monday 25 May is a holiday); a closure on
    # Tuesday 26 and Wednesday 27 May pushes it by two working days, to Wednesday 3 June
    clock(system, "set", "2026-05-22T10:00")
    friday = await confirmed_order(http, system)
    closure = await http.post(f"{system.fulfilment_url}/deadline-suspensions",
                              headers=bearer("ops"), json={
                                  "first_day": "2026-05-26", "last_day": "2026-05-27",
                                  "reason": "announced closure of the warehouse"})
    assert closure.status_code == 201, closure.text
    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-06-03T23:00")
    assert (await shipment(http, system, friday))["overdue_since"] is None
    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-06-04T08:00")
    assert (await shipment(http, system, friday))["overdue_since"] == "2026-06-04"


async def test_the_clock_does_not_go_back_before_recorded_events(system: System) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.platform.clock", "set", "2026-01-01T00:00"],
        env={"PATH": "/usr/bin:/bin", "CLOCK_FILE": str(TEST_CLOCK),
             "DATABASE_URL": system.infra.database_server_url},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "does not go back" in result.stderr


async def test_shipping_before_confirmation_or_twice_is_refused_and_records_nothing(
        http: httpx.AsyncClient, system: System, fulfilment_db: asyncpg.Pool) -> None:
    placed = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    ship = {"carrier": "Colissimo", "tracking_number": "6A0001"}
    warehouse = bearer("warehouse")
    await eventually(lambda: _found(http, f"{system.fulfilment_url}/reservations/"
                                          f"{placed['order_id']}"))

    early = await http.post(f"{system.fulfilment_url}/shipments/{placed['order_id']}",
                            json=ship, headers=warehouse)
    order_id = await confirmed_order(http, system)
    first = await http.post(f"{system.fulfilment_url}/shipments/{order_id}", json=ship,
                            headers=warehouse)
    twice = await http.post(f"{system.fulfilment_url}/shipments/{order_id}", json=ship,
                            headers=warehouse)

    assert early.status_code == 409 and "not confirmed" in early.json()["detail"]
    assert first.status_code == 201 and first.json()["carrier"] == "Colissimo"
    assert twice.status_code == 409 and "already shipped" in twice.json()["detail"]
    stock = (await http.get(f"{system.fulfilment_url}/stock/COTES-ROUSSILLON-ROUGE-2022",
                            headers=warehouse)).json()
    assert stock["shipped"] >= 6
    types = [r["type"] for r in await fulfilment_db.fetch(
        "SELECT type FROM events WHERE order_id = $1 ORDER BY version", order_id)]
    assert types.count("Shipped") == 1
