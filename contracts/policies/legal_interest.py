"""Legal interest accrued day by day at the rate in force on each day.

Reading chosen: each day of delay earns base × annual rate / 365 (the schedule's
`day_count_basis`, RULES.md's "days / 365"), 365 being kept in leap years too. The rate of a
day is the one of the half-year containing it (1 Jan–30 Jun is S1, 1 Jul–31 Dec is S2), so a
delay across a half-year change uses both rates. Σ(rate × days) is exact; the one division
happens in the fixed context of `exact`. A half-year missing from the table borrows the
latest known rate and is named in the result, which makes it provisional.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from contracts.policies.exact import ZERO, exact_arithmetic
from contracts.policies.policy_data import RateLookup, RateTable


@dataclass(frozen=True)
class InterestAccrual:
    """Exact interest in cents, with the half-years whose rate had to be borrowed."""

    amount_cents: Decimal
    missing_half_years: tuple[str, ...]


def half_year_of(day: date) -> str:
    """Label of the half-year containing `day`, as the rate table keys it: "2026-S2"."""
    return f"{day.year}-S{1 if day.month <= 6 else 2}"


def _half_year_end(day: date) -> date:
    return date(day.year, 6, 30) if day.month <= 6 else date(day.year, 12, 31)


def days_by_half_year(first: date, last: date) -> list[tuple[str, int]]:
    """Split the days first..last (both included) into (half-year, number of days) runs."""
    runs: list[tuple[str, int]] = []
    start = first
    while start <= last:
        end = min(_half_year_end(start), last)
        runs.append((half_year_of(start), (end - start).days + 1))
        start = end + timedelta(days=1)
    return runs


def rate_in_force(day: date, rates: RateTable) -> RateLookup:
    """Annual rate (percent) applying on `day`, borrowed and flagged if not recorded."""
    return rates.lookup(half_year_of(day))


def accrue_legal_interest(
    base_cents: int, first: date, last: date, rates: RateTable, day_count_basis: int
) -> InterestAccrual:
    """Interest on `base_cents` for every day from `first` to `last` included (none if empty)."""
    with exact_arithmetic():
        percent_days = ZERO
        missing: list[str] = []
        for half_year, days in days_by_half_year(first, last):
            lookup = rates.lookup(half_year)
            percent_days += lookup.percent * days
            if lookup.missing:
                missing.append(half_year)
        amount = base_cents * percent_days / (100 * day_count_basis)
    return InterestAccrual(amount, tuple(missing))
