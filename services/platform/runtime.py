"""Start-up and shutdown shared by every service process: database, migrations, topics.

The relay runs as its own process (``python -m services.platform.relay <service>``), so that a
crash of the API never loses publication and the crash tests can kill it alone.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import tenacity

from contracts.envelope import Producer
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.kafka_io import provision_topics
from services.platform.settings import Settings

log = logging.getLogger(__name__)

until_up = tenacity.retry(stop=tenacity.stop_after_delay(60),
                          wait=tenacity.wait_exponential(max=2), reraise=True,
                          before_sleep=lambda s: log.info("waiting for infrastructure: %r",
                                                          s.outcome and s.outcome.exception()))
"""Retry a start-up step while Kafka or PostgreSQL are still coming up (one minute at most)."""


@dataclass(frozen=True)
class Runtime:
    """What a running service holds: its settings and database pool."""

    settings: Settings
    pool: asyncpg.Pool

    @property
    def producer(self) -> Producer:
        """The ``producer`` stamped on this service's events."""
        return Producer(service=self.settings.service, build=self.settings.build)

    async def ready(self) -> bool:
        """True when the database answers."""
        try:
            return bool(await self.pool.fetchval("SELECT true"))
        except (OSError, asyncpg.PostgresError):
            return False


async def prepare(settings: Settings, migrations: Path) -> asyncpg.Pool:
    """Open the service's pool, apply its migrations and provision the log's topics."""
    pool = await until_up(create_pool)(settings.database_url)
    async with pool.acquire() as conn:
        await migrate(conn, [PLATFORM_MIGRATIONS, migrations])
    await until_up(provision_topics)(settings.kafka_bootstrap, settings.partitions,
                                     settings.replication)
    return pool


@contextlib.asynccontextmanager
async def service_runtime(settings: Settings, migrations: Path) -> AsyncIterator[Runtime]:
    """A prepared service runtime, closed on exit."""
    pool = await prepare(settings, migrations)
    try:
        yield Runtime(settings, pool)
    finally:
        await pool.close()
