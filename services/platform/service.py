"""A service as the plumbing sees it: its parts, and the processes it runs from them.

Each service's ``main.py`` (its composition root) describes itself once as a ``Service``; from
that description come the same processes for every service:

* the HTTP API: ``uvicorn --factory services.<name>.main:app``;
* the consumer agents: ``python -m services.<name>.main worker``;
* the rebuild of its read model from the log: ``python -m services.<name>.main rebuild``
  (prints a JSON summary).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from services.platform.agents import Periodic, Subscription
from services.platform.clock import Clock
from services.platform.clock_command import clock_for
from services.platform.db import create_pool
from services.platform.eventloop import run_on_uvloop
from services.platform.http import Refusals
from services.platform.rebuild import ReadModel, rebuild, row_counts
from services.platform.runtime import Context, emitter_of
from services.platform.service_app import Collaborators, service_app
from services.platform.settings import ServiceSettings, load_settings
from services.platform.worker import run_worker

__all__ = ["Service"]


@dataclass(frozen=True)
class Service:
    """Everything the generic processes need to know of one service."""

    name: str
    title: str
    migrations: Path
    routers: Sequence[APIRouter]
    refusals: Refusals
    read_model: ReadModel
    subscriptions: Callable[[Context], list[Subscription]]
    collaborators: Collaborators | None = None
    periodic: Callable[[Context], list[Periodic]] | None = None

    def create_app(self, settings: ServiceSettings, clock: Clock) -> FastAPI:
        """The service's API on ``settings``, taking the time from ``clock``."""
        # what its worker consumes: the lag /health reports, what queries wait for (?after=)
        consumed = self.subscriptions(Context(clock, emitter_of(settings)))
        return service_app(settings, clock, title=self.title, migrations=self.migrations,
                           routers=self.routers, refusals=self.refusals,
                           collaborators=self.collaborators, subscriptions=consumed)

    def app(self) -> FastAPI:
        """The API with settings from the environment and the system clock (uvicorn's factory)."""
        settings = load_settings(self.name)
        return self.create_app(settings, clock_for(settings))

    def main(self, argv: Sequence[str] | None = None) -> None:
        """``python -m services.<name>.main worker|rebuild``."""
        parser = argparse.ArgumentParser(prog=f"python -m services.{self.name}.main")
        parser.add_argument("command", choices=("worker", "rebuild"))
        command = parser.parse_args(argv).command
        settings = load_settings(self.name)
        if command == "worker":
            ctx = Context(clock_for(settings), emitter_of(settings))
            periodic = self.periodic(ctx) if self.periodic else []
            run_worker(settings, self.migrations, self.subscriptions(ctx), periodic)
        else:
            print(json.dumps(run_on_uvloop(self.rebuild(settings))))

    async def rebuild(self, settings: ServiceSettings) -> dict[str, Any]:
        """Drop and replay the read model; how many events were replayed, rows per table."""
        pool = await create_pool(settings.service_database_url)
        try:
            replay = await rebuild(pool, settings.kafka_bootstrap, self.read_model)
            return {"replayed_events": replay.replayed_events,
                    "skipped_records": replay.skipped_records,
                    "rows": await row_counts(pool, self.read_model)}
        finally:
            await pool.close()
