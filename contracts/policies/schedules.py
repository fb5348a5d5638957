"""Schedules A and B as exact functions of the delay; choosing between them is `surcharges`.

Readings chosen (RULES.md is the authority, these settle what it leaves open):

- Delay: d = (paid_on − deadline) in calendar days, 0 when paid on or before the deadline;
  delay day i is the date deadline + i.
- Schedule A, days 1–10: legal interest on the base for days 1..d (see `legal_interest`).
  From day 11 the surcharge is the band's percentage of the base alone: the interest of
  days 1–10 is not added to it (one rate on the whole base, not cumulative).
- Beyond day 90: 50 % + 5 points per started 30-day month (day 91–120: 55 %, 121–150: 60 %).
- Cap: the schedule's own figure (interest for d ≤ 10, percentage after) never exceeds the
  products' price. The cap day c is the first delay day whose own figure reaches that price.
  From c on, the surcharge is the products' price plus legal interest on the base for the
  days c..d, the cap day included ("from the day the cap is reached", read in the buyer's
  favour). The tier is then "A:cap" and its rate the legal rate in force on day d.
- Schedule B: 10 % of the base if d ≤ 14, 20 % if 14 < d ≤ 30, 50 % if d > 30; no cap.
- `rate` is a fraction: 0.05 for 5 %, 0.0667 for an annual legal rate of 6.67 % (for the
  interest tiers, the rate in force on the last day of delay).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from contracts.policies.errors import require_cents
from contracts.policies.exact import EXACT, ZERO, exact_arithmetic, percent_to_fraction
from contracts.policies.legal_interest import accrue_legal_interest, rate_in_force
from contracts.policies.names import CAP_TIER_SUFFIX, NOT_LATE_TIER, RateBasis, Schedule
from contracts.policies.policy_data import Policy, ScheduleAData, ScheduleBData


@dataclass(frozen=True)
class ScheduleOutcome:
    """What one schedule gives for one delay, exact (not yet rounded to the cent)."""

    schedule: Schedule
    tier: str
    rate: Decimal
    rate_basis: RateBasis
    capped_part: Decimal
    interest_after_cap: Decimal
    missing_half_years: tuple[str, ...]

    @property
    def amount_cents(self) -> Decimal:
        """Exact surcharge: the capped part plus the interest that runs after the cap."""
        return EXACT.add(self.capped_part, self.interest_after_cap)

    @property
    def provisional(self) -> bool:
        """True when a legal-interest rate had to be borrowed from another half-year."""
        return bool(self.missing_half_years)


def delay_in_days(deadline: date, paid_on: date) -> int:
    """Calendar days after the deadline (the first day after it is day 1); 0 if on time."""
    return max(0, (paid_on - deadline).days)


def not_late(schedule: Schedule) -> ScheduleOutcome:
    """The outcome of a refund paid on or before its deadline: nothing owed."""
    return ScheduleOutcome(schedule, NOT_LATE_TIER, ZERO, RateBasis.NONE, ZERO, ZERO, ())


def schedule_outcome(
    schedule: Schedule,
    base_cents: int,
    products_cents: int,
    deadline: date,
    paid_on: date,
    policy: Policy,
) -> ScheduleOutcome:
    """Surcharge that `schedule` gives for a refund of `base_cents` due on `deadline`."""
    require_cents("base_cents", base_cents)
    require_cents("products_cents", products_cents)
    delay = delay_in_days(deadline, paid_on)
    if delay == 0:
        return not_late(schedule)
    with exact_arithmetic():
        if schedule is Schedule.B:
            return _schedule_b(base_cents, delay, policy.schedules.schedule_b)
        return _schedule_a(base_cents, products_cents, deadline, delay, policy)


def _schedule_b(base_cents: int, delay: int, data: ScheduleBData) -> ScheduleOutcome:
    """Schedule B (L.241-4) for a positive delay: one percentage of the whole base."""
    tier = next(tier for tier in data.tiers if tier.covers(delay))
    fraction = percent_to_fraction(tier.percent)
    return ScheduleOutcome(
        Schedule.B,
        tier.label(Schedule.B),
        fraction,
        RateBasis.PERCENT_OF_BASE,
        base_cents * fraction,
        ZERO,
        (),
    )


def _schedule_a(
    base_cents: int, products_cents: int, deadline: date, delay: int, policy: Policy
) -> ScheduleOutcome:
    """Schedule A (terms Art. 11) for a positive delay, cap and after-cap interest included."""
    own = _a_before_cap(base_cents, deadline, delay, policy)
    if own.capped_part < products_cents:
        return own
    cap_day = _cap_day(base_cents, products_cents, deadline, delay, policy)
    return _a_capped(base_cents, products_cents, deadline, delay, cap_day, policy)


def _a_capped(
    base_cents: int, products_cents: int, deadline: date, delay: int, cap_day: int, policy: Policy
) -> ScheduleOutcome:
    data = policy.schedules.schedule_a
    first, last = deadline + timedelta(days=cap_day), deadline + timedelta(days=delay)
    interest_base = base_cents if data.interest_after_cap else 0
    interest = accrue_legal_interest(interest_base, first, last, policy.rates, data.day_count_basis)
    # The rates that decided the cap day matter as much as those of the interest after it.
    deciding = _a_before_cap(base_cents, deadline, cap_day, policy).missing_half_years
    rate = percent_to_fraction(rate_in_force(last, policy.rates).percent)
    return ScheduleOutcome(
        Schedule.A, f"{Schedule.A}:{CAP_TIER_SUFFIX}", rate, RateBasis.ANNUAL_LEGAL_INTEREST,
        Decimal(products_cents), interest.amount_cents,
        tuple(sorted({*deciding, *interest.missing_half_years})),
    )  # fmt: skip


def _cap_day(
    base_cents: int, products_cents: int, deadline: date, delay: int, policy: Policy
) -> int:
    # Binary search is sound because the schedule's own figure never decreases with the
    # delay (percentages are validated non-decreasing, 5 % outweighs 10 days of interest).
    low, high = 1, delay
    while low < high:
        middle = (low + high) // 2
        if _a_before_cap(base_cents, deadline, middle, policy).capped_part >= products_cents:
            high = middle
        else:
            low = middle + 1
    return low


def _a_before_cap(base_cents: int, deadline: date, delay: int, policy: Policy) -> ScheduleOutcome:
    data = policy.schedules.schedule_a
    if delay <= data.interest_last_day:
        return _a_interest_tier(base_cents, deadline, delay, policy)
    percent, tier = _a_percentage(delay, data)
    fraction = percent_to_fraction(percent)
    return ScheduleOutcome(
        Schedule.A, tier, fraction, RateBasis.PERCENT_OF_BASE, base_cents * fraction, ZERO, ()
    )


def _a_interest_tier(
    base_cents: int, deadline: date, delay: int, policy: Policy
) -> ScheduleOutcome:
    data = policy.schedules.schedule_a
    last_day = deadline + timedelta(days=delay)
    interest = accrue_legal_interest(
        base_cents, deadline + timedelta(days=1), last_day, policy.rates, data.day_count_basis
    )
    rate = rate_in_force(last_day, policy.rates).percent
    tier = f"{Schedule.A}:{data.interest_first_day}-{data.interest_last_day}"
    return ScheduleOutcome(
        Schedule.A,
        tier,
        percent_to_fraction(rate),
        RateBasis.ANNUAL_LEGAL_INTEREST,
        interest.amount_cents,
        ZERO,
        interest.missing_half_years,
    )


def _a_percentage(delay: int, data: ScheduleAData) -> tuple[Decimal, str]:
    """Schedule A's percentage and band label for a delay past the interest days."""
    for tier in data.percentage_tiers:
        if tier.covers(delay):
            return tier.percent, tier.label(Schedule.A)
    steps = data.beyond
    months = -(-(delay - steps.after_day) // steps.month_days)  # started months: ceiling
    first = steps.after_day + (months - 1) * steps.month_days + 1
    last = steps.after_day + months * steps.month_days
    return steps.percent + steps.step_points * months, f"{Schedule.A}:{first}-{last}"
