"""Handlers, policies, projections and plumbing in-process on a real PostgreSQL server.

Each service gets a database of its own for these tests (``component_<service>``), created and
migrated once per session; each test works in one transaction that is rolled back at the end, so
tests never see each other's rows and leave nothing behind. No Kafka is needed: what reaches
Kafka is the relay's business, tested in ``tests/integration``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio

from contracts.envelope import EmittingService
from deploy.infrastructure import database_server
from services.platform.clock import ControllableClock
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.runtime import Context

REPO = Path(__file__).resolve().parents[2]
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with database_server() as url:
        yield url


async def _fresh_database(server_url: str, service: str) -> str:
    name = f"component_{service}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


async def _migrated_pool(server_url: str, service: str) -> asyncpg.Pool:
    pool = await create_pool(await _fresh_database(server_url, service), max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, [PLATFORM_MIGRATIONS, REPO / "services" / service / "migrations"])
    return pool


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def orders_pool(server_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await _migrated_pool(server_url, "orders")
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fulfilment_pool(server_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await _migrated_pool(server_url, "fulfilment")
    yield pool
    await pool.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def payments_pool(server_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await _migrated_pool(server_url, "payments")
    yield pool
    await pool.close()


async def _rolled_back(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest_asyncio.fixture(loop_scope="session")
async def orders_conn(orders_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the orders database inside a transaction rolled back after the test."""
    async for conn in _rolled_back(orders_pool):
        yield conn


@pytest_asyncio.fixture(loop_scope="session")
async def fulfilment_conn(fulfilment_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the fulfilment database inside a transaction rolled back after the test."""
    async for conn in _rolled_back(fulfilment_pool):
        yield conn


@pytest_asyncio.fixture(loop_scope="session")
async def payments_conn(payments_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the payments database inside a transaction rolled back after the test."""
    async for conn in _rolled_back(payments_pool):
        yield conn


@pytest.fixture
def clock() -> ControllableClock:
    return ControllableClock(START)


def context(clock: ControllableClock, service: str) -> Context:
    """The handlers' collaborators: a controllable clock and a test build's stamp."""
    return Context(clock, EmittingService(service=service, build="component-test"))
