"""A bounded pool on a real PostgreSQL: waiting for a connection ends in ``PoolExhaustedError``."""

from __future__ import annotations

import time
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from services.platform.db import PoolExhaustedError, create_pool
from services.platform.health import DatabaseProbe, Limits


async def test_a_request_waits_a_bounded_time_for_a_connection(server_url: str) -> None:
    pool = await create_pool(server_url, max_size=1, acquire_timeout=0.2)
    try:
        async with pool.acquire():  # the only connection, taken
            start = time.perf_counter()
            with pytest.raises(PoolExhaustedError, match=r"within 0\.2 s"):
                await pool.fetchval("SELECT 1")
            assert time.perf_counter() - start < 1.0
            with pytest.raises(PoolExhaustedError):
                async with pool.acquire():
                    pass
        assert await pool.fetchval("SELECT 1") == 1  # given back: served again
    finally:
        await pool.close()


async def test_an_unbounded_pool_keeps_decoding_jsonb(server_url: str) -> None:
    pool = await create_pool(server_url, max_size=1)
    try:
        assert await pool.fetchval("SELECT '{\"a\": 1}'::jsonb") == {"a": 1}
    finally:
        await pool.close()


async def test_health_sees_the_database_and_its_outbox(orders_pool: asyncpg.Pool,
                                                      server_url: str) -> None:
    migrated = urlunsplit(urlsplit(server_url)._replace(path="/component_orders"))
    probe = DatabaseProbe(migrated, timeout=1.0, limits=Limits(100, 60.0, 60.0))
    try:
        database, outbox = await probe.check()
    finally:
        await probe.close()
    assert database.status == "ok" and database.latency_ms is not None
    assert outbox.status == "ok" and outbox.unpublished is not None and outbox.unpublished >= 0
