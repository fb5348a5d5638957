"""Rebuildable: dropping fulfilment's read model and replaying the log gives the same model."""

from __future__ import annotations

import json
import subprocess
import sys

import asyncpg
import httpx
import pytest

from deploy.faults.checks import at_rest
from deploy.system import bearer
from services.fulfilment.main import SERVICE as FULFILMENT
from services.fulfilment.views import all_reservations
from services.orders.main import SERVICE as ORDERS
from services.orders.views import all_orders
from services.payments.main import SERVICE as PAYMENTS
from services.platform.service import Service
from services.platform.settings import LogSettings
from services.refunds.main import SERVICE as REFUNDS
from tests.integration.conftest import System
from tests.support.lifecycle import withdrawn_and_returned
from tests.support.orders import events_of, order_body
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def test_rebuilt_read_model_equals_the_live_one(
        http: httpx.AsyncClient, system: System, fulfilment_db: asyncpg.Pool) -> None:
    orders = [(await http.post(f"{system.orders_url}/orders", json=order_body(lines=lines))).json()
              for lines in ([{"sku": "COTES-ROUSSILLON-BLANC-2024", "quantity": 12}],
                            [{"sku": "IGP-COTES-CATALANES-2024", "quantity": 1},
                             {"sku": "MUSCAT-RIVESALTES-2023", "quantity": 6}])]
    for order in orders:
        await eventually(lambda order=order: events_of(fulfilment_db, order["order_id"]))
    settings = LogSettings(kafka_bootstrap=system.infra.kafka_bootstrap)
    await eventually(lambda: at_rest(settings, [FULFILMENT], {"fulfilment": fulfilment_db}),
                     what="fulfilment at rest")
    live = await all_reservations(fulfilment_db)
    # damage the read model, so that only a real replay can give the live one back
    await fulfilment_db.execute("UPDATE reservation_view SET quantity = 999 WHERE order_id = $1",
                                orders[0]["order_id"])
    await fulfilment_db.execute("DELETE FROM reservation_view WHERE order_id = $1",
                                orders[1]["order_id"])

    result = subprocess.run([sys.executable, "-m", "services.fulfilment.main", "rebuild"],
                            env={**system["fulfilment-api"].env,
                                 "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rows"]["reservation_view"] == len(live) > 0
    assert summary["replayed_events"] >= 3
    assert await all_reservations(fulfilment_db) == live


async def test_every_service_rebuilds_from_its_own_topic_orders_too(
        http: httpx.AsyncClient, system: System, orders_db: asyncpg.Pool) -> None:
    order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    await http.post(f"{system.orders_url}/orders/{order['order_id']}/block",
                    json={"reason": "incorrect_address"}, headers=bearer("ops"))
    live = await all_orders(orders_db)
    await orders_db.execute("UPDATE order_view SET blocked = false, total_cents = 1 "
                            "WHERE order_id = $1", order["order_id"])

    result = subprocess.run([sys.executable, "-m", "services.orders.main", "rebuild"],
                            env={**system["orders-api"].env, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"]["order_view"] >= len(live) > 0
    rebuilt = {view.order_id: view for view in await all_orders(orders_db)}
    assert [rebuilt[view.order_id] for view in live] == live


async def _snapshot(pool: asyncpg.Pool, service: Service) -> dict[str, list[str]]:
    tables = list(service.read_model.tables) + [t for t, _ in service.read_model.derived_columns]
    return {table: [row[0] for row in await pool.fetch(
        f"SELECT t::text FROM {table} t ORDER BY t::text")] for table in tables}


async def test_every_read_model_of_every_service_equals_its_rebuild(
        http: httpx.AsyncClient, system: System, orders_db: asyncpg.Pool,
        payments_db: asyncpg.Pool, fulfilment_db: asyncpg.Pool,
        refunds_db: asyncpg.Pool) -> None:
    pools = {"orders": orders_db, "payments": payments_db, "fulfilment": fulfilment_db,
             "refunds": refunds_db}
    services = {"orders": ORDERS, "payments": PAYMENTS, "fulfilment": FULFILMENT,
                "refunds": REFUNDS}
    # every service's read model holds something, whichever tests ran before: a refund owed
    order_id = await withdrawn_and_returned(http, system)
    await eventually(lambda: events_of(refunds_db, order_id), what="the refund owed")
    settings = LogSettings(kafka_bootstrap=system.infra.kafka_bootstrap)
    await eventually(lambda: at_rest(settings, list(services.values()), pools),
                     what="relays and consumers at rest")
    live = {name: await _snapshot(pools[name], service) for name, service in services.items()}
    assert all(any(tables.values()) for tables in live.values()), "a read model is empty"
    assert any(order_id in row for row in live["refunds"]["refund_view"])

    for name in services:
        await pools[name].execute(f"DELETE FROM {services[name].read_model.tables[0]}")
        result = subprocess.run([sys.executable, "-m", f"services.{name}.main", "rebuild"],
                                env={**system[f"{name}-api"].env, "PATH": "/usr/bin:/bin"},
                                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr

    for name, service in services.items():
        assert await _snapshot(pools[name], service) == live[name], name
