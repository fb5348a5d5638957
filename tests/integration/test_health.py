"""Health against the running system: every service reports its database, Kafka, consumer lag and
outbox; liveness and readiness answer; a stopped worker shows as lag, the API still serving."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from deploy.processes import ServiceProcess
from deploy.system import SERVICES, TEST_PORTS
from tests.integration.conftest import System
from tests.support.orders import order_body
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


def _url(service: str) -> str:
    return f"http://127.0.0.1:{TEST_PORTS[service]}"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def anonymous() -> AsyncIterator[httpx.AsyncClient]:
    """A client without a token: health is open to orchestrators."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def _report(client: httpx.AsyncClient, service: str) -> dict[str, Any]:
    response = await client.get(f"{_url(service)}/health")
    assert response.status_code == 200, response.text  # the database is up: always 200
    report: dict[str, Any] = response.json()
    return report


async def _all_ok(client: httpx.AsyncClient, service: str) -> dict[str, Any] | None:
    report = await _report(client, service)
    return report if report["status"] == "ok" else None


@pytest.mark.parametrize("service", SERVICES)
async def test_health_reports_every_dependency_of_every_service(
        service: str, system: System, anonymous: httpx.AsyncClient) -> None:
    # other tests may leave a little lag behind them: the report settles to ok
    report = await eventually(lambda: _all_ok(anonymous, service), what=f"{service} ok")

    checks = report["checks"]
    assert report["service"] == service
    assert set(checks) == {"database", "kafka", "consumers", "outbox"}
    assert {name: check["status"] for name, check in checks.items()} == dict.fromkeys(checks, "ok")
    assert checks["database"]["latency_ms"] >= 0 and checks["kafka"]["latency_ms"] >= 0
    assert checks["consumers"]["groups"][f"{service}-consumers"]["lag"] >= 0
    assert checks["outbox"]["unpublished"] >= 0


@pytest.mark.parametrize("service", SERVICES)
async def test_liveness_and_readiness_answer(service: str, system: System,
                                             anonymous: httpx.AsyncClient) -> None:
    live = await anonymous.get(f"{_url(service)}/health/live")
    ready = await anonymous.get(f"{_url(service)}/health/ready")

    assert (live.status_code, live.json()) == (200, {"service": service, "status": "ok"})
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["status"] == "ok"


@pytest.fixture
def fulfilment_worker_stopped(system: System) -> Iterator[ServiceProcess]:
    """The fulfilment worker is stopped for the test and running again after it."""
    system["fulfilment-worker"].stop()
    yield system["fulfilment-worker"]
    if not system["fulfilment-worker"].running:
        system["fulfilment-worker"].start()


async def _lagging(client: httpx.AsyncClient) -> dict[str, Any] | None:
    group = (await _report(client, "fulfilment"))["checks"]["consumers"]["groups"][
        "fulfilment-consumers"]
    return group if group["lag"] >= 1 and group["oldest_unprocessed_age_s"] is not None else None


async def _caught_up(client: httpx.AsyncClient) -> bool:
    groups = (await _report(client, "fulfilment"))["checks"]["consumers"]["groups"]
    return groups["fulfilment-consumers"]["lag"] == 0


async def test_a_stopped_worker_shows_as_lag_while_the_api_keeps_serving(
        http: httpx.AsyncClient, system: System, anonymous: httpx.AsyncClient,
        fulfilment_worker_stopped: ServiceProcess) -> None:
    placed = await http.post(f"{system.orders_url}/orders", json=order_body())
    assert placed.status_code == 201, placed.text

    group = await eventually(lambda: _lagging(anonymous), what="fulfilment lag seen")
    assert 0 <= group["oldest_unprocessed_age_s"] < 120

    fulfilment_worker_stopped.start()
    await eventually(lambda: _caught_up(anonymous), timeout=90, what="fulfilment caught up")
