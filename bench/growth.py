"""Growing the benchmark stack's log to a size where growth would show (≥ 1,000,000 events),
and rebuilding a read model from it.

The seeded orders are complete, valid streams of the orders service (``bench.seed``), in its
event store, its read model and its topic. The downstream workers are stopped while they are
written, and their consumer groups then start after them: the seeded history stays in the
orders service, as an old log whose effects downstream were long ago applied (their read models
do not hold it). A signed checkpoint is made over the grown topic before measuring, so the
checkpointer's next pass reads only what follows; the orders database is vacuumed, analysed and
checkpointed, and the machine's dirty pages are written out, as they would have been long ago on
a log that grew slowly.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from typing import Any

import asyncpg

from bench.rebuild import EVENTS_PER_ORDER, measure_rebuild
from bench.seed import downstream_groups, seed_orders_log, skip_consumers_to_end
from bench.stack import BenchStack
from contracts.topics import events_topic
from services.ops.kafka import extent
from services.platform.checkpoints import create_checkpoints
from services.platform.settings import CheckpointSettings

WORKERS = ("orders-worker", "payments-worker", "fulfilment-worker", "refunds-worker")


async def grow_log(stack: BenchStack, orders: int) -> dict[str, Any]:
    """Seed ``orders`` complete orders into the orders service's log; what was seeded."""
    topic = events_topic("orders")
    seeded = await seed_history(stack, orders)
    started = time.monotonic()
    await create_checkpoints(checkpoint_settings(stack), [topic])
    seeded["checkpoint_seconds"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    await vacuum_analyze(stack.database_url("orders"))
    seeded["vacuum_seconds"] = round(time.monotonic() - started, 2)
    started = time.monotonic()
    await write_out(stack.database_url("orders"))
    seeded["write_out_seconds"] = round(time.monotonic() - started, 2)
    return seeded


async def seed_history(stack: BenchStack, orders: int) -> dict[str, Any]:
    """Seed ``orders`` complete orders into the orders service's log as an old history: the
    downstream workers are stopped meanwhile and their groups then start after it (otherwise
    they would react to the whole history at once, and whatever is measured next would share
    the two cores with them). Returns when every process runs again."""
    topic = events_topic("orders")
    await _control_workers(stack, "stop")
    try:
        seeded = await seed_orders_log(stack.database_url("orders"), stack.kafka_bootstrap,
                                       orders)
        await skip_consumers_to_end(stack.kafka_bootstrap, downstream_groups(topic), topic)
    finally:
        await _control_workers(stack, "start")
    await asyncio.to_thread(stack.wait_ready)
    return seeded


async def _control_workers(stack: BenchStack, action: str) -> None:
    """``supervisorctl stop`` or ``start`` every worker, all at once: given several names, one
    ``supervisorctl`` waits for each in turn (8 s each to be RUNNING)."""
    await asyncio.gather(*(asyncio.to_thread(stack.control, action, f"{worker}:*")
                           for worker in WORKERS))


async def vacuum_analyze(database_url: str) -> None:
    """What autovacuum would have done while a log grew slowly, done now that it grew at once.
    Left to autovacuum, the seeded tables were vacuumed and analysed about when (f) began
    (pg_stat_user_tables of a full run whose (f) accepted half the orders/s of (c))."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


async def write_out(database_url: str) -> None:
    """What the server and the kernel would have written out long ago on a log that grew
    slowly, written out now: the seeding's 2 GB of WAL started a checkpoint whose 600 MB of
    writes and data-file flushes (one of 0.47 s) ran through the next measurement, and the
    broker's new segments stay in the page cache until the kernel's writeback (30 s)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    await asyncio.to_thread(os.sync)


def checkpoint_settings(stack: BenchStack) -> CheckpointSettings:
    """The stack's checkpoint signing settings (``deploy.run``'s environment)."""
    keys = stack.layout.data_dir / "checkpoints"
    return CheckpointSettings(kafka_bootstrap=stack.kafka_bootstrap,
                              database_url=stack.server_url,
                              checkpoint_private_key_file=keys / "private.pem",
                              checkpoint_public_key_file=keys / "public.pem",
                              clock_file=stack.layout.data_dir / "clock.json")


async def rebuild_on(stack: BenchStack, events: int = 200_000) -> dict[str, Any]:
    """(d) Rebuild the orders read model of ``stack`` from its whole topic (at least ``events``
    records): the missing history is seeded first, as ``seed_history`` does, so that the
    rebuild does not share the cores with the downstream workers reacting to it."""
    missing = events - await extent(stack.kafka_bootstrap, events_topic("orders"))
    seeded = (await seed_history(stack, math.ceil(missing / EVENTS_PER_ORDER))
              if missing > 0 else None)
    return {**await measure_rebuild(stack.database_url("orders"), stack.kafka_bootstrap,
                                    "orders", events), "seeded": seeded}
