"""Read your writes on the real stack: a command's ``X-Position``, given as ``after`` to a query
of any service, is answered with the write applied — every time, under load."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from typing import Any

import httpx
import pytest

from deploy.demo import order_body
from deploy.system import bearer
from services.platform.positions import Position, decode, encode
from services.platform.settings import ApiSettings
from tests.integration.conftest import System

pytestmark = pytest.mark.integration

PAIRS = 1000
CONCURRENCY = 8
OPS = bearer("ops")


async def _send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """As a client honouring admission control: a shed request (503 ``overloaded``) is sent
    again after Retry-After. A position not reached is an answer, not a shed request."""
    while True:
        response = await http.request(method, url, **kwargs)
        if response.status_code != 503 or not response.json()["type"].endswith("/overloaded"):
            return response
        await asyncio.sleep(float(response.headers["Retry-After"]))


async def _place(http: httpx.AsyncClient, system: System,
                 key: str | None = None) -> httpx.Response:
    headers = {"Idempotency-Key": key or str(uuid.uuid4())}  # retried after a 503: once
    placed = await _send(http, "POST", f"{system.orders_url}/orders", json=order_body(),
                         headers=headers)
    assert placed.status_code == 201, placed.text
    return placed


async def _place_then_read(http: httpx.AsyncClient, system: System) -> tuple[str | None, float]:
    """One pair: place an order, read fulfilment's reservation after its position. A miss (its
    description) or None, and how long the read took."""
    placed = await _place(http, system)
    order_id = placed.json()["order_id"]
    started = time.perf_counter()
    read = await _send(http, "GET", f"{system.fulfilment_url}/reservations/{order_id}",
                       params={"after": placed.headers["X-Position"]}, headers=OPS)
    took = time.perf_counter() - started
    if read.status_code != 200 or read.json()["order_id"] != order_id or not read.json()["lines"]:
        return f"{order_id}: {read.status_code} {read.text[:200]}", took
    return None, took


async def test_place_then_read_across_services_never_misses(
        system: System, http: httpx.AsyncClient) -> None:
    """1,000 orders placed, each read at once from fulfilment after its position: 0 misses."""
    misses: list[str] = []
    reads: list[float] = []
    remaining = iter(range(PAIRS))

    async def client() -> None:
        for _ in remaining:
            miss, took = await _place_then_read(http, system)
            reads.append(took)
            if miss:
                misses.append(miss)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    reads.sort()
    print(f"\nread your writes: {PAIRS} pairs at {CONCURRENCY} clients in {elapsed:.1f} s; "
          f"read after position p50 {statistics.median(reads) * 1000:.0f} ms, "
          f"p99 {reads[int(len(reads) * 0.99)] * 1000:.0f} ms, max {reads[-1] * 1000:.0f} ms")
    assert misses == []
    assert len(reads) == PAIRS


async def test_a_command_on_an_order_is_read_back_by_its_own_and_another_service(
        system: System, http: httpx.AsyncClient) -> None:
    placed = await _place(http, system)
    order_id = placed.json()["order_id"]
    blocked = await _send(http, "POST", f"{system.orders_url}/orders/{order_id}/block",
                          json={"reason": "incorrect_address"}, headers=OPS)
    assert blocked.status_code == 200, blocked.text
    token = blocked.headers["X-Position"]
    assert [kind for kind, _ in decode(token).events] == ["OrderBlocked"]

    order = await http.get(f"{system.orders_url}/orders/{order_id}", params={"after": token})
    payment = await http.get(f"{system.payments_url}/payments/{order_id}",
                             headers={**OPS, "X-After-Position": token})
    assert order.status_code == 200 and order.json()["blocked"] is True
    assert order.json()["block_reason"] == "incorrect_address"
    assert payment.status_code == 200 and payment.json()["held"] is True


async def test_a_position_no_consumer_of_the_service_applies_is_answered_at_once(
        system: System, http: httpx.AsyncClient) -> None:
    """Refunds owes nothing for a placed order: nothing to wait for."""
    placed = await _place(http, system)
    started = time.perf_counter()
    refunds = await http.get(f"{system.refunds_url}/refunds",
                             params={"order_id": placed.json()["order_id"],
                                     "after": placed.headers["X-Position"]})
    assert refunds.status_code == 200, refunds.text
    assert time.perf_counter() - started < 1


async def test_a_retried_command_answers_with_its_first_position(
        system: System, http: httpx.AsyncClient) -> None:
    key = str(uuid.uuid4())
    body = order_body()
    first, again = [await _send(http, "POST", f"{system.orders_url}/orders", json=body,
                                headers={"Idempotency-Key": key}) for _ in range(2)]
    assert first.status_code == again.status_code == 201
    assert again.headers["X-Position"] == first.headers["X-Position"]


async def test_a_malformed_token_is_refused_with_a_422_naming_after(
        system: System, http: httpx.AsyncClient) -> None:
    placed = await _place(http, system)
    refused = await http.get(f"{system.fulfilment_url}/reservations/"
                             f"{placed.json()['order_id']}", params={"after": "not-a-token"},
                             headers=OPS)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    [error] = refused.json()["errors"]
    assert error["field"] == "after" and "X-Position" in error["reason"]


async def test_a_position_never_applied_is_a_503_after_the_bound(
        system: System, http: httpx.AsyncClient) -> None:
    """An event fulfilment applies but never saw: it waits POSITION_WAIT_MS, then says so."""
    placed = await _place(http, system)
    order_id = placed.json()["order_id"]
    await _send(http, "GET", f"{system.fulfilment_url}/reservations/{order_id}",
                params={"after": placed.headers["X-Position"]}, headers=OPS)
    unknown = encode(Position("orders", (("OrderPlaced", uuid.uuid4()),)))
    bound = ApiSettings().position_wait_ms / 1000
    started = time.perf_counter()
    answer = await http.get(f"{system.fulfilment_url}/reservations/{order_id}",
                            params={"after": unknown}, headers=OPS)
    waited = time.perf_counter() - started
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("/position-not-reached")
    assert answer.headers["Retry-After"] == "1"
    assert bound <= waited < bound + 2
