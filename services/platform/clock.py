"""Where the running services take the time from; domain functions take it as a parameter."""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Protocol

__all__ = [
    "Clock",
    "ControllableClock",
    "SharedClock",
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


class SharedClock:
    """The stack's one clock: the machine's time plus an offset kept in a file that every
    process of the stack reads, so that moving it moves every service's now within a second.

    The file is re-read whenever it changes; time keeps flowing between moves.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: tuple[int, int, int] | None = None
        self._offset = dt.timedelta(0)

    def now(self) -> dt.datetime:
        """The machine's time plus the stack's offset."""
        self._refresh()
        return dt.datetime.now(dt.UTC) + self._offset

    def offset(self) -> dt.timedelta:
        """How far the stack's time is from the machine's."""
        self._refresh()
        return self._offset

    def move_to(self, instant: dt.datetime) -> None:
        """Make ``instant`` the stack's now (atomically: a reader sees the old or the new)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=self._path.parent, suffix=".tmp")
        with os.fdopen(descriptor, "w") as file:
            file.write(self._content(instant))
        os.replace(temporary, self._path)

    def start_at(self, instant: dt.datetime) -> bool:
        """Start a fresh stack's clock at ``instant``; False if the clock was already started
        (by this call's rival too: the first creator wins)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w") as file:
            file.write(self._content(instant))
        return True

    @staticmethod
    def _content(instant: dt.datetime) -> str:
        offset = instant.astimezone(dt.UTC) - dt.datetime.now(dt.UTC)
        return json.dumps({"offset_seconds": offset.total_seconds()})

    def _refresh(self) -> None:
        try:
            stat = self._path.stat()
        except FileNotFoundError:
            self._seen, self._offset = None, dt.timedelta(0)
            return
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a replace is a new inode
        if self._seen != seen:
            try:
                data = json.loads(self._path.read_text())
            except (ValueError, FileNotFoundError):
                return  # caught while its creator writes it: keep the last offset, read again
            self._offset = dt.timedelta(seconds=float(data["offset_seconds"]))
            self._seen = seen


if __name__ == "__main__":
    import sys

    from services.platform.clock_command import main

    sys.exit(main())
