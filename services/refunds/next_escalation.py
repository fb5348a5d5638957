"""When the escalation sweep may next have a step to record for an unpaid refund (pure).

The read model keeps that day for every refund (``refund_view.next_escalation_on``), so that a
pass of the sweep reads only the refunds whose day has come instead of every overdue one. The
day may be early (the sweep then decides that nothing is due, and looks again every pass until
a step is recorded), never late: on no day before it can ``domain.escalate`` record a step for
the refund, whatever legal-interest rates operators record.

It is a function of the refund's own events and of the schedules alone, never of the rates in
force: operators record rates at any time (and may correct one), and a replay of the log must
give the same day back. What it knows of rates is their ceiling, the highest annual rate a log
may hold (``LegalInterestRateRecorded.percent`` is at most 100 %). So:

* the first day of delay always records a step;
* between the first days of two bands of the situation's schedules the tier changes only where
  a figure grows with legal interest: schedule A's interest days, if interest at the ceiling
  could reach the products' price (the cap) or another schedule's figure by then; and, where
  schedules are compared, while schedule A is capped (its interest after the cap may overtake
  the other schedule's figure on any day). There every next day is a candidate;
* on the first day of a band, outside those regimes, the tier does not depend on the rates:
  the engine (``contracts.policies``) gives it, and a band that keeps the tier is passed over;
* schedule B in its last band, and schedule A capped past its interest days while every other
  schedule is in its last band, never change tier again: no day (None).

The bands are those of the schedules version shipped with the code; a new schedules version
needs the read model rebuilt (``python -m services.refunds.main rebuild``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from annotated_types import Le

from contracts.policies import (
    Policy,
    Schedule,
    as_situation,
    compute_surcharge,
    rate_table_versions,
    schedule_outcome,
)
from contracts.policies.names import CAP_TIER_SUFFIX
from contracts.policies.policy_data import ScheduleAData, ScheduleBData
from contracts.refunds import LegalInterestRateRecorded

__all__ = ["CAPPED_TIER", "LOOK_AHEAD_BANDS", "Owed", "highest_rate", "next_escalation_on"]

CAPPED_TIER = f"{Schedule.A}:{CAP_TIER_SUFFIX}"
LOOK_AHEAD_BANDS = 120
"""Bands looked at before settling for an early day (schedule A alone steps up monthly: ten
years of bands, should schedules ever keep one tier that long)."""
_OUT_OF_REACH = 2**63


@cache
def highest_rate() -> Decimal:
    """The highest annual legal-interest rate (percent) a log may hold: the bound of
    ``LegalInterestRateRecorded.percent``, or a shipped table's highest rate if higher."""
    field = LegalInterestRateRecorded.model_fields["percent"]
    bound = next(Decimal(str(item.le)) for item in field.metadata if isinstance(item, Le))
    shipped = (rate for table in rate_table_versions().values()
               for rate in table.percent_by_half_year.values())
    return max(bound, *shipped)


@dataclass(frozen=True)
class Owed:
    """What a refund owes and by when: all its tiers depend on."""

    situation: str
    base_cents: int
    products_cents: int
    deadline: dt.date

    def schedules(self, policy: Policy) -> tuple[Schedule, ...]:
        """The schedules compared in the refund's situation."""
        return policy.schedules.situations[as_situation(self.situation)]

    def on(self, delay: int) -> dt.date:
        """The date of delay day ``delay``."""
        return self.deadline + dt.timedelta(days=delay)


def next_escalation_on(owed: Owed, last_on: dt.date | None, last_tier: str | None,
                       policy: Policy) -> dt.date | None:
    """The first day after the last recorded step (``last_on``, in ``last_tier``) on which the
    sweep may record another step for the unpaid refund; None when its tier can never change
    again. Only ``policy``'s schedules matter, never its rates.

    ``last_tier`` None with a ``last_on``: the step's tier is not known under this deadline (it
    was recorded under one that has since moved); the domain judges the days after it under
    the new one, so the day is looked for from the tier on ``last_on`` under it, or from any
    tier where the rates could decide that one."""
    if last_on is None or last_on <= owed.deadline:
        return owed.on(1)
    delay = (last_on - owed.deadline).days
    if last_tier is None:
        last_tier = _known_tier(owed, delay, policy)
    for _ in range(LOOK_AHEAD_BANDS):
        if _settled(owed, delay, last_tier, policy):
            return None
        following = _next_day_to_look(owed, delay, policy)
        if following is None:
            return None
        delay = following
        if _may_change(owed, delay, last_tier, policy):
            break
    return owed.on(delay)


def _known_tier(owed: Owed, delay: int, policy: Policy) -> str | None:
    """The tier on ``delay`` where no rate can decide it (the engine's); None elsewhere."""
    return None if _rate_dependent(owed, delay, policy) else _tier(owed, delay, policy)


