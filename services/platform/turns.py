"""One copy at a time: the timed work every copy of a worker schedules runs in one of them.

Each copy of a worker (``RUN_WORKER_INSTANCES``) runs the service's timed work every few
seconds. A pass is safe to run twice (it decides on the orders' committed state), but two copies
running one pass at once both do all of its work: their batches wait for each other on the
orders' locks, then the second decides again on what the first recorded and finds nothing. So a
pass first takes a PostgreSQL advisory lock named after its work, without waiting; a copy that
does not get it leaves that pass to the copy that did.

The lock is session-level, held on a connection of its own rather than one of the pool's (the
pool resets session state when a connection goes back to it), and goes with the session: a copy
that dies mid-pass releases it, and another copy's next pass takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg

__all__ = ["TIMED_WORK_LOCK", "Turns"]

TIMED_WORK_LOCK = 1_117_302
"""The advisory locks' first key (the second is the hash of the work's name)."""
log = logging.getLogger(__name__)


class Turns:
    """Whose turn it is to run each timed work, among the copies of one worker."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._conn: asyncpg.Connection | None = None
        self._guard = asyncio.Lock()  # one statement at a time on the one connection

    @contextlib.asynccontextmanager
    async def turn(self, work: str) -> AsyncIterator[bool]:
        """Yield True while this copy holds ``work``'s turn, False if another copy does.
        Raises what connecting raises (the database down): the pass is not run."""
        mine = await self._take(work)
        try:
            yield mine
        finally:
            if mine:
                await self._give_back(work)

    async def _take(self, work: str) -> bool:
        async with self._guard:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self._url)
            taken: bool = await self._conn.fetchval(
                "SELECT pg_try_advisory_lock($1, hashtext($2))", TIMED_WORK_LOCK, work)
            return taken

    async def _give_back(self, work: str) -> None:
        async with self._guard:
            if self._conn is None or self._conn.is_closed():
                return  # the session, and the lock with it, is gone
            try:
                await self._conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))",
                                         TIMED_WORK_LOCK, work)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("timed work %s: could not give its turn back; closing the "
                            "session, which releases it", work)
                self._conn.terminate()

    async def close(self) -> None:
        """End the session (releasing any turn still held)."""
        if self._conn is not None:
            await self._conn.close()
