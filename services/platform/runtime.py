"""Start-up and shutdown shared by every service process: database, migrations, topics, relay."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import tenacity

from contracts.envelope import Producer
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.kafka_io import idempotent_producer, provision_topics
from services.platform.relay import Relay
from services.platform.settings import Settings

log = logging.getLogger(__name__)

_until_up = tenacity.retry(stop=tenacity.stop_after_delay(60),
                           wait=tenacity.wait_exponential(max=2), reraise=True,
                           before_sleep=lambda s: log.info("waiting for infrastructure: %r",
                                                           s.outcome and s.outcome.exception()))


@dataclass(frozen=True)
class Runtime:
    """What a running service holds: its settings, pool and producer identity."""

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


@contextlib.asynccontextmanager
async def service_runtime(settings: Settings, migrations: Path) -> AsyncIterator[Runtime]:
    """Open the database, apply migrations, provision topics and run the relay while open.

    ``RELAY_ENABLED=0`` leaves publication to a separate relay process.
    """
    pool = await _until_up(create_pool)(settings.database_url)
    async with pool.acquire() as conn:
        await migrate(conn, [PLATFORM_MIGRATIONS, migrations])
    await _until_up(provision_topics)(settings.kafka_bootstrap, settings.partitions,
                                          settings.replication)
    relay = None
    if os.environ.get("RELAY_ENABLED", "1") != "0":
        relay = asyncio.create_task(_run_relay(pool, settings), name="relay")
    try:
        yield Runtime(settings, pool)
    finally:
        if relay:
            relay.cancel()
            await asyncio.gather(relay, return_exceptions=True)
        await pool.close()


async def _run_relay(pool: asyncpg.Pool, settings: Settings) -> None:
    producer = idempotent_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        while True:
            try:
                await Relay(pool, producer, settings).run()
            except Exception:  # the relay must outlive any failure: publication only waits
                log.exception("relay failed; restarting")
                await asyncio.sleep(1)
    finally:
        await producer.stop()
