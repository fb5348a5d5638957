"""The French calendar of RULES.md: Europe/Paris dates, working days, "within N (working) days".

Working days are Monday to Friday minus the national public holidays that
`holidays.France()` knows (its default, national category: no Alsace-Moselle extras).
Every function here is pure: no clock is read, and the holiday set of a year never changes.
"""

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from contracts.policies.errors import PolicyError

PARIS = ZoneInfo("Europe/Paris")
_SATURDAY = 5


def paris_date(moment: datetime) -> date:
    """Return the Europe/Paris calendar date of a timezone-aware instant (events carry UTC)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PolicyError(f"timestamp {moment.isoformat()} has no timezone; events are in UTC")
    return moment.astimezone(PARIS).date()


@lru_cache(maxsize=256)
def _public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.France(years=year))


def is_public_holiday(day: date) -> bool:
    """Tell whether `day` is a French national public holiday."""
    return day in _public_holidays(day.year)


def is_working_day(day: date) -> bool:
    """Tell whether `day` is a jour ouvré: Monday to Friday and not a public holiday."""
    return day.weekday() < _SATURDAY and not is_public_holiday(day)


def add_calendar_days(start: date, days: int) -> date:
    """Deadline of "within `days` days of `start`": start itself is not counted."""
    if days < 0:
        raise PolicyError(f"a period cannot be negative, got {days} days")
    return start + timedelta(days=days)


def add_working_days(start: date, count: int) -> date:
    """Deadline of "within `count` working days of `start`": the count-th working day after it."""
    if count < 1:
        raise PolicyError(f"a working-day period must be at least 1, got {count}")
    day = start
    found = 0
    while found < count:
        day += timedelta(days=1)
        found += is_working_day(day)
    return day


def add_years(start: date, years: int) -> date:
    """Same day `years` later; 29 February maps to 1 March when the target year is not leap.

    Why 1 March and not 28 February (the procedural rule of art. 641 CPC): RULES.md
    resolves ambiguity in the buyer's favour, and 1 March leaves the buyer one more day.
    """
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)
