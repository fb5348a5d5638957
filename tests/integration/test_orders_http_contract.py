"""Clear refusals, idempotent retries and consistent decisions on the orders API."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from contracts.envelope import EmittingService
from contracts.orders import OrderBlocked
from deploy.system import bearer
from services.orders.handlers import ORDERS
from services.orders.projections import project
from services.platform.eventstore import ConcurrencyError, Metadata, Stream, append, load_stream
from tests.support.orders import events_of, events_of_buyer, order_body
from tests.support.waiting import stack_now

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

OUTSIDE = "deliveries outside France: contact the seller"
OPS = bearer("ops")


def address(**overrides: str) -> dict[str, str]:
    return {"recipient": "Jeanne Martin", "street": "12 rue des Vignes", "postcode": "66300",
            "city": "Thuir", **overrides}


@pytest.mark.parametrize(("overrides", "field", "reason"), [
    ({"delivery_address": address(postcode="97400")}, "delivery_address.postcode", OUTSIDE),
    ({"delivery_address": address(postcode="98000")}, "delivery_address.postcode", OUTSIDE),
    ({"delivery_address": address(country="BE", postcode="1000")},
     "delivery_address.country", OUTSIDE),
    ({"delivery_address": address(postcode="7500²")}, "delivery_address.postcode", OUTSIDE),
    ({"delivery_address": address(postcode="７５００１")}, "delivery_address.postcode", OUTSIDE),
    ({"delivery_address": address(recipient="Jeanne\u0000Martin")}, "delivery_address.recipient",
     "Value error, must not contain control characters"),
    ({"delivery_address": address(street="BP 32")}, "delivery_address.street",
     "no delivery to temporary residences, P.O. boxes or poste restante (found 'BP 32')"),
    ({"delivery_address": address(street_extra="Camping des Flots Bleus")},
     "delivery_address.street_extra",
     "no delivery to temporary residences, P.O. boxes or poste restante (found 'Camping')"),
    ({"delivery_address": address(street="Poste restante")}, "delivery_address.street",
     "no delivery to temporary residences, P.O. boxes or poste restante "
     "(found 'Poste restante')"),
    ({"lines": [{"sku": "MUSCAT-RIVESALTES-2023", "quantity": 0}]}, "lines[0].quantity",
     "Input should be greater than or equal to 1"),
    ({"lines": []}, "lines", "List should have at least 1 item after validation, not 0"),
    ({"delivery_method": "drone"}, "delivery_method", "Input should be 'standard' or 'express'"),
    ({"card_number": "4970101122334455"}, "card_number", "Extra inputs are not permitted"),
])
async def test_invalid_order_is_refused_with_field_and_reason_and_records_nothing(
        http: httpx.AsyncClient, system, orders_db: asyncpg.Pool, overrides, field,
        reason) -> None:
    body = order_body(**overrides)

    response = await http.post(f"{system.orders_url}/orders", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert {"field": field, "reason": reason} in problem["errors"]
    assert problem["status"] == 422 and problem["type"].startswith("https://")
    assert "Traceback" not in response.text
    assert await events_of_buyer(orders_db, body["buyer_id"]) == 0


@pytest.mark.parametrize(("overrides", "field", "reason"), [
    ({"accepted_terms_version": "CGV-2019"}, "accepted_terms_version",
     "the current terms are CGV-2026-01; accept them to order"),
    ({"lines": [{"sku": "CHATEAU-INCONNU", "quantity": 1}]}, "lines[0].sku",
     "unknown product CHATEAU-INCONNU"),
    ({"accepted_total_cents": 1}, "accepted_total_cents",
     "the total in force is 8710 cents (7720 for the products, 990 for the delivery); accept it "
     "to order"),
])
async def test_an_order_that_does_not_match_the_current_offer_is_a_conflict(
        http: httpx.AsyncClient, system, orders_db: asyncpg.Pool, overrides, field,
        reason) -> None:
    # well formed (the schema accepts it), but the terms or the catalogue say otherwise
    body = order_body(**overrides)

    response = await http.post(f"{system.orders_url}/orders", json=body)

    assert response.status_code == 409
    assert {"field": field, "reason": reason} in response.json()["errors"]
    assert await events_of_buyer(orders_db, body["buyer_id"]) == 0


async def test_malformed_json_gets_a_problem_not_a_stack_trace(http, system) -> None:
    response = await http.post(f"{system.orders_url}/orders", content=b"{not json",
                                headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["title"] == "The request is invalid"


async def test_same_idempotency_key_and_body_replays_the_response(http, system,
                                                                  orders_db) -> None:
    body, key = order_body(), str(uuid.uuid4())

    first = await http.post(f"{system.orders_url}/orders", json=body,
                            headers={"Idempotency-Key": key})
    again = await http.post(f"{system.orders_url}/orders", json=body,
                            headers={"Idempotency-Key": key})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert await events_of_buyer(orders_db, body["buyer_id"]) == 1


async def test_concurrent_retries_with_one_key_record_one_order(http, system, orders_db) -> None:
    body, key = order_body(), str(uuid.uuid4())

    responses = await asyncio.gather(*[
        http.post(f"{system.orders_url}/orders", json=body, headers={"Idempotency-Key": key})
        for _ in range(5)])

    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert await events_of_buyer(orders_db, body["buyer_id"]) == 1


async def test_same_idempotency_key_with_another_body_is_refused(http, system,
                                                                 orders_db) -> None:
    body, key = order_body(), str(uuid.uuid4())
    await http.post(f"{system.orders_url}/orders", json=body, headers={"Idempotency-Key": key})
    other = {**body, "delivery_method": "express"}

    response = await http.post(f"{system.orders_url}/orders", json=other,
                               headers={"Idempotency-Key": key})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "Idempotency-Key", "reason": "already used for another request"}]
    assert await events_of_buyer(orders_db, body["buyer_id"]) == 1


async def test_two_concurrent_blocks_one_succeeds_the_other_gets_409(http, system,
                                                                     orders_db) -> None:
    order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    url = f"{system.orders_url}/orders/{order['order_id']}/block"

    responses = await asyncio.gather(
        http.post(url, json={"reason": "non_payment"}, headers=OPS),
        http.post(url, json={"reason": "incorrect_address"}, headers=OPS))

    assert sorted(r.status_code for r in responses) == [200, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert refused.headers["content-type"] == "application/problem+json"
    events = await events_of(orders_db, order["order_id"])
    assert [e["type"] for e in events] == ["OrderPlaced", "OrderBlocked"]


async def test_appends_decided_on_the_same_state_cannot_both_be_recorded(
        http, system, orders_db: asyncpg.Pool) -> None:
    order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    metadata = Metadata(EmittingService(service="orders", build="test"), stack_now(),
                        uuid.uuid4())
    async with orders_db.acquire() as first, orders_db.acquire() as second, first.transaction():
        stream_seen_by_first = await load_stream(first, order["order_id"])
        async with second.transaction():
            stream_seen_by_second = await load_stream(second, order["order_id"])
            await block(second, stream_seen_by_second, "non_payment", metadata)
        with pytest.raises(ConcurrencyError):
            await block(first, stream_seen_by_first, "incorrect_address", metadata)

    events = await events_of(orders_db, order["order_id"])
    assert [e["payload"].get("reason") for e in events[1:]] == ["non_payment"]


async def test_unknown_order_is_a_404_problem(http, system) -> None:
    response = await http.get(f"{system.orders_url}/orders/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["title"] == "Order not found"


async def block(conn: asyncpg.Connection, stream: Stream, reason: str, metadata: Metadata):
    """Append an ``OrderBlocked`` decided on ``stream`` and project it, as the write path does
    (the read model must stay what the log says, or a later rebuild test would see the gap)."""
    event = OrderBlocked(reason=reason)  # type: ignore[arg-type]
    envelopes = await append(conn, stream, [event], ORDERS.fold(ORDERS.load(stream), [event]),
                             metadata)
    for envelope in envelopes:
        await project(conn, envelope, envelope.event())
    return envelopes
