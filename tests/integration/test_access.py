"""Who may call what, for every route of every service, generated from the apps' route tables.

A new route that declares no roles fails ``test_every_route_declares_the_roles_it_admits``;
every declared route is then called for real, without a token, with tokens that must not verify,
and with each role it does not admit.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from deploy.system import TEST_AUTH, TEST_PORTS, bearer
from services.fulfilment.main import SERVICE as FULFILMENT
from services.orders.main import SERVICE as ORDERS
from services.payments.main import SERVICE as PAYMENTS
from services.platform.auth import ROLES, Allow, generate_keys, mint
from services.platform.clock import SystemClock
from services.platform.service import Service
from services.platform.settings import AuthSettings, ServiceSettings
from services.refunds.main import SERVICE as REFUNDS
from tests.integration.conftest import System
from tests.support.orders import events_of_buyer, order_body
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
OPEN = {"/health", "/health/live", "/health/ready", "/openapi.json", "/docs",
        "/docs/oauth2-redirect", "/redoc",
        "/payments/notifications",  # the bank's: authenticated by its RSA signature
        "/payments/return"}  # where the bank sends the buyer's browser back: shows nothing


@dataclass(frozen=True)
class Endpoint:
    service: str
    method: str
    path: str
    roles: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"


def _app(service: Service) -> FastAPI:
    return service.create_app(ServiceSettings(service=service.name), SystemClock())


def _declared_roles(route: APIRoute) -> tuple[str, ...] | None:
    found = [d.call.__self__.roles for d in _flat(route.dependant)
             if isinstance(getattr(d.call, "__self__", None), Allow)]
    return found[0] if found else None


def _flat(dependant):  # type: ignore[no-untyped-def]
    for sub in dependant.dependencies:
        yield sub
        yield from _flat(sub)


def _routes() -> list[tuple[str, APIRoute]]:
    """Every route a service's app serves: its own (``/metrics``) and its routers'."""
    found = []
    for service in (ORDERS, PAYMENTS, FULFILMENT, REFUNDS):
        routes = [*_app(service).routes, *(r for router in service.routers for r in router.routes)]
        found += [(service.name, route) for route in routes
                  if isinstance(route, APIRoute) and route.path not in OPEN]
    return found


ENDPOINTS = [Endpoint(name, method, route.path, _declared_roles(route) or ())
             for name, route in _routes() for method in sorted(route.methods)]


@pytest.mark.asyncio(loop_scope="session")
async def test_every_route_declares_the_roles_it_admits() -> None:
    undeclared = [f"{name} {route.path}" for name, route in _routes()
                  if _declared_roles(route) is None]
    assert undeclared == []
    assert len(ENDPOINTS) >= 8


def _url(endpoint: Endpoint, placed: dict) -> str:
    path = re.sub(r"\{order_id\}", placed["order_id"], endpoint.path)
    path = re.sub(r"\{buyer_id\}", placed["buyer_id"], path)
    path = re.sub(r"\{sku\}", "RIVESALTES-AMBRE-2012", path)
    path = re.sub(r"\{refund_id\}", "7d0c1c52-0000-5000-8000-000000000000", path)
    return f"http://127.0.0.1:{TEST_PORTS[endpoint.service]}{path}"


BODIES = {
    "/orders": lambda placed: order_body(),
    "/orders/{order_id}/block": lambda placed: {"reason": "non_payment"},
    "/orders/{order_id}/unblock": lambda placed: {"resolution": "resolved"},
    "/buyers/{buyer_id}/rectification": lambda placed: {"order_id": placed["order_id"],
                                                        "phone": "+33 6 00 00 00 00"},
    "/payments/{order_id}/disputes": lambda placed: {"reason": "chargeback"},
    "/payments/{order_id}/disputes/close": lambda placed: {"resolution": "settled"},
    "/payments/{order_id}/verification": lambda placed: {"documents": ["identity_document"]},
    "/payments/{order_id}/verification/outcome": lambda placed: {"outcome": "accepted"},
    "/shipments/{order_id}": lambda placed: {"carrier": "Colissimo", "tracking_number": "6A1"},
    "/deliveries/{order_id}": lambda placed: {"outcome": "delivered",
                                              "at": "2026-05-12T10:00:00+02:00"},
    "/returns/{order_id}": lambda placed: {"complete": True},
    "/deadline-suspensions": lambda placed: {"first_day": "2026-05-12", "days": 1,
                                             "reason": "strike"},
    "/orders/{order_id}/performance-request": lambda placed: {"perform_by": "2026-06-30"},
    "/claims/{order_id}": lambda placed: {"kind": "return_request"},
    "/claims/{order_id}/answer": lambda placed: {"kind": "return_request", "answer": "ok"},
    "/orders/{order_id}/withdrawal": lambda placed: {},
    "/orders/{order_id}/withdrawal/proof-of-dispatch": lambda placed: {
        "dispatched_on": "2026-05-12"},
    "/legal-interest-rates": lambda placed: {"half_year": "2031-S1", "percent": "4.2",
                                             "source": "arrêté (access test)"},
}


async def _call(http: httpx.AsyncClient, endpoint: Endpoint, placed: dict,
                headers: dict[str, str]) -> httpx.Response:
    body = BODIES.get(endpoint.path)
    return await http.request(endpoint.method, _url(endpoint, placed), headers=headers,
                              json=body(placed) if body else None)


def _foreign_issuer(tmp: Path) -> dict[str, str]:
    private, public = generate_keys(tmp)
    other = AuthSettings(auth_private_key_file=private, auth_public_key_file=public,
                         auth_issuer=TEST_AUTH.auth_issuer, auth_audience=TEST_AUTH.auth_audience)
    return {"Authorization": f"Bearer {mint(other, 'ops')}"}


def _token(**changes: str) -> dict[str, str]:
    settings = TEST_AUTH.model_copy(update=changes)
    return {"Authorization": f"Bearer {mint(settings, 'ops')}"}


def _bad_credentials(tmp: Path) -> dict[str, dict[str, str]]:
    expired = mint(TEST_AUTH, "ops", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    return {
        "no token": {},
        "not a bearer token": {"Authorization": "Basic b3BzOm9wcw=="},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "wrong audience": _token(auth_audience="another-system"),
        "wrong issuer": _token(auth_issuer="someone-else"),
        "signed by another key": _foreign_issuer(tmp),
    }


@pytest.fixture
async def placed(http: httpx.AsyncClient, system: System) -> dict:
    response = await http.post(f"{system.orders_url}/orders", json=order_body())
    assert response.status_code == 201, response.text
    order_id = response.json()["order_id"]
    for url in (f"{system.payments_url}/payments/{order_id}",  # the reactions are recorded,
                f"{system.fulfilment_url}/reservations/{order_id}"):  # so counts stay put
        await eventually(lambda url=url: _found(http, url), what=url)
    return response.json()


async def _found(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(url)).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_without_valid_credentials_every_route_answers_401(
        endpoint: Endpoint, placed: dict, http: httpx.AsyncClient, tmp_path: Path) -> None:
    for what, headers in _bad_credentials(tmp_path).items():
        async with httpx.AsyncClient(timeout=30) as anonymous:
            response = await _call(anonymous, endpoint, placed, headers)
        assert response.status_code == 401, (what, response.text)
        assert response.headers["content-type"] == "application/problem+json", what
        assert response.headers["www-authenticate"] == "Bearer", what
        assert "Traceback" not in response.text


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
async def test_a_role_a_route_does_not_admit_gets_403_and_records_nothing(
        endpoint: Endpoint, placed: dict, system: System) -> None:
    refused_roles = [role for role in ROLES if role not in endpoint.roles]
    buyer_events = await _events(system, placed)
    for role in refused_roles:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await _call(client, endpoint, placed, bearer(role))
        assert response.status_code == 403, (role, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert await _events(system, placed) == buyer_events


async def _events(system: System, placed: dict) -> dict[str, int]:
    """How many events each service recorded on the order."""
    import asyncpg

    counts = {}
    for service in ("orders", "payments", "fulfilment", "refunds"):
        conn = await asyncpg.connect(system.infra.database_url(service))
        try:
            counts[service] = int(await conn.fetchval(
                "SELECT count(*) FROM events WHERE order_id = $1", placed["order_id"]))
        finally:
            await conn.close()
    return counts


async def test_a_buyer_sees_their_own_order_and_not_anothers(placed: dict,
                                                             system: System) -> None:
    url = f"{system.orders_url}/orders/{placed['order_id']}"
    async with httpx.AsyncClient(timeout=30) as client:
        own = await client.get(url, headers=bearer("buyer", placed["buyer_id"]))
        other = await client.get(url, headers=bearer("buyer", "buyer-someone-else"))
    assert own.status_code == 200 and own.json() == placed
    assert other.status_code == 404  # not 403: ids of other buyers' orders do not leak
    assert other.json()["title"] == "Order not found"


async def test_a_buyer_orders_in_their_own_name_only(system: System, orders_db) -> None:
    body = order_body()
    async with httpx.AsyncClient(timeout=30) as client:
        refused = await client.post(f"{system.orders_url}/orders", json=body,
                                    headers=bearer("buyer", "buyer-someone-else"))
        accepted = await client.post(f"{system.orders_url}/orders", json=body,
                                     headers=bearer("buyer", body["buyer_id"]))
    assert refused.status_code == 403
    assert accepted.status_code == 201
    assert await events_of_buyer(orders_db, body["buyer_id"]) == 1
