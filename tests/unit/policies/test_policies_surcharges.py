"""Surcharge tables at and around every boundary; every expected figure worked out by hand.

Hand arithmetic used below (legal interest = base × Σ(rate % × days) / 36 500, rounded half up):
- deadline 2025-01-31: delay days 1–150 fall in 2025-S1 (7.21 %), day 151 is 2025-07-01.
  base 1 000 €: d=1 → 7 210 / 365 = 19.75 → 20 cents; d=10 → 72 100 / 365 = 197.53 → 198.
- cap at products 800 €: 75 % on days 211–240 (75 000), 80 % from day 241 (2025-09-29,
  2025-S2, 6.65 %) reaches 80 000: day 241 → 80 000 + 6 650 / 365 (18.22) = 80 018.
  Day 400 (2026-03-07): interest days 241–400 = 94 days at 6.65 + 66 days at 6.67
  → 100 000 × 1 065.32 / 36 500 = 2 918.68 → 80 000 + 2 919 = 82 919.
  Day 1 000 (2027-10-28): 94 days at 6.65 + 666 days at 6.67 (2026-S1 181 days, then 485
  days of unrecorded half-years borrowing 6.67) → 100 000 × 5 067.32 / 36 500 = 13 883.07
  → 93 883, provisional.
"""

from datetime import date, timedelta

import pytest

from contracts.policies import PolicyError, Situation, compute_surcharge

BASE = 100_000
PRODUCTS = 80_000
DEADLINE = date(2025, 1, 31)

# (delay, tier, rate, surcharge cents)
SCHEDULE_A_CASES = [
    (0, "none", "0", 0),
    (1, "A:1-10", "0.0721", 20),
    (2, "A:1-10", "0.0721", 40),  # 14 420 / 365 = 39.51
    (10, "A:1-10", "0.0721", 198),
    (11, "A:11-20", "0.05", 5_000),
    (20, "A:11-20", "0.05", 5_000),
    (21, "A:21-30", "0.1", 10_000),
    (30, "A:21-30", "0.1", 10_000),
    (31, "A:31-60", "0.2", 20_000),
    (60, "A:31-60", "0.2", 20_000),
    (61, "A:61-90", "0.5", 50_000),
    (90, "A:61-90", "0.5", 50_000),
    (91, "A:91-120", "0.55", 55_000),
    (120, "A:91-120", "0.55", 55_000),
    (121, "A:121-150", "0.6", 60_000),
    (150, "A:121-150", "0.6", 60_000),
    (151, "A:151-180", "0.65", 65_000),
    (240, "A:211-240", "0.75", 75_000),
    (241, "A:cap", "0.0665", 80_018),
    (400, "A:cap", "0.0667", 82_919),
]


def _paid(delay: int, deadline: date = DEADLINE) -> date:
    return deadline + timedelta(days=delay)


@pytest.mark.parametrize(("delay", "tier", "rate", "surcharge"), SCHEDULE_A_CASES)
def test_schedule_a_withdrawal(delay: int, tier: str, rate: str, surcharge: int) -> None:
    result = compute_surcharge("withdrawal", BASE, PRODUCTS, DEADLINE, _paid(delay))
    got = (result.delay_days, result.tier, str(result.rate), result.surcharge_cents)
    assert got == (delay, tier, rate, surcharge)
    assert result.total_cents == BASE + surcharge
    assert result.schedule == ("A" if delay else None)
    assert result.provisional is False


def test_far_beyond_the_cap_borrows_the_latest_rate() -> None:
    result = compute_surcharge("withdrawal", BASE, PRODUCTS, DEADLINE, _paid(1000))
    assert (result.tier, result.surcharge_cents) == ("A:cap", 93_883)
    assert result.provisional is True
    assert result.missing_half_years == ("2026-S2", "2027-S1", "2027-S2")


def test_products_above_the_base_are_never_reached_by_small_percentages() -> None:
    result = compute_surcharge("withdrawal", 10_000, 1_000_000, DEADLINE, _paid(121))
    assert (result.tier, result.surcharge_cents) == ("A:121-150", 6_000)


# (situation, delay, schedule, tier, surcharge cents)
SCHEDULE_B_CASES = [
    ("unavailable", 0, None, "none", 0),
    ("unavailable", 1, "B", "B:1-14", 10_000),
    ("unavailable", 14, "B", "B:1-14", 10_000),
    ("unavailable", 15, "B", "B:15-30", 20_000),
    ("unavailable", 30, "B", "B:15-30", 20_000),
    ("unavailable", 31, "B", "B:31+", 50_000),
    ("unavailable", 1000, "B", "B:31+", 50_000),  # no cap, no rate needed
    ("blocked", 1, "B", "B:1-14", 10_000),
    ("blocked", 15, "B", "B:15-30", 20_000),
    ("blocked", 31, "B", "B:31+", 50_000),
]


@pytest.mark.parametrize(("situation", "delay", "schedule", "tier", "surcharge"), SCHEDULE_B_CASES)
def test_schedule_b(
    situation: str, delay: int, schedule: str | None, tier: str, surcharge: int
) -> None:
    result = compute_surcharge(situation, BASE, PRODUCTS, DEADLINE, _paid(delay))
    assert (result.schedule, result.tier, result.surcharge_cents) == (schedule, tier, surcharge)
    assert result.provisional is False


