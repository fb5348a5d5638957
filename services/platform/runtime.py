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

from contracts.envelope import EmittingService
from services.platform.clock import Clock
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.kafka_io import provision_topics
from services.platform.settings import ServiceSettings

__all__ = ["Context", "Runtime", "emitter_of", "prepare", "service_runtime", "until_up"]
log = logging.getLogger(__name__)

until_up = tenacity.retry(stop=tenacity.stop_after_delay(60),
                          wait=tenacity.wait_exponential(max=2), reraise=True,
                          before_sleep=lambda s: log.info("waiting for infrastructure: %r",
                                                          s.outcome and s.outcome.exception()))
"""Retry a start-up step while Kafka or PostgreSQL are still coming up (one minute at most)."""


@dataclass(frozen=True)
class Context:
    """What every handler and policy of a service needs besides its connection and command:
    the clock it reads once per decision and the stamp it puts on its events."""

    clock: Clock
    emitter: EmittingService


@dataclass(frozen=True)
class Runtime:
    """What a running service holds: its settings, database pool and handler context."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    context: Context


def emitter_of(settings: ServiceSettings) -> EmittingService:
    """The stamp a service's events carry: its name and build."""
    return EmittingService(service=settings.service, build=settings.build)


async def prepare(settings: ServiceSettings, migrations: Path) -> asyncpg.Pool:
    """Open the service's pool, apply its migrations and provision the log's topics."""
    # a request waits for a connection a bounded time, then is answered 503 (not queued forever)
    pool = await until_up(create_pool)(settings.service_database_url,
                                       acquire_timeout=settings.db_acquire_timeout_ms / 1000)
    async with pool.acquire() as conn:
        await migrate(conn, [PLATFORM_MIGRATIONS, migrations])
    await until_up(provision_topics)(settings.kafka_bootstrap, settings.topic_partitions,
                                     settings.topic_replication)
    return pool


@contextlib.asynccontextmanager
async def service_runtime(settings: ServiceSettings, clock: Clock,
                          migrations: Path) -> AsyncIterator[Runtime]:
    """A prepared service runtime, closed on exit."""
    pool = await prepare(settings, migrations)
    try:
        yield Runtime(settings, pool, Context(clock, emitter_of(settings)))
    finally:
        await pool.close()
