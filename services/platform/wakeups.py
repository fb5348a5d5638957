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
so that the commits that follow join it instead of each paying for a pass of its own; and a
woken pass that did nothing (the bank or the mail server not answering) lets the next wait out
its interval, so an outside system that fails is asked no more often than before.

The listening connection is kept by a task of its own (``keep_listening``), so that a pass
never waits for it: it is opened again when lost, and checked every ``CHECK_SECONDS`` (a
connection that only listens would not notice a half-open socket).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

__all__ = ["CHECK_SECONDS", "RECONNECT_SECONDS", "WAKE_LINGER_SECONDS", "WORK_DUE_CHANNEL",
           "Wakeups"]

WORK_DUE_CHANNEL = "work_due"
"""The channel ``wake_timed_work`` notifies; the payload is the work's name."""
WAKE_LINGER_SECONDS = 0.02
"""How long a woken pass waits for the commits that follow to join it."""
RECONNECT_SECONDS = 5.0
"""How long after failing to listen a worker tries again (the interval runs the work meanwhile)."""
CHECK_SECONDS = 10.0
"""How often the listening connection is asked whether it still answers."""
_LOST = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
log = logging.getLogger(__name__)


class Wakeups:
    """The notifications that a worker's timed work is due, on a connection of their own."""

    def __init__(self, database_url: str, check_seconds: float = CHECK_SECONDS,
                 reconnect_seconds: float = RECONNECT_SECONDS) -> None:
        self._url = database_url
        self._check, self._reconnect = check_seconds, reconnect_seconds
        self._conn: asyncpg.Connection | None = None
        self._due: dict[str, asyncio.Event] = {}
        self._failing = False  # said once per outage

    async def wait(self, work: str, interval: float, *, heed_wakes: bool = True) -> bool:
        """Return once ``work`` was notified due (after ``WAKE_LINGER_SECONDS``), or after
        ``interval`` seconds; True when woken. A notification that came while the pass ran
        wakes the next wait at once; with ``heed_wakes`` False it waits the whole interval."""
        due = self._due.setdefault(work, asyncio.Event())
        if not heed_wakes:
            await asyncio.sleep(interval)
            return False
        try:
            await asyncio.wait_for(due.wait(), interval)
        except TimeoutError:
            return False
        await asyncio.sleep(WAKE_LINGER_SECONDS)
        due.clear()
        return True

    async def keep_listening(self) -> None:
        """Listen until cancelled: open the connection, check it, open it again when lost."""
        while True:
            if not await self.listen():
                await asyncio.sleep(self._reconnect)
                continue
            await asyncio.sleep(self._check)
            if not await self._answers():
                self._drop()

    async def listen(self) -> bool:
        """Listen from now on, if not listening yet; False when the database did not answer."""
        if self._conn is not None and not self._conn.is_closed():
            return True
        try:
            self._conn = await asyncpg.connect(
                self._url, timeout=self._reconnect, command_timeout=self._reconnect,
                server_settings={"application_name": "timed-work-wakeups"})
            await self._conn.add_listener(WORK_DUE_CHANNEL, self._notified)
        except _LOST as error:
            self._drop()
            if not self._failing:
                log.warning("timed work not woken by commits (%s); passes run every interval "
                            "until the database answers", type(error).__name__)
            self._failing = True
            return False
        if self._failing:
            log.info("timed work woken by commits again")
        self._failing = False
        return True

    async def _answers(self) -> bool:
        assert self._conn is not None
        try:
            await self._conn.fetchval("SELECT 1")
        except _LOST:
            return False
        return True

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
                await asyncio.wait_for(conn.close(), self._reconnect)
            except _LOST:
                conn.terminate()
