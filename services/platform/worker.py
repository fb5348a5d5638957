"""Running a service's consumer agents as a worker process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import faust

from services.platform.agents import Periodic, Subscription, worker_app
from services.platform.eventloop import use_uvloop
from services.platform.logs import configure_logging
from services.platform.runtime import prepare
from services.platform.settings import ServiceSettings

__all__ = [
    "run_worker",
]


async def _prepare(settings: ServiceSettings, migrations: Path) -> None:
    pool = await prepare(settings, migrations)
    await pool.close()


def run_worker(settings: ServiceSettings, migrations: Path, subscriptions: list[Subscription],
               periodic: list[Periodic] | None = None) -> None:
    """Apply migrations and provision topics, then run the agents and timers until stopped
    (blocks)."""
    configure_logging()
    use_uvloop()
    asyncio.run(_prepare(settings, migrations))
    app = worker_app(settings, subscriptions, periodic)
    faust.Worker(app, loglevel="INFO").execute_from_commandline()
