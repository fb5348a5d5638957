"""Moving the stack's clock: ``python -m services.platform.clock set|advance|show``.

``set ISO-DATETIME`` (naive = Europe/Paris) and ``advance DURATION`` (``10d``, ``36h``, ``90m``,
``1d12h``) move every process's now within a second; the clock never moves before an event the
stack has already recorded. Refused in production (``CLOCK_MODE=system``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import sys
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import asyncpg

from contracts.topics import SERVICES
from services.platform.clock import Clock, SharedClock, SystemClock
from services.platform.settings import ClockSettings, LogSettings

__all__ = ["clock_for", "latest_recorded", "main", "parse_duration", "parse_instant"]

PARIS = ZoneInfo("Europe/Paris")
_DURATION = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


class _Settings(LogSettings, ClockSettings):
    """The command needs the clock and, to refuse going back, the services' databases."""


def clock_for(settings: ClockSettings) -> Clock:
    """The clock a process of the stack reads: the shared one (started at ``CLOCK_START`` on
    a fresh stack), or the machine's in production."""
    if settings.clock_mode == "system":
        return SystemClock()
    clock = SharedClock(settings.clock_file)
    if settings.clock_start is not None:
        clock.start_at(parse_instant(settings.clock_start.isoformat()))
    return clock


def parse_instant(text: str) -> dt.datetime:
    """An ISO-8601 instant; without an offset it is Paris time, as the shop's calendar is."""
    instant = dt.datetime.fromisoformat(text)
    return instant.replace(tzinfo=PARIS) if instant.tzinfo is None else instant


def parse_duration(text: str) -> dt.timedelta:
    """``10d``, ``36h``, ``90m``, ``45s`` or a sum of them (``1d12h``)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (use 10d, 36h, 90m, 1d12h)")
    return sum((dt.timedelta(**{_UNITS[u]: int(n)}) for n, u in parts), dt.timedelta(0))


async def latest_recorded(settings: LogSettings) -> dt.datetime | None:
    """The latest time at which any service of the stack recorded an event."""
    latest: list[dt.datetime] = []
    for service in SERVICES:
        try:
            conn = await asyncpg.connect(settings.database_url_for(service))
        except (OSError, asyncpg.PostgresError):
            continue  # a service whose database does not exist has recorded nothing
        try:
            found = await conn.fetchval(
                "SELECT max((envelope->>'occurred_at')::timestamptz) FROM events")
            latest += [found] if found else []
        except asyncpg.UndefinedTableError:
            pass
        finally:
            await conn.close()
    return max(latest, default=None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; print the stack's now (ISO, UTC) on success."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.clock")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show")
    commands.add_parser("set").add_argument("instant")
    commands.add_parser("advance").add_argument("duration")
    args = parser.parse_args(argv)
    settings = _Settings()
    if settings.clock_mode == "system":
        print("refused: this stack runs on the system clock (CLOCK_MODE=system)",
              file=sys.stderr)
        return 2
    clock = SharedClock(settings.clock_file)
    if args.command != "show":
        try:
            target = (parse_instant(args.instant) if args.command == "set"
                      else clock.now() + parse_duration(args.duration))
        except ValueError as error:
            print(f"refused: {error}", file=sys.stderr)
            return 2
        latest = asyncio.run(latest_recorded(settings))
        if latest is not None and target < latest:
            print(f"refused: events were recorded at {latest.isoformat()}; the clock does not "
                  f"go back before them", file=sys.stderr)
            return 1
        clock.move_to(target)
    print(clock.now().isoformat())
    return 0
