"""Erasure that leaves the proof intact, on real Kafka and PostgreSQL.

A buyer orders; their name and street are readable through the API and nowhere in clear in the
log. The buyer asks for erasure: afterwards every topic, every table of every database and every
read model (also after a rebuild) is searched for the name and street in clear, and nothing is
found — while ``verify`` still passes and amounts and dates stay.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest

from contracts.personal import ERASED
from deploy.system import bearer
from tests.integration.conftest import System
from tests.support.in_clear import found_in_databases, found_in_topics
from tests.support.lifecycle import clock, confirmed_order, run_verify, shipped_and_delivered
from tests.support.orders import events_of, order_body, published_records
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def a_buyer() -> dict:
    tag = uuid.uuid4().hex[:10]
    return order_body(email=f"zoe.{tag}@example.org", delivery_address={
        "recipient": f"Zoé Effacée-{tag}", "street": f"7 rue des Archives-{tag}",
        "postcode": "66300", "city": "Thuir"})


def rebuild(system: System, service: str) -> None:
    result = subprocess.run([sys.executable, "-m", f"services.{service}.main", "rebuild"],
                            env={**system[f"{service}-api"].env, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


async def test_erasure_leaves_no_personal_field_in_clear_anywhere_and_the_proof_intact(
        http: httpx.AsyncClient, system: System, orders_db: asyncpg.Pool,
        fulfilment_db: asyncpg.Pool) -> None:
    body = a_buyer()
    personal = [body["delivery_address"]["recipient"], body["delivery_address"]["street"],
                body["email"]]
    orders = [(await http.post(f"{system.orders_url}/orders", json=body)).json()
              for _ in range(2)]
    order_ids = [order["order_id"] for order in orders]
    for order_id in order_ids:  # fulfilment has consumed the orders
        await eventually(lambda order_id=order_id: events_of(fulfilment_db, order_id))
    bootstrap, server = system.infra.kafka_bootstrap, system.infra.database_server_url

    # what the buyer and the shop write about an order names the buyer too
    waiting = await _claims_naming_the_buyer(http, system, order_ids[0], personal[0])

    # the fields are readable through the API, and in clear nowhere in the log or the tables
    assert orders[0]["delivery_address"]["recipient"] == personal[0]
    assert waiting["detail"] == f"{personal[0]} again: any news?"
    assert await found_in_topics(bootstrap, [*personal, body["buyer_id"]]) == {body["buyer_id"]}
    assert await found_in_databases(server, personal) == {}

    erasure = await http.post(f"{system.orders_url}/buyers/{body['buyer_id']}/erasure",
                              headers=bearer("ops"))
    assert erasure.status_code == 200, erasure.text
    assert sorted(erasure.json()["order_ids"]) == sorted(order_ids)
    for order_id in order_ids:
        await eventually(lambda order_id=order_id: _erasure_published(bootstrap, order_id))

    for service in ("orders", "payments", "fulfilment"):
        rebuild(system, service)
    assert await found_in_topics(bootstrap, personal) == set()
    assert await found_in_databases(server, personal) == {}
    export = await http.get(f"{system.orders_url}/buyers/{body['buyer_id']}/personal-data",
                            headers=bearer("ops"))
    for order, shown in zip(orders, export.json()["orders"], strict=True):
        assert shown["delivery_address"]["recipient"] == shown["email"] == ERASED
        assert (shown["total_cents"], shown["placed_at"], shown["lines"]) == (
            order["total_cents"], order["placed_at"], order["lines"])
    claims = (await http.get(f"{system.fulfilment_url}/claims", headers=bearer("ops"))).json()
    [erased] = [claim for claim in claims if claim["order_id"] == order_ids[0]]
    assert erased["detail"] == ERASED
    code, report = run_verify(system, *order_ids)
    assert code == 0, json.dumps(report)
    assert found_in_logs(system, [*personal, "eyJ"]) == {}


async def test_words_posted_about_an_order_fulfilment_never_heard_of_make_no_key(
        http: httpx.AsyncClient, system: System, orders_db: asyncpg.Pool) -> None:
    # given an order id fulfilment never heard of
    order_id = f"no-such-order-{uuid.uuid4().hex[:10]}"
    # when words are posted about it
    posted = await http.post(f"{system.fulfilment_url}/claims/{order_id}",
                             json={"kind": "inquiry", "detail": "Jean Dupont: where is it?"})
    answered = await http.post(f"{system.fulfilment_url}/claims/{order_id}/answer",
                               headers=bearer("ops"), json={"kind": "inquiry", "answer": "hi"})
    # then both are refused, and no key was made for them
    assert (posted.status_code, answered.status_code) == (409, 409), posted.text
    assert await orders_db.fetchval("SELECT count(*) FROM personal_keys WHERE subject = $1",
                                    f"claims:{order_id}") == 0


async def _claims_naming_the_buyer(http: httpx.AsyncClient, system: System, order_id: str,
                                   name: str) -> dict:
    """A question naming the buyer, the shop's answer naming them, and a second question
    left waiting: the waiting one as ``GET /claims`` lists it."""
    claims = f"{system.fulfilment_url}/claims/{order_id}"
    for asked, answer in ((f"{name} here: where is my order?", f"Dear {name}, soon."),
                          (f"{name} again: any news?", None)):
        posted = await http.post(claims, json={"kind": "inquiry", "detail": asked})
        assert posted.status_code == 201, posted.text
        if answer:
            answered = await http.post(f"{claims}/answer", headers=bearer("ops"),
                                       json={"kind": "inquiry", "answer": answer})
            assert answered.json()[0]["answer"] == answer, answered.text
    listed = (await http.get(f"{system.fulfilment_url}/claims", headers=bearer("ops"))).json()
    [waiting] = [claim for claim in listed if claim["order_id"] == order_id]
    return waiting


async def test_erasure_waits_for_a_paid_order_to_be_delivered_then_the_worker_erases_it(
        http: httpx.AsyncClient, system: System) -> None:
    # given a confirmed order, not shipped yet
    order_id = await confirmed_order(http, system)
    url = f"{system.orders_url}/orders/{order_id}"
    order = (await http.get(url, headers=bearer("ops"))).json()
    # when its buyer asks for erasure
    erasure = await http.post(f"{system.orders_url}/buyers/{order['buyer_id']}/erasure",
                              headers=bearer("ops"))
    # then it is deferred: the data stays readable for the delivery, the request recorded
    assert erasure.status_code == 202, erasure.text
    assert erasure.json()["awaiting"] == [order_id]
    deferred = (await http.get(url, headers=bearer("ops"))).json()
    assert deferred["personal_data"] == "held" and deferred["erasure_requested_at"]
    assert deferred["delivery_address"] == order["delivery_address"]
    # when it is delivered, then the orders worker erases it
    now = clock(system, "show")
    await shipped_and_delivered(http, system, order_id, now)

    async def erased() -> bool:
        shown = (await http.get(url, headers=bearer("ops"))).json()
        return shown["personal_data"] == "erased" and shown["email"] == ERASED

    await eventually(erased, what="the delivered order's buyer data erased")


def found_in_logs(system: System, needles: list[str]) -> dict[str, set[str]]:
    """Which of ``needles`` (personal fields, the start of every JWT) a process logged."""
    found = {}
    for name, process in system.processes.items():
        text = process.log_path.read_text(errors="replace")
        if hits := {needle for needle in needles if needle in text}:
            found[name] = hits
    return found


async def _erasure_published(bootstrap: str, order_id: str) -> bool:
    records = await published_records(bootstrap, "orders", order_id)
    return any(record["type"] == "BuyerDataErased" for record in records)


async def test_access_rectification_and_restriction_through_the_api(
        http: httpx.AsyncClient, system: System) -> None:
    body = a_buyer()
    order = (await http.post(f"{system.orders_url}/orders", json=body)).json()
    buyer = f"{system.orders_url}/buyers/{body['buyer_id']}"

    corrected = await http.post(f"{buyer}/rectification", headers=bearer("ops"), json={
        "order_id": order["order_id"], "phone": "+33 4 68 00 00 00"})
    restricted = await http.post(f"{buyer}/restriction", headers=bearer("ops"))
    as_shop = await http.get(f"{system.orders_url}/orders/{order['order_id']}")
    own = await http.get(f"{buyer}/personal-data", headers=bearer("buyer", body["buyer_id"]))
    foreign = await http.get(f"{buyer}/personal-data", headers=bearer("buyer", "buyer-other"))

    assert corrected.status_code == 200 and corrected.json()["phone"] == "+33 4 68 00 00 00"
    assert restricted.json()["order_ids"] == [order["order_id"]]
    assert as_shop.json()["email"] == "[restricted]"
    [exported] = own.json()["orders"]
    assert (exported["email"], exported["phone"]) == (body["email"], "+33 4 68 00 00 00")
    assert exported["personal_data"] == "restricted"
    assert foreign.status_code == 404
