"""Admission control: beyond its slots a process answers 503 at once, and health still answers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY

from services.platform.admission import AdmissionControl
from services.platform.clock import SystemClock
from services.platform.db import PoolExhaustedError
from services.platform.service_app import service_app
from services.platform.settings import ServiceSettings, load_settings

WAIT = 0.05
SETTLE = 0.5


def _app(gate: asyncio.Event, *, limit: int = 2, wait: float = WAIT) -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await gate.wait()
        return {"done": "yes"}

    @app.get("/broken")
    async def broken() -> dict[str, str]:
        raise RuntimeError("boom")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(AdmissionControl, service="unit", limit=limit, wait=wait,
                       exempt={"/health"}.__contains__)
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://unit")


async def _timed_get(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = await client.get(path)
    return response, time.perf_counter() - start


def _count(outcome: str) -> float:
    return REGISTRY.get_sample_value("http_admissions_total",
                                     {"service": "unit", "outcome": outcome}) or 0.0


async def test_beyond_its_slots_the_excess_is_shed_at_once_with_retry_after() -> None:
    gate = asyncio.Event()
    shed_before, admitted_before = _count("shed"), _count("admitted")
    async with _client(_app(gate)) as client:
        calls = [asyncio.create_task(_timed_get(client, "/slow")) for _ in range(10)]
        await asyncio.sleep(SETTLE)  # the excess has had its wait, the admitted are held
        shed = [call.result() for call in calls if call.done()]
        health = await client.get("/health")  # bypasses: the two slots are still taken
        gate.set()
        answered = await asyncio.gather(*calls)

    assert len(shed) == 8
    assert all(r.status_code == 503 for r, _ in shed)
    assert all(WAIT <= elapsed < SETTLE for _, elapsed in shed)
    assert all(r.headers["Retry-After"] == "1" for r, _ in shed)
    assert all(r.headers["content-type"] == "application/problem+json" for r, _ in shed)
    assert shed[0][0].json()["type"].endswith("/overloaded")
    assert shed[0][0].json()["status"] == 503
    assert sorted(r.status_code for r, _ in answered) == [200] * 2 + [503] * 8
    assert health.status_code == 200
    assert (_count("shed") - shed_before, _count("admitted") - admitted_before) == (8, 2)


async def test_a_request_waits_for_a_slot_freed_within_its_bound() -> None:
    gate = asyncio.Event()
    async with _client(_app(gate, limit=1, wait=5.0)) as client:
        first = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        gate.set()
        assert [(await first).status_code, (await second).status_code] == [200, 200]


async def test_a_failed_request_gives_its_slot_back() -> None:
    gate = asyncio.Event()
    gate.set()
    async with _client(_app(gate, limit=1)) as client:
        assert (await client.get("/broken")).status_code == 500
        assert (await client.get("/slow")).status_code == 200


async def test_wait_zero_sheds_without_waiting() -> None:
    gate = asyncio.Event()
    async with _client(_app(gate, limit=1, wait=0.0)) as client:
        held = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        assert (await client.get("/slow")).status_code == 503
        gate.set()
        assert (await held).status_code == 200


# The same, through the app every service serves.

def _service_app(gate: asyncio.Event, tmp_path: Path) -> FastAPI:
    router = APIRouter()

    @router.get("/slow")
    async def slow() -> dict[str, str]:
        await gate.wait()
        return {"done": "yes"}

    @router.get("/no-connection")
    async def no_connection() -> dict[str, str]:
        raise PoolExhaustedError("no database connection within 2 s")

    settings = ServiceSettings(service="unit-service", max_in_flight=1, admission_wait_ms=10)
    return service_app(settings, SystemClock(), title="unit", migrations=tmp_path,
                       routers=[router], refusals={})


async def test_every_service_app_sheds_and_keeps_its_operational_routes_open(
        tmp_path: Path) -> None:
    gate = asyncio.Event()
    app = _service_app(gate, tmp_path)
    async with _client(app) as client:
        held = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.05)
        shed = await client.get("/slow")
        live = await client.get("/health/live")
        docs = await client.get("/openapi.json")
        gate.set()
        assert (await held).status_code == 200
    assert shed.status_code == 503 and shed.headers["Retry-After"] == "1"
    assert live.status_code == 200 and docs.status_code == 200


async def test_no_database_connection_in_time_is_a_503_not_a_500(tmp_path: Path) -> None:
    async with _client(_service_app(asyncio.Event(), tmp_path)) as client:
        response = await client.get("/no-connection")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["content-type"] == "application/problem+json"
    assert "no database connection" in response.json()["detail"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/slow", "/no-connection"])
def test_every_operation_documents_its_503(path: str, tmp_path: Path) -> None:
    spec = _service_app(asyncio.Event(), tmp_path).openapi()
    answer = spec["paths"][path]["get"]["responses"]["503"]
    assert "application/problem+json" in answer["content"]
    assert answer["headers"]["Retry-After"]["required"] is True
    assert "503" not in spec["paths"]["/metrics"]["get"]["responses"]  # never shed


def test_the_bounds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_IN_FLIGHT", "8")
    monkeypatch.setenv("ADMISSION_WAIT_MS", "250")
    monkeypatch.setenv("DB_ACQUIRE_TIMEOUT_MS", "500")
    settings = load_settings("orders")
    assert (settings.max_in_flight, settings.admission_wait_ms,
            settings.db_acquire_timeout_ms) == (8, 250, 500)
    monkeypatch.setenv("MAX_IN_FLIGHT", "0")
    with pytest.raises(ValueError, match="max_in_flight"):
        load_settings("orders")


async def test_commands_have_their_own_smaller_bound_and_leave_reads_their_slots() -> None:
    gate = asyncio.Event()
    app = FastAPI()

    @app.post("/command")
    async def command() -> dict[str, str]:
        await gate.wait()
        return {"done": "yes"}

    @app.get("/read")
    async def read() -> dict[str, str]:
        return {"read": "yes"}

    app.add_middleware(AdmissionControl, service="unit", limit=8, command_limit=1, wait=WAIT,
                       exempt=set().__contains__)
    async with _client(app) as client:
        commands = [asyncio.create_task(client.post("/command")) for _ in range(3)]
        await asyncio.sleep(SETTLE)
        reads = await asyncio.gather(*(client.get("/read") for _ in range(4)))
        gate.set()
        answered = await asyncio.gather(*commands)

    assert sorted(r.status_code for r in answered) == [200, 503, 503]
    assert {r.status_code for r in reads} == {200}
