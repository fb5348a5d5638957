"""One copy at a time: the timed work every copy of a worker schedules runs in one of them.

Each copy of a worker (``RUN_WORKER_INSTANCES``) runs the service's timed work every few
seconds. A pass is safe to run twice (it decides on the orders' committed state), but two copies
running one pass at once both do all of its work: their batches wait for each other on the
orders' locks, then the second decides again on what the first recorded and finds nothing. So a
pass first takes a PostgreSQL advisory lock named after its work, without waiting; a copy that
does not get it leaves that pass to the copy that did.

The lock is session-level, held on a connection of its own rather than one of the pool's (the
pool resets session state when a connection goes back to it), and goes with the session: a copy
that dies mid-pass releases it, and another copy's next pass takes over. So does a copy that
goes silent (frozen, or its event loop stuck) while its socket stays open: the server ends a
session idle for ``IDLE_SESSION_TIMEOUT`` (a live copy asks for its turns every few seconds).
A pass that outlasts it loses its turn, and another copy may start the same pass meanwhile:
safe, as two copies always were, only not economical.
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
IDLE_SESSION_TIMEOUT = "60s"
"""How long a copy may stay silent before its session, and every turn it holds, is ended."""
STATEMENT_SECONDS = 10.0
"""Bounds each statement on the turns' connection (a half-open socket would otherwise hold
every timed work of the copy until TCP gives up)."""
_LOST = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
log = logging.getLogger(__name__)


class Turns:
    """Whose turn it is to run each timed work, among the copies of one worker."""

    def __init__(self, database_url: str, idle_timeout: str = IDLE_SESSION_TIMEOUT) -> None:
        self._url, self._idle_timeout = database_url, idle_timeout
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
            try:
                return await self._try_lock(work)
            except _LOST:  # the session was ended (idle, or the server restarted): once more
                self._drop()
                return await self._try_lock(work)

    async def _try_lock(self, work: str) -> bool:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._url, command_timeout=STATEMENT_SECONDS,
                server_settings={"idle_session_timeout": self._idle_timeout})
        taken: bool = await self._conn.fetchval(
            "SELECT pg_try_advisory_lock($1, hashtext($2))", TIMED_WORK_LOCK, work)
        return taken

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
        self._conn = None

    async def _give_back(self, work: str) -> None:
        async with self._guard:
            if self._conn is None or self._conn.is_closed():
                return  # the session, and the lock with it, is gone
            try:
                await self._conn.execute("SELECT pg_advisory_unlock($1, hashtext($2))",
                                         TIMED_WORK_LOCK, work)
            except _LOST:
                log.warning("timed work %s: could not give its turn back; ending the "
                            "session, which releases it", work)
                self._drop()

    async def close(self) -> None:
        """End the session (releasing any turn still held)."""
        if self._conn is not None:
            try:
                await self._conn.close()
            except _LOST:
                self._drop()
