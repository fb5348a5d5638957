"""Working days and Paris dates: the French calendar every deadline counts on."""

from datetime import UTC, date, datetime

import pytest

from contracts.policies import (
    PolicyError,
    add_calendar_days,
    add_working_days,
    is_working_day,
    paris_date,
)

# (day, is a working day, why)
WORKING_DAY_CASES = [
    (date(2026, 5, 13), True, "ordinary Wednesday"),
    (date(2026, 5, 16), False, "Saturday"),
    (date(2026, 5, 17), False, "Sunday"),
    (date(2026, 1, 1), False, "New Year's Day"),
    (date(2026, 4, 3), True, "Good Friday is not a national holiday"),
    (date(2026, 4, 6), False, "Easter Monday"),
    (date(2026, 5, 1), False, "Labour Day"),
    (date(2026, 5, 8), False, "Victory in Europe Day"),
    (date(2026, 5, 14), False, "Ascension"),
    (date(2026, 5, 25), False, "Whit Monday"),
    (date(2026, 7, 14), False, "Bastille Day"),
    (date(2025, 8, 15), False, "Assumption"),
    (date(2025, 12, 26), True, "St Stephen's Day is only an Alsace-Moselle holiday"),
    (date(2026, 11, 11), False, "Armistice Day"),
    (date(2025, 12, 25), False, "Christmas"),
]


@pytest.mark.parametrize(("day", "expected", "why"), WORKING_DAY_CASES)
def test_working_days(day: date, expected: bool, why: str) -> None:
    assert is_working_day(day) is expected, why


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2026, 5, 13), 1, date(2026, 5, 15)),  # skips Ascension
        (date(2026, 5, 15), 1, date(2026, 5, 18)),  # skips the weekend
        (date(2026, 5, 16), 1, date(2026, 5, 18)),  # from a Saturday
        (date(2025, 12, 31), 1, date(2026, 1, 2)),  # across the year end and 1 January
        (date(2026, 5, 22), 3, date(2026, 5, 28)),  # skips Whit Monday
    ],
)
def test_add_working_days(start: date, count: int, expected: date) -> None:
    assert add_working_days(start, count) == expected


def test_calendar_days_do_not_count_the_start() -> None:
    assert add_calendar_days(date(2026, 12, 25), 14) == date(2027, 1, 8)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 5, 13, 21, 59, tzinfo=UTC), date(2026, 5, 13)),  # 23:59 CEST
        (datetime(2026, 5, 13, 22, 0, tzinfo=UTC), date(2026, 5, 14)),  # midnight CEST
        (datetime(2025, 12, 31, 22, 59, tzinfo=UTC), date(2025, 12, 31)),  # 23:59 CET
        (datetime(2025, 12, 31, 23, 0, tzinfo=UTC), date(2026, 1, 1)),  # midnight CET
    ],
)
def test_paris_date_of_utc_timestamps(moment: datetime, expected: date) -> None:
    assert paris_date(moment) == expected


def test_paris_date_refuses_naive_timestamps() -> None:
    with pytest.raises(PolicyError):
        paris_date(datetime(2026, 5, 13, 12, 0))


def test_negative_or_empty_periods_are_refused() -> None:
    with pytest.raises(PolicyError):
        add_calendar_days(date(2026, 1, 1), -1)
    with pytest.raises(PolicyError):
        add_working_days(date(2026, 1, 1), 0)
