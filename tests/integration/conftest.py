"""The system under test: real Kafka and PostgreSQL, and the services as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
import pytest_asyncio

from deploy.infrastructure import Infrastructure, ensure_databases, infrastructure
from deploy.processes import ServiceProcess
from deploy.system import TEST_PORTS, bearer, running_system
from services.platform.db import create_pool

pytestmark = pytest.mark.integration


@dataclass
class System:
    """The running services and where they answer."""

    infra: Infrastructure
    processes: dict[str, ServiceProcess]
    orders_url: str = f"http://127.0.0.1:{TEST_PORTS['orders']}"
    fulfilment_url: str = f"http://127.0.0.1:{TEST_PORTS['fulfilment']}"
    payments_url: str = f"http://127.0.0.1:{TEST_PORTS['payments']}"
    refunds_url: str = f"http://127.0.0.1:{TEST_PORTS['refunds']}"
    bank_url: str = f"http://127.0.0.1:{TEST_PORTS['bank']}"

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]


@pytest.fixture(scope="session")
def infra() -> Iterator[Infrastructure]:
    import asyncio

    with infrastructure() as found:
        asyncio.run(ensure_databases(found))
        yield found


@pytest.fixture(scope="session")
def system(infra: Infrastructure) -> Iterator[System]:
    with running_system(infra) as processes:
        yield System(infra, processes)


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
    """A client of the storefront server (role ``shop``): it places and reads orders for any
    buyer. Tests that act as another role pass their own ``Authorization`` header."""
    async with httpx.AsyncClient(timeout=30, headers=bearer("shop")) as client:
        yield client


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def payments_db(system: System) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(system.infra.database_url("payments"))
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def refunds_db(system: System) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(system.infra.database_url("refunds"))
    yield pool
    await pool.close()
