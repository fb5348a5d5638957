"""The operators' command line (``python -m services.ops``) on the running system: every command
run as an operator runs it, in a subprocess against the test stack, its output read back.

The dead-letter test writes records of its own onto ``orders.events`` (a poison record, and a
valid event put back by the re-drive that the relay never published), so it comes last and the
``verify`` test names its orders.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer

from contracts.topics import DEFAULT_PARTITIONS, SERVICES
from deploy.demo import APPROVED_CARD, order_body, pay_on_bank_page
from deploy.system import TEST_CLOCK, bearer
from services.platform.kafka_io import partition_for, read_topic
from tests.integration.conftest import System
from tests.support.lifecycle import session_for, status_is
from tests.support.orders import events_of
from tests.support.records import valid_order_placed, with_schema_version
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
ORDERS_PLACED = 30
TERMS_SHA256 = "e475e4b48d89be9dafafb1c78c49b3e3fe2b00e692d3daafc71847fa8310da33"


def env(system: System) -> dict[str, str]:
    """The operator's environment: where the log and the databases are; a wide terminal so
    that tables are not folded."""
    return {"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP": system.infra.kafka_bootstrap,
            "DATABASE_URL": system.infra.database_server_url, "CLOCK_FILE": str(TEST_CLOCK),
            "COLUMNS": "250"}


def ops(system: System, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run one command of the command line against the test stack."""
    return subprocess.run([sys.executable, "-m", "services.ops", *args], env=env(system),
                          capture_output=True, text=True, timeout=timeout, check=False)