# Late delivery takes the larger of A and B for each delay; B on equal amounts.
# (products cents, delay, schedule, tier, surcharge cents)
LATE_DELIVERY_CASES = [
    (PRODUCTS, 1, "B", "B:1-14", 10_000),  # A: 20 cents of interest
    (PRODUCTS, 10, "B", "B:1-14", 10_000),
    (PRODUCTS, 11, "B", "B:1-14", 10_000),  # A: 5 %
    (PRODUCTS, 15, "B", "B:15-30", 20_000),
    (PRODUCTS, 30, "B", "B:15-30", 20_000),  # A: 10 %
    (PRODUCTS, 31, "B", "B:31+", 50_000),  # A: 20 %
    (PRODUCTS, 61, "B", "B:31+", 50_000),  # A: 50 %, a tie
    (PRODUCTS, 90, "B", "B:31+", 50_000),
    (PRODUCTS, 91, "A", "A:91-120", 55_000),
    (PRODUCTS, 121, "A", "A:121-150", 60_000),
    (PRODUCTS, 241, "A", "A:cap", 80_018),
    (30_000, 91, "B", "B:31+", 50_000),  # A capped at 30 000 + a month of interest
]


@pytest.mark.parametrize(
    ("products", "delay", "schedule", "tier", "surcharge"), LATE_DELIVERY_CASES
)
def test_late_delivery_takes_the_larger_schedule(
    products: int, delay: int, schedule: str, tier: str, surcharge: int
) -> None:
    result = compute_surcharge("late_delivery", BASE, products, DEADLINE, _paid(delay))
    assert (result.schedule, result.tier, result.surcharge_cents) == (schedule, tier, surcharge)


# Interest accrues at the rate of the half-year containing each day.
# (deadline, delay, surcharge cents, rate, missing half-years)
RATE_CHANGE_CASES = [
    # 5 days in 2025-S1 at 7.21 + 5 days in 2025-S2 at 6.65: 100 000 × 69.30 / 36 500 = 189.86
    (date(2025, 6, 25), 10, 190, "0.0665", ()),
    # only the 5 days of 2025-S1: 100 000 × 36.05 / 36 500 = 98.77
    (date(2025, 6, 25), 5, 99, "0.0721", ()),
    # 3 days at 6.65 (2025-S2) + 7 days at 6.67 (2026-S1): 100 000 × 66.64 / 36 500 = 182.58
    (date(2025, 12, 28), 10, 183, "0.0667", ()),
    # 2026-S2 is not recorded: 10 days at 6.67 borrowed: 100 000 × 66.70 / 36 500 = 182.74
    (date(2026, 6, 25), 10, 183, "0.0667", ("2026-S2",)),
    # the same deadline paid before 1 July needs no missing rate: 33.35 → 91.37
    (date(2026, 6, 25), 5, 91, "0.0667", ()),
]


@pytest.mark.parametrize(("deadline", "delay", "surcharge", "rate", "missing"), RATE_CHANGE_CASES)
def test_interest_across_half_years(
    deadline: date, delay: int, surcharge: int, rate: str, missing: tuple[str, ...]
) -> None:
    result = compute_surcharge("withdrawal", BASE, PRODUCTS, deadline, _paid(delay, deadline))
    assert (result.surcharge_cents, str(result.rate)) == (surcharge, rate)
    assert result.missing_half_years == missing
    assert result.provisional is bool(missing)


@pytest.mark.parametrize(
    ("base", "surcharge"),
    [(50, 3), (30, 2), (10, 1), (90, 5)],  # 2.5, 1.5, 0.5, 4.5 cents: half up, not half even
)
def test_rounding_is_half_up_once(base: int, surcharge: int) -> None:
    result = compute_surcharge("withdrawal", base, base, DEADLINE, _paid(11))
    assert result.surcharge_cents == surcharge


def test_paid_before_the_deadline_owes_nothing() -> None:
    result = compute_surcharge("late_delivery", BASE, PRODUCTS, DEADLINE, _paid(-3))
    assert (result.delay_days, result.surcharge_cents, result.total_cents) == (0, 0, BASE)


def test_result_names_everything_an_auditor_needs() -> None:
    result = compute_surcharge(Situation.WITHDRAWAL, BASE, PRODUCTS, DEADLINE, _paid(11))
    assert result.to_json() == {
        "situation": "withdrawal",
        "deadline": "2025-01-31",
        "paid_on": "2025-02-11",
        "delay_days": 11,
        "schedule": "A",
        "tier": "A:11-20",
        "rate": "0.05",
        "rate_basis": "percent_of_base",
        "base_cents": 100_000,
        "products_cents": 80_000,
        "surcharge_cents": 5_000,
        "total_cents": 105_000,
        "policy_version": "schedules-v1+rates-2026S1",
        "provisional": False,
        "missing_half_years": [],
    }


@pytest.mark.parametrize(
    ("situation", "base", "products"),
    [("refund", BASE, PRODUCTS), ("withdrawal", -1, PRODUCTS), ("withdrawal", BASE, -1)],
)
def test_invalid_inputs_are_refused(situation: str, base: int, products: int) -> None:
    with pytest.raises(PolicyError):
        compute_surcharge(situation, base, products, DEADLINE, _paid(5))
