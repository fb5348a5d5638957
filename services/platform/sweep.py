"""Timed work, the same way for every service: a periodic sweep that derives from the recorded
events and the clock what has become due, and records it through the one write path.

A sweep reads the clock once per pass; for each order that may have something due it decides,
from the order's state alone, what time has made due, and records it in its own transaction.
The decision is a pure function of (state, now), so running a sweep twice records nothing new,
and a sweep that loses a race with a command on the same order simply tries again next pass.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic

import asyncpg

from contracts.base import Event
from services.platform.eventstore import Aggregate, ConcurrencyError, Metadata, State
from services.platform.runtime import Context
from services.platform.write_path import EventHandler, record

__all__ = ["Sweep", "run_sweeps", "sweep_once"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sweep(Generic[State]):
    """One kind of timed work of a service.

    ``candidates`` lists the orders that may have something due at ``now`` (a cheap query on a
    read model: it may return too many, never too few); ``decide`` says what is due for one of
    them, from its state and ``now`` alone (nothing when nothing is due).
    """

    name: str
    aggregate: Aggregate[State]
    candidates: Callable[[asyncpg.Pool, dt.datetime], Awaitable[Sequence[str]]]
    decide: Callable[[State | None, dt.datetime], Sequence[Event]]
    project: EventHandler


async def sweep_once(pool: asyncpg.Pool, sweep: Sweep[State], ctx: Context) -> int:
    """One pass of ``sweep`` at the clock's current time; return how many events it recorded."""
    now = ctx.clock.now()
    recorded = 0
    for order_id in await sweep.candidates(pool, now):
        try:
            async with pool.acquire() as conn, conn.transaction():
                recorded += len(await record(
                    conn, sweep.aggregate, order_id, lambda state: sweep.decide(state, now),
                    Metadata.for_command(ctx.emitter, now), sweep.project))
        except ConcurrencyError:
            log.info("sweep %s: order %s changed meanwhile; next pass", sweep.name, order_id)
    return recorded


async def run_sweeps(pool: asyncpg.Pool, sweeps: Sequence[Sweep[State]], ctx: Context,
                     interval: float) -> None:
    """Run every sweep every ``interval`` seconds until cancelled."""
    while True:
        for sweep in sweeps:
            await sweep_once(pool, sweep, ctx)
        await asyncio.sleep(interval)