def ops_json(system: System, *args: str) -> Any:
    result = ops(system, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def placed(http: httpx.AsyncClient, system: System) -> list[str]:
    """A few dozen orders placed through the API."""
    ids = []
    for _ in range(ORDERS_PLACED):
        response = await http.post(f"{system.orders_url}/orders", json=order_body())
        assert response.status_code == 201, response.text
        ids.append(response.json()["order_id"])
    return ids


async def reacted(pools: dict[str, asyncpg.Pool], order_id: str) -> bool:
    """Fulfilment and payments have recorded their reactions to the order."""
    return all([await events_of(pools[name], order_id) for name in ("payments", "fulfilment")])


@pytest_asyncio.fixture(loop_scope="session")
async def pools(orders_db: asyncpg.Pool, payments_db: asyncpg.Pool,
                fulfilment_db: asyncpg.Pool, refunds_db: asyncpg.Pool,
                ) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    yield {"orders": orders_db, "payments": payments_db, "fulfilment": fulfilment_db,
           "refunds": refunds_db}


async def stored_events(pools: dict[str, asyncpg.Pool], order_id: str) -> dict[str, str]:
    """Every event of the order in every store: event id → type."""
    return {str(e["event_id"]): e["type"] for pool in pools.values()
            for e in await events_of(pool, order_id)}


async def test_order_shows_the_order_s_events_across_the_services_in_time_order(
        system: System, placed: list[str], pools: dict[str, asyncpg.Pool]) -> None:
    order_id = placed[0]
    await eventually(lambda: reacted(pools, order_id), what="payments and fulfilment reacted")
    before = await stored_events(pools, order_id)

    state = ops_json(system, "order", order_id)
    shown = {e["event_id"]: e["type"] for e in state["events"]}
    stored = await stored_events(pools, order_id)  # the services may have reacted meanwhile
    assert before.items() <= shown.items() <= stored.items()
    assert {e["service"] for e in state["events"]} >= {"orders", "payments", "fulfilment"}
    instants = [e["occurred_at"] for e in state["events"]]
    assert state["events"][0]["type"] == "OrderPlaced" and instants[0] == min(instants)
    reactions = [e for e in state["events"] if e["service"] != "orders"]
    assert "orders OrderPlaced v1" in {e["cause"] for e in reactions}
    views = {(v["service"], v["table"]): v["fields"] for v in state["views"]}
    assert views[("orders", "order_view")]["status"] == "placed"
    assert "personal" not in views[("orders", "order_view")]  # sealed fields are left out

    table = ops(system, "order", order_id)
    assert table.returncode == 0, table.stderr
    for part in (order_id, *set(before.values()), "caused by", "orders OrderPlaced v1",
                 "order_view", "status=placed"):
        assert part in table.stdout, part
    unknown = ops(system, "order", f"no-such-order-{uuid.uuid4()}")
    assert unknown.returncode == 2 and "no order" in unknown.stderr


async def test_tail_shows_an_order_s_records_from_the_beginning_and_new_ones_live(
        http: httpx.AsyncClient, system: System, placed: list[str],
        pools: dict[str, asyncpg.Pool]) -> None:
    order_id = placed[1]
    await eventually(lambda: reacted(pools, order_id), what="payments and fulfilment reacted")
    await eventually(lambda: _all_published(pools), what="outboxes published")
    before = await stored_events(pools, order_id)

    # from the beginning of every topic, until the log has been quiet for 3 s
    past = ops(system, "tail", "--order", order_id, "--from-beginning", "--until-idle", "3")
    assert past.returncode == 0, past.stderr
    lines = past.stdout.splitlines()
    assert all(f"order={order_id}" in line and "hash=" in line for line in lines), past.stdout
    shown = {line.split()[2] for line in lines}
    assert set(before.values()) <= shown <= set((await stored_events(pools, order_id)).values())
    assert len(lines) >= len(before)
    assert any(line.split()[1].startswith("orders.events[") for line in lines)

    live = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.ops", "tail", "--service", "orders", "--type",
        "OrderPlaced", "--limit", "1", env=env(system), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert live.stderr is not None
    assert b"following" in await asyncio.wait_for(live.stderr.readline(), 120)
    new = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    out, _ = await asyncio.wait_for(live.communicate(), 60)
    assert live.returncode == 0
    assert f"order={new['order_id']}" in out.decode() and "OrderPlaced" in out.decode()


async def _all_published(pools: dict[str, asyncpg.Pool]) -> bool:
    for pool in pools.values():
        if await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL"):
            return False
    return True


async def test_lag_shows_every_group_s_partitions_and_every_relay_s_outbox(
        system: System, placed: list[str]) -> None:
    report = ops_json(system, "lag")
    groups = {f"{name}-consumers" for name in SERVICES}
    assert set(report["groups"]) == groups
    assert set(report["outboxes"]) == set(SERVICES)
    assert all(box["status"] in ("ok", "degraded") for box in report["outboxes"].values())
    rows = report["partitions"]
    assert {row["group"] for row in rows} == groups
    for row in rows:
        position = row["committed"] if row["committed"] is not None else 0
        assert row["lag"] == max(0, row["end"] - position), row
        if row["lag"] == 0:
            assert row["oldest_unprocessed_age_s"] is None, row
    on_orders = [r for r in rows if r["group"] == "fulfilment-consumers"
                 and r["topic"] == "orders.events"]
    assert len(on_orders) == DEFAULT_PARTITIONS and sum(r["end"] for r in on_orders) >= len(placed)

    table = ops(system, "lag")
    assert table.returncode == 0, table.stderr
    for shown in (*groups, "orders.events[0]", "oldest unprocessed", "Relays", "unpublished"):
        assert shown in table.stdout, shown


async def test_verify_replays_the_log_with_progress_and_exits_0(
        system: System, placed: list[str]) -> None:
    orders = placed[:5]
    result = ops(system, "verify", *(arg for order in orders for arg in ("--order", order)))
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and set(report["services"]) == set(SERVICES)
    assert report["services"]["orders"]["orders"] == len(orders)
    assert report["services"]["orders"]["events"] >= len(orders)
    assert "verify orders" in result.stderr and "Log verified" in result.stderr


async def test_proof_gives_the_auditors_bundle_as_json_and_html(
        system: System, placed: list[str], tmp_path: Path) -> None:
    page = tmp_path / "proof.html"
    result = ops(system, "proof", placed[2], "--html", str(page))
    assert result.returncode == 0, result.stderr
    proof = json.loads(result.stdout)
    assert proof["order_id"] == placed[2] and proof["ok"] is True
    assert set(proof["chains"].values()) == {"ok"}
    assert "OrderPlaced" in {event["type"] for event in proof["events"]}
    html = page.read_text(encoding="utf-8")
    assert f"Order {placed[2]}" in html and "Log verified" in html


async def _invoiced(orders_db: asyncpg.Pool, order_id: str) -> bool:
    return bool(await orders_db.fetchval("SELECT count(*) FROM invoice_view WHERE order_id = $1",
                                         order_id))


async def _payment_expected(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    answer = await http.get(f"{system.payments_url}/payments/{order_id}", headers=bearer("ops"))
    return answer.status_code == 200


async def test_export_writes_the_buyer_s_contract_copy_with_a_manifest_that_checks(
        http: httpx.AsyncClient, system: System, orders_db: asyncpg.Pool,
        tmp_path: Path) -> None:
    buyer = f"buyer-ops-{uuid.uuid4()}"
    paid, unpaid = [(await http.post(f"{system.orders_url}/orders",
                                      json=order_body(buyer_id=buyer))).json()["order_id"]
                    for _ in range(2)]
    await eventually(lambda: _payment_expected(http, system, paid), what="payment expected")
    await pay_on_bank_page(http, await session_for(http, system, paid), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, paid, "confirmed"), what="confirmed")
    await eventually(lambda: _invoiced(orders_db, paid), what="invoice issued")
    target = tmp_path / "copy"

    result = ops(system, "export", buyer, "--out", str(target))

    assert result.returncode == 0, result.stderr
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["buyer_id"] == buyer
    for entry in manifest["files"]:
        content = (target / entry["path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], entry["path"]
        assert entry["path"] in result.stdout
    checked = subprocess.run(["sha256sum", "--check", "--quiet", "SHA256SUMS"], cwd=target,
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for order_id in (paid, unpaid):
        order = json.loads((target / "orders" / order_id / "order.json").read_text())
        assert order["order"]["buyer_id"] == buyer
        assert order["order"]["email"] == "jeanne.martin@example.org"  # opened for the buyer
        assert order["events"][0]["type"] == "OrderPlaced"
        terms = json.loads((target / "orders" / order_id / "terms.json").read_text())
        assert terms == {"accepted_terms_version": "CGV-2026-01",
                         "terms_text_sha256": TERMS_SHA256, "published_at": terms["published_at"]}
    payment = json.loads((target / "orders" / paid / "payment.json").read_text())
    assert payment["payment"]["status"] in ("authorised", "captured")
    invoice = json.loads((target / "orders" / paid / "invoice.json").read_text())
    pdf = target / "orders" / paid / f"{invoice['invoice']['invoice_id']}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert invoice["billed_to"]["recipient"] == "Jeanne Martin"
    assert not (target / "orders" / unpaid / "invoice.json").exists()
    again = ops(system, "export", buyer, "--out", str(target))
    assert again.returncode == 2 and "not empty" in again.stderr


async def test_rebuild_shows_progress_and_compares_with_the_live_read_model(
        system: System, placed: list[str], orders_db: asyncpg.Pool) -> None:
    await orders_db.execute("UPDATE order_view SET total_cents = 1 WHERE order_id = $1",
                            placed[3])  # drift only a replay can show and repair

    drifted = ops(system, "rebuild", "orders")
    assert drifted.returncode == 1, drifted.stderr
    assert "order_view" in drifted.stdout and "different (1 only live, 1 only rebuilt)" in \
        drifted.stdout
    assert "rebuild orders" in drifted.stderr and "records" in drifted.stderr
    assert await orders_db.fetchval("SELECT total_cents FROM order_view WHERE order_id = $1",
                                    placed[3]) > 1

    again = ops(system, "rebuild", "orders", "--json")
    assert again.returncode == 0, again.stderr
    comparison = json.loads(again.stdout)
    assert comparison["equal"] is True and comparison["replayed_events"] >= len(placed)
    assert set(comparison["tables"]) == {"order_view", "invoice_view", "credit_note_view"}
    assert comparison["tables"]["order_view"]["live_rows"] >= len(placed)
    table = ops(system, "rebuild", "orders")
    assert table.returncode == 0 and "equal" in table.stdout and "different" not in table.stdout


async def _produce(bootstrap: str, topic: str, order_id: str, value: bytes,
                   headers: list[tuple[str, bytes]] | None = None) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        partition = partition_for(order_id, len(await producer.partitions_for(topic)))
        sent = await producer.send_and_wait(topic, value, key=order_id.encode(),
                                            partition=partition, headers=headers or [])
        return sent.partition, sent.offset
    finally:
        await producer.stop()


async def _dead_letters(bootstrap: str, order_id: str, expected: int) -> list:
    found = [record async for record in read_topic(bootstrap, "orders.events.dlq")
             if record.key == order_id.encode()]
    return found if len(found) >= expected else []


async def _applied(fulfilment_db: asyncpg.Pool, event_id: str) -> bool:
    return bool(await fulfilment_db.fetchval(
        "SELECT count(*) FROM processed_events WHERE consumer = 'fulfilment.reserve-stock' "
        "AND event_id = $1", uuid.UUID(event_id)))


async def test_dlq_lists_dead_letters_with_their_reason_and_redrive_puts_one_back_once(
        system: System, fulfilment_db: asyncpg.Pool) -> None:
    bootstrap = system.infra.kafka_bootstrap
    poison_order, fixed_order = str(uuid.uuid4()), str(uuid.uuid4())
    # a record no consumer can read yet: set aside by both consumers of OrderPlaced
    await _produce(bootstrap, "orders.events", poison_order,
                   with_schema_version(valid_order_placed(poison_order), 99))
    await eventually(lambda: _dead_letters(bootstrap, poison_order, 2), what="dead letters")

    listed = ops_json(system, "dlq", "list", "--order", poison_order)
    assert {item["consumer"] for item in listed} == {"fulfilment.reserve-stock",
                                                     "payments.orders"}
    for item in listed:
        assert "unknown schema_version 99 of OrderPlaced" in item["reason"]
        assert item["source"].startswith("orders.events/") and item["redriven_to"] is None
    table = ops(system, "dlq", "list", "--order", poison_order)
    assert "unknown schema_version 99 of OrderPlaced" in table.stdout
    assert "fulfilment.reserve-stock" in table.stdout and "orders.events.dlq[" in table.stdout

    # a valid event a consumer once set aside (say, before an upcaster was deployed), fixed now
    valid = valid_order_placed(fixed_order)
    event_id = json.loads(valid)["event_id"]
    partition = partition_for(fixed_order, DEFAULT_PARTITIONS)
    await _produce(bootstrap, "orders.events.dlq", fixed_order, valid, [
        ("dlq-reason", b"unknown schema_version 1 of OrderPlaced (the consumer predated it)"),
        ("dlq-consumer", b"fulfilment.reserve-stock"),
        ("dlq-source", f"orders.events/{partition}/0".encode())])
    [waiting] = ops_json(system, "dlq", "list", "--order", fixed_order)
    assert waiting["consumer"] == "fulfilment.reserve-stock" and waiting["event_id"] == event_id

    [redriven] = ops_json(system, "dlq", "redrive", "--order", fixed_order)
    assert redriven["to"].startswith(f"orders.events/{partition}/")
    await eventually(lambda: _applied(fulfilment_db, event_id), what="the event applied")
    [reserved] = await events_of(fulfilment_db, fixed_order)
    assert (reserved["type"], reserved["causation_id"]) == ("StockReserved", event_id)
    assert ops_json(system, "dlq", "list", "--order", fixed_order) == []
    [done] = ops_json(system, "dlq", "list", "--order", fixed_order, "--all")
    assert done["redriven_to"] == redriven["to"]
    assert ops_json(system, "dlq", "redrive", "--order", fixed_order) == []  # never twice
    copies = [r async for r in read_topic(bootstrap, "orders.events", partitions=[partition])
              if r.key == fixed_order.encode()]
    assert len(copies) == 1 and dict(copies[0].headers)["redriven-from"].startswith(
        b"orders.events.dlq/")
    assert len(ops_json(system, "dlq", "list", "--order", poison_order)) == 2  # still unfixed
