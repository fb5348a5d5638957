"""Running a service's consumer agents as a worker process."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import faust

from services.platform.agents import Subscription, worker_app
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.kafka_io import provision_topics
from services.platform.settings import Settings


async def prepare(settings: Settings, migrations: Path) -> None:
    """Apply the service's migrations and provision the topics before consuming."""
    pool = await create_pool(settings.database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await migrate(conn, [PLATFORM_MIGRATIONS, migrations])
    finally:
        await pool.close()
    await provision_topics(settings.kafka_bootstrap, settings.partitions,
                                          settings.replication)


def run_worker(settings: Settings, migrations: Path, subscriptions: list[Subscription]) -> None:
    """Prepare the database and topics, then run the agents until stopped (blocks)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(prepare(settings, migrations))
    app = worker_app(settings, subscriptions)
    faust.Worker(app, loglevel="INFO").execute_from_commandline()
