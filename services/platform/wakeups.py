"""Timed work woken by the commit that makes it due, not only by its interval.

A worker's timed work (``agents.Periodic``) runs a pass every ``interval`` seconds. Work that
an event makes due (a payment authorised is to be captured, an order paid is to be confirmed to
its buyer) would wait up to a whole interval for its pass: most of a lifecycle's time, at half a
second per step. So the service's database wakes the pass: a trigger on its ``events``
(``wake_timed_work``, platform migration 006; each service's migrations say which event types
wake which work) sends ``NOTIFY work_due, '<work>'``, delivered when the transaction that
appended the event commits. Every copy of the worker listens; the one whose turn it is runs the
pass (``services.platform.turns``).

The interval stays the safety net, so nothing depends on a notification arriving: one sent
while a copy was not listening (starting, or its connection lost and not yet reopened) is
covered by the next interval's pass, as before. A woken pass first lingers a few milliseconds,
so that the commits that follow join it instead of each paying for a pass of its own.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

__all__ = ["RECONNECT_SECONDS", "WAKE_LINGER_SECONDS", "WORK_DUE_CHANNEL", "Wakeups"]

WORK_DUE_CHANNEL = "work_due"
"""The channel ``wake_timed_work`` notifies; the payload is the work's name."""
WAKE_LINGER_SECONDS = 0.02
"""How long a woken pass waits for the commits that follow to join it."""
RECONNECT_SECONDS = 5.0
"""How long after failing to listen a worker tries again (the interval runs the work meanwhile)."""
_LOST = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
log = logging.getLogger(__name__)


class Wakeups:
    """The notifications that a worker's timed work is due, on a connection of their own."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._conn: asyncpg.Connection | None = None
        self._due: dict[str, asyncio.Event] = {}
        self._guard = asyncio.Lock()  # one connection, however many works wait
        self._retry_at = 0.0
        self._failing = False  # said once per outage

    async def wait(self, work: str, interval: float) -> bool:
        """Return once ``work`` was notified due (after ``WAKE_LINGER_SECONDS``), or after
        ``interval`` seconds; True when woken. A notification that came while the pass ran
        wakes the next wait at once."""
        due = self._due.setdefault(work, asyncio.Event())
        await self.listen()
        try:
            await asyncio.wait_for(due.wait(), interval)
        except TimeoutError:
            return False
        await asyncio.sleep(WAKE_LINGER_SECONDS)
        due.clear()
        return True

    async def listen(self) -> None:
        """Listen from now on (``wait`` does so first); after a failure, only once
        ``RECONNECT_SECONDS`` have passed."""
        async with self._guard:
            if self._conn is not None and not self._conn.is_closed():
                return
            if time.monotonic() < self._retry_at:
                return
            try:
                self._conn = await asyncpg.connect(self._url, timeout=RECONNECT_SECONDS)
                await self._conn.add_listener(WORK_DUE_CHANNEL, self._notified)
            except _LOST as error:
                self._drop()
                self._retry_at = time.monotonic() + RECONNECT_SECONDS
                if not self._failing:
                    log.warning("timed work not woken by commits (%s); passes run every "
                                "interval until the database answers", type(error).__name__)
                self._failing = True
                return
            if self._failing:
                log.info("timed work woken by commits again")
            self._failing = False

    def _notified(self, _conn: object, _pid: int, _channel: str, work: str) -> None:
        if (due := self._due.get(work)) is not None:
            due.set()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
        self._conn = None

    async def close(self) -> None:
        """Stop listening."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except _LOST:
                conn.terminate()
