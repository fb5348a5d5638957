"""Rebuild throughput: ``python -m bench.rebuild [--service orders] [--events 200000]``.

``measure_rebuild`` makes sure the service's topic holds at least ``events`` records (for orders,
by seeding the missing ones with ``bench.seed``), then times the platform's rebuild of the read
model (``services.platform.rebuild.rebuild``, the code ``python -m services.<name>.main
rebuild`` and ``services.ops rebuild`` run) and holds the rebuilt read model against the one it
replaced, table by table. Prints JSON: events replayed, seconds (locking and waiting for the
outbox, replaying, committing) and events per second.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from bench.seed import PROFILES, seed_orders_log
from contracts.topics import SERVICES
from services.ops.kafka import extent
from services.ops.registry import service as service_of
from services.platform.db import create_pool
from services.platform.eventloop import run_on_uvloop
from services.platform.rebuild import Observer, ReadModel, compare, rebuild, snapshot
from services.platform.settings import LogSettings

__all__ = ["main", "measure_rebuild", "timed_rebuild"]

EVENTS_PER_ORDER = (sum(PROFILES) + len(PROFILES)) / len(PROFILES)
"""Events per seeded order on average (every profile's steps, and the confirmation's second
event)."""


async def _seed_missing(database_url: str, bootstrap: str, model: ReadModel,
                        events: int) -> dict[str, Any] | None:
    """Seed orders until the topic holds ``events`` records (orders only); what was seeded."""
    missing = events - await extent(bootstrap, model.topic)
    if missing <= 0:
        return None
    if model.service != "orders":
        raise ValueError(f"{model.topic} holds too few records and only orders can be seeded")
    return await seed_orders_log(database_url, bootstrap,
                                 math.ceil(missing / EVENTS_PER_ORDER))


async def timed_rebuild(pool: asyncpg.Pool, bootstrap: str, model: ReadModel,
                        ) -> dict[str, Any]:
    """Rebuild the read model once, timed; replayed, skipped, seconds of each part (and the CPU
    seconds of this process: on a busy machine, wall time says little), equal."""
    marks: dict[str, Any] = {"began": time.perf_counter(), "cpu": time.process_time()}

    async def locked(conn: asyncpg.Connection) -> None:
        marks["locked"], marks["live"] = time.perf_counter(), await snapshot(conn, model)
        marks["replay"] = time.perf_counter()

    async def replayed(conn: asyncpg.Connection) -> None:
        marks["replayed"], marks["rebuilt"] = time.perf_counter(), await snapshot(conn, model)
        marks["commit"] = time.perf_counter()

    replay = await rebuild(pool, bootstrap, model, observer=Observer(locked, None, replayed))
    ended = time.perf_counter()
    seconds = {"lock": marks["locked"] - marks["began"],
               "replay": marks["replayed"] - marks["replay"], "commit": ended - marks["commit"]}
    marks["cpu"] = time.process_time() - marks["cpu"]
    tables = compare(marks["live"], marks["rebuilt"])
    return {"replayed_events": replay.replayed_events,
            "skipped_records": len(replay.skipped_records),
            "seconds": {name: round(value, 3) for name, value in seconds.items()},
            "client_cpu_seconds": round(marks["cpu"], 3),
            "events_per_second": round(replay.replayed_events / sum(seconds.values())),
            "equal": all(table.equal for table in tables),
            "rows": {table.table: table.rebuilt_rows for table in tables}}


async def measure_rebuild(database_url: str, bootstrap: str, service: str = "orders",
                          events: int = 200_000) -> dict[str, Any]:
    """Make sure ``service``'s topic holds ``events`` records (seeding orders), rebuild its read
    model and report the rebuild's throughput in events per second, and whether the rebuilt
    read model equals the one it replaced. The read model is vacuumed first; the snapshots
    taken for the comparison are left out of the seconds."""
    model = service_of(service).read_model
    seeded = await _seed_missing(database_url, bootstrap, model, events)
    pool = await create_pool(database_url, max_size=2)
    try:
        # from a steady state: no dead rows of an earlier rebuild, statistics up to date
        await pool.execute(f"VACUUM (ANALYZE) {', '.join(model.locked_tables)}")
        result = await timed_rebuild(pool, bootstrap, model)
    finally:
        await pool.close()
    return {"service": service, "records_on_topic": await extent(bootstrap, model.topic),
            "seeded": seeded, **result}


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: prints the JSON result of ``measure_rebuild``."""
    parser = argparse.ArgumentParser(prog="python -m bench.rebuild",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--service", default="orders", choices=SERVICES)
    parser.add_argument("--events", type=int, default=200_000,
                        help="records the topic must hold at least (seeded if fewer)")
    parser.add_argument("--database-url", help="the service's database (default: settings)")
    parser.add_argument("--bootstrap", help="Kafka (default: KAFKA_BOOTSTRAP)")
    args = parser.parse_args(argv)
    settings = LogSettings()
    print(json.dumps(run_on_uvloop(measure_rebuild(
        args.database_url or settings.database_url_for(args.service),
        args.bootstrap or settings.kafka_bootstrap, args.service, args.events)), indent=2))


if __name__ == "__main__":
    main()
