"""Rebuild fulfilment's read model from the log: ``python -m services.fulfilment.rebuild``.

The read model is locked for the whole rebuild, so live projections wait; everything committed
before the lock is first published by the relay, then the table is emptied and every record of
``fulfilment.events`` up to the current end offsets is projected again.
"""

from __future__ import annotations

import asyncio
import json
import sys

import asyncpg

from contracts.envelope import decode_record
from contracts.topics import events_topic
from services.fulfilment.projections import project
from services.fulfilment.views import all_reservations
from services.platform.db import create_pool
from services.platform.kafka_io import read_topic
from services.platform.settings import Settings, load_settings


async def rebuild(pool: asyncpg.Pool, settings: Settings, timeout: float = 60) -> int:
    """Drop and replay ``reservation_view``; return the number of events replayed."""
    replayed = 0
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE reservation_view IN ACCESS EXCLUSIVE MODE")
        await _until_published(pool, timeout)
        await conn.execute("DELETE FROM reservation_view")
        async for record in read_topic(settings.kafka_bootstrap, events_topic("fulfilment")):
            envelope, event = decode_record(record.value)
            await project(conn, envelope, event)
            replayed += 1
    return replayed


async def _until_published(pool: asyncpg.Pool, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL"):
            await asyncio.sleep(0.1)


async def _main(settings: Settings) -> None:
    pool = await create_pool(settings.database_url)
    try:
        count = await rebuild(pool, settings)
        rows = len(await all_reservations(pool))
        print(json.dumps({"replayed_events": count, "reservation_rows": rows}))
    finally:
        await pool.close()


def main() -> None:
    """Entry point."""
    asyncio.run(_main(load_settings("fulfilment")))
    sys.exit(0)


if __name__ == "__main__":
    main()
