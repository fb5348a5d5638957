"""A placed order flows end to end: recorded by orders, published once, reserved by fulfilment."""

from __future__ import annotations

import datetime as dt

import asyncpg
import httpx
import pytest

from contracts.hashing import verify_chain
from tests.integration.conftest import System
from tests.support.lifecycle import run_verify
from tests.support.orders import events_of, order_body, published_records
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


async def place(http: httpx.AsyncClient, system: System, **overrides: object) -> dict:
    response = await http.post(f"{system.orders_url}/orders", json=order_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def reservation(http: httpx.AsyncClient, system: System, order_id: str) -> dict | None:
    response = await http.get(f"{system.fulfilment_url}/reservations/{order_id}")
    return response.json() if response.status_code == 200 else None


async def test_placed_order_is_recorded_with_prices_in_force(http, system) -> None:
    order = await place(http, system)

    fetched = (await http.get(f"{system.orders_url}/orders/{order['order_id']}")).json()
    assert fetched == order
    assert order["status"] == "placed"
    assert [(line["sku"], line["unit_price_cents"], line["line_total_cents"])
            for line in order["lines"]] == [("COTES-ROUSSILLON-ROUGE-2022", 890, 5340),
                                            ("MUSCAT-RIVESALTES-2023", 1190, 2380)]
    assert order["delivery_charge_cents"] == 990
    assert order["total_cents"] == 5340 + 2380 + 990
    assert order["terms_version"] == "CGV-2026-01"


async def test_price_in_force_is_the_one_of_the_stacks_clock(http, system) -> None:
    # the demo catalogue raises this wine from 12.50 to 12.90 on 1 September 2026 (00:00 UTC);
    # the test stack's clock starts in May 2026 (deploy.system.TEST_CLOCK_START), whatever the
    # machine's date, and only moves forward (test_refunds moves it past the change): the
    # price is the one in force at the stack's time, whichever side of the change that is
    order = await place(http, system, lines=[{"sku": "VILLAGES-TRADITION-2021", "quantity": 1}])
    placed = dt.datetime.fromisoformat(order["placed_at"])
    in_force = 1250 if placed < dt.datetime(2026, 9, 1, tzinfo=dt.UTC) else 1290
    assert order["lines"][0]["unit_price_cents"] == in_force


async def test_fulfilment_reserves_stock_for_a_placed_order(http, system) -> None:
    order = await place(http, system)

    found = await eventually(lambda: reservation(http, system, order["order_id"]),
                             what="reservation")
    assert found["lines"] == [
        {"sku": "COTES-ROUSSILLON-ROUGE-2022", "quantity": 6, "status": "reserved",
         "available": None},
        {"sku": "MUSCAT-RIVESALTES-2023", "quantity": 2, "status": "reserved",
         "available": None}]


async def test_fulfilment_reports_an_unavailable_item(http, system) -> None:
    order = await place(http, system, lines=[
        {"sku": "COTES-ROUSSILLON-ROSE-2025", "quantity": 3},
        {"sku": "IGP-COTES-CATALANES-2024", "quantity": 2}])

    found = await eventually(lambda: reservation(http, system, order["order_id"]),
                             what="reservation")
    assert found["lines"] == [
        {"sku": "COTES-ROUSSILLON-ROSE-2025", "quantity": 3, "status": "reserved",
         "available": None},
        {"sku": "IGP-COTES-CATALANES-2024", "quantity": 2, "status": "unavailable",
         "available": 0}]


async def test_published_events_match_the_store_and_their_hash_chains_verify(
        http, system, orders_db: asyncpg.Pool, fulfilment_db: asyncpg.Pool) -> None:
    order = await place(http, system)
    order_id = order["order_id"]
    await eventually(lambda: reservation(http, system, order_id), what="reservation")

    for service, db in (("orders", orders_db), ("fulfilment", fulfilment_db)):
        stored = await events_of(db, order_id)
        published = await eventually(
            lambda service=service, stored=stored: _all_published(system, service, order_id,
                                                                   len(stored)),
            what=f"{service} events published")
        assert published == stored
        assert verify_chain(published) == len(stored)
    fulfilment_events = await events_of(fulfilment_db, order_id)
    assert [e["type"] for e in fulfilment_events] == ["StockReserved"]
    assert fulfilment_events[0]["causation_id"] == (await events_of(orders_db, order_id))[0][
        "event_id"]


async def _all_published(system: System, service: str, order_id: str, count: int):
    records = await published_records(system.infra.kafka_bootstrap, service, order_id)
    return records if len(records) >= count else None


async def test_auditor_replay_verifies_the_log_and_detects_a_tampered_store(
        http, system, orders_db: asyncpg.Pool, fulfilment_db: asyncpg.Pool) -> None:
    honest, tampered = [await place(http, system) for _ in range(2)]
    for order in (honest, tampered):
        await eventually(lambda order=order: _all_published(system, "fulfilment",
                                                            order["order_id"], 1))
        await eventually(lambda order=order: _all_published(system, "orders",
                                                            order["order_id"], 1))

    code, report = run_verify(system, honest["order_id"], tampered["order_id"])
    assert code == 0, report
    assert report["services"]["orders"]["events"] == 2

    await orders_db.execute(
        "UPDATE events SET envelope = jsonb_set(envelope, '{payload,total_cents}', '1') "
        "WHERE order_id = $1", tampered["order_id"])
    code, report = run_verify(system, honest["order_id"], tampered["order_id"])
    assert code == 1
    tampered_event = (await events_of(orders_db, tampered["order_id"]))[0]["event_id"]
    assert report["services"]["orders"]["differs_from_store"] == [tampered_event]
    assert report["services"]["fulfilment"]["ok"]