def _may_change(owed: Owed, delay: int, last_tier: str | None, policy: Policy) -> bool:
    """Whether the tier on ``delay``, a day the tier may change, may differ from
    ``last_tier``. A schedule alone changes tier on the first day of each of its bands (its
    next band, or its cap); where schedules are compared, one may keep the tier on the first
    day of another's band: the engine says, where the rates cannot matter."""
    if len(owed.schedules(policy)) == 1 or _rate_dependent(owed, delay, policy):
        return True
    return _tier(owed, delay, policy) != last_tier


def _settled(owed: Owed, delay: int, tier: str | None, policy: Policy) -> bool:
    """From ``delay`` on the tier stays ``tier``: only schedule B, in its last band; or schedule
    A capped by its percentage (which never goes down) and chosen, every other schedule in its
    last band (their figures stay, A's capped figure only grows)."""
    kinds = owed.schedules(policy)
    others_settled = all(_in_last_band(kind, delay, policy) for kind in kinds
                         if kind != Schedule.A)
    if Schedule.A not in kinds:
        return others_settled
    past_interest = delay > policy.schedules.schedule_a.interest_last_day
    return tier == CAPPED_TIER and past_interest and others_settled


def _next_day_to_look(owed: Owed, delay: int, policy: Policy) -> int | None:
    """The next delay day on which the tier may change: the first day of the next band of one
    of the schedules, or an earlier day on which legal interest may move it."""
    days = [_next_band_start(kind, delay, policy) for kind in owed.schedules(policy)]
    return min((day for day in [*days, _interest_may_move(owed, delay, policy)]
                if day is not None), default=None)


def _interest_may_move(owed: Owed, delay: int, policy: Policy) -> int | None:
    """The first day after ``delay`` on which legal interest may change the tier, before
    schedule A's first band (None: not before)."""
    if Schedule.A not in owed.schedules(policy):
        return None
    last = policy.schedules.schedule_a.interest_last_day
    if delay > last:
        return delay + 1 if _rate_dependent(owed, delay, policy) else None
    return next((day for day in range(delay + 1, last + 1)
                 if _rate_dependent(owed, day, policy)), None)


def _rate_dependent(owed: Owed, delay: int, policy: Policy) -> bool:
    """Whether the tier on ``delay`` (compared with the day before) may depend on the rates:
    in schedule A's interest days, interest at the ceiling reaching the products' price or
    another schedule's figure; past them, schedule A capped while compared with another."""
    kinds = owed.schedules(policy)
    if Schedule.A not in kinds:
        return False
    data: ScheduleAData = policy.schedules.schedule_a
    if delay > data.interest_last_day:
        return len(kinds) > 1 and _a_capped(owed, delay, policy)
    ceiling = Decimal(owed.base_cents) * highest_rate() * delay / (100 * data.day_count_basis)
    others = [schedule_outcome(kind, owed.base_cents, owed.products_cents, owed.deadline,
                               owed.on(delay), policy).amount_cents
              for kind in kinds if kind != Schedule.A]
    return ceiling >= min([Decimal(owed.products_cents), *others])


def _a_capped(owed: Owed, delay: int, policy: Policy) -> bool:
    """Whether schedule A is capped on ``delay``, past its interest days: its own figure, a
    percentage of the base (no rate), reaches the products' price. The engine is asked for
    that figure with the price out of reach, so that it does not search the cap's day."""
    own = schedule_outcome(Schedule.A, owed.base_cents, _OUT_OF_REACH, owed.deadline,
                           owed.on(delay), policy)
    return own.capped_part >= owed.products_cents


def _tier(owed: Owed, delay: int, policy: Policy) -> str:
    return compute_surcharge(owed.situation, owed.base_cents, owed.products_cents,
                             owed.deadline, owed.on(delay), policy).tier


def _in_last_band(kind: Schedule, delay: int, policy: Policy) -> bool:
    if kind != Schedule.B:
        return False  # schedule A steps up every month past its bands
    return delay >= policy.schedules.schedule_b.tiers[-1].first_day


def _next_band_start(kind: Schedule, delay: int, policy: Policy) -> int | None:
    """The first delay day after ``delay`` on which one of ``kind``'s bands begins."""
    if kind == Schedule.B:
        return _next_b_band(policy.schedules.schedule_b, delay)
    return _next_a_band(policy.schedules.schedule_a, delay)


def _next_b_band(data: ScheduleBData, delay: int) -> int | None:
    return min((tier.first_day for tier in data.tiers if tier.first_day > delay), default=None)


def _next_a_band(data: ScheduleAData, delay: int) -> int:
    first_month = data.beyond.after_day + 1  # then a band per started month of month_days
    starts = [data.interest_last_day + 1, *(tier.first_day for tier in data.percentage_tiers),
              first_month]
    later = [start for start in starts if start > delay]
    if later:
        return min(later)
    months = (delay - first_month) // data.beyond.month_days + 1
    return first_month + months * data.beyond.month_days
