"""The system under test: real Kafka and PostgreSQL, and the services as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.platform.db import create_pool
from tests.support.infrastructure import TEST_DATA, Infrastructure, ensure_databases, infrastructure
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.integration
ORDERS_PORT, FULFILMENT_PORT = 28001, 28003


@dataclass
class System:
    """The running services and where they answer."""

    infra: Infrastructure
    processes: dict[str, ServiceProcess]
    orders_url: str = f"http://127.0.0.1:{ORDERS_PORT}"
    fulfilment_url: str = f"http://127.0.0.1:{FULFILMENT_PORT}"

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    import asyncio

    with infrastructure() as found:
        asyncio.run(ensure_databases(found))
        yield found


def _processes(infra: Infrastructure) -> dict[str, ServiceProcess]:
    env = {"KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "DATABASE_URL": infra.database_server_url,
           "CONSUMER_COMMIT_INTERVAL": "0.5"}
    logs = TEST_DATA / "logs"

    def api(service: str, port: int) -> ServiceProcess:
        return ServiceProcess(f"{service}-api", [
            "-m", "uvicorn", "--factory", f"services.{service}.api:app_from_env",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env, logs, f"http://127.0.0.1:{port}/health")

    return {
        "orders-api": api("orders", ORDERS_PORT),
        "fulfilment-api": api("fulfilment", FULFILMENT_PORT),
        "orders-relay": ServiceProcess("orders-relay", ["-m", "services.platform.relay",
                                                        "orders"], env, logs),
        "fulfilment-relay": ServiceProcess("fulfilment-relay", [
            "-m", "services.platform.relay", "fulfilment"], env, logs),
        "fulfilment-worker": ServiceProcess("fulfilment-worker", [
            "-m", "services.fulfilment.worker", "worker"], env, logs),
    }


@pytest.fixture(scope="session")
def system(infra: Infrastructure) -> Iterator[System]:
    processes = _processes(infra)
    try:
        for name in ("orders-api", "fulfilment-api"):
            processes[name].start().wait_healthy()
        for name in ("orders-relay", "fulfilment-relay", "fulfilment-worker"):
            processes[name].start()
        yield System(infra, processes)
    finally:
        for process in processes.values():
            process.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def orders_db(system: System) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(system.infra.database_url("orders"))
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fulfilment_db(system: System) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(system.infra.database_url("fulfilment"))
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
