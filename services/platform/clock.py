"""Where the running services take the time from; domain functions take it as a parameter."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

__all__ = [
    "Clock",
    "ControllableClock",
    "SystemClock",
]


class Clock(Protocol):
    """A source of the current UTC instant."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        """The machine's current UTC time."""
        return dt.datetime.now(dt.UTC)


class ControllableClock:
    """A clock tests and demos set and advance, to drive months of deadlines in seconds."""

    def __init__(self, start: dt.datetime) -> None:
        if start.utcoffset() is None:
            raise ValueError("ControllableClock needs a timezone-aware start")
        self._now = start.astimezone(dt.UTC)

    def now(self) -> dt.datetime:
        """The time the clock was set or advanced to."""
        return self._now

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move the clock forward (never backward) and return the new time."""
        if delta < dt.timedelta(0):
            raise ValueError("time does not go backward")
        self._now += delta
        return self._now

    def set(self, instant: dt.datetime) -> None:
        """Jump to ``instant`` (not earlier than now)."""
        self.advance(instant.astimezone(dt.UTC) - self._now)
