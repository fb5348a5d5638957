"""Escalation steps: the dates on which an unpaid refund changes tier or reaches the cap."""

from datetime import date

from contracts.policies import escalation_steps

DEADLINE = date(2025, 1, 31)


def _summary(situation: str, products: int, until: date) -> list[tuple[str, str, int]]:
    steps = escalation_steps(situation, 100_000, products, DEADLINE, until)
    return [(step.date.isoformat(), step.tier, step.surcharge_cents) for step in steps]


def test_withdrawal_steps_up_to_the_cap() -> None:
    # Day n after 2025-01-31: 11 → 02-11, 31 → 03-03, 61 → 04-02, 91 → 05-02, 241 → 09-29.
    assert _summary("withdrawal", 80_000, date(2025, 12, 31)) == [
        ("2025-02-01", "A:1-10", 20),
        ("2025-02-11", "A:11-20", 5_000),
        ("2025-02-21", "A:21-30", 10_000),
        ("2025-03-03", "A:31-60", 20_000),
        ("2025-04-02", "A:61-90", 50_000),
        ("2025-05-02", "A:91-120", 55_000),
        ("2025-06-01", "A:121-150", 60_000),
        ("2025-07-01", "A:151-180", 65_000),
        ("2025-07-31", "A:181-210", 70_000),
        ("2025-08-30", "A:211-240", 75_000),
        ("2025-09-29", "A:cap", 80_018),
    ]


def test_late_delivery_steps_switch_from_the_law_to_the_terms() -> None:
    assert _summary("late_delivery", 80_000, date(2025, 6, 15)) == [
        ("2025-02-01", "B:1-14", 10_000),
        ("2025-02-15", "B:15-30", 20_000),
        ("2025-03-03", "B:31+", 50_000),
        ("2025-05-02", "A:91-120", 55_000),
        ("2025-06-01", "A:121-150", 60_000),
    ]


def test_unavailable_has_three_steps_for_ever() -> None:
    assert _summary("unavailable", 80_000, date(2030, 1, 1)) == [
        ("2025-02-01", "B:1-14", 10_000),
        ("2025-02-15", "B:15-30", 20_000),
        ("2025-03-03", "B:31+", 50_000),
    ]


def test_until_on_or_before_the_deadline_gives_no_step() -> None:
    assert _summary("blocked", 80_000, DEADLINE) == []
    assert _summary("blocked", 80_000, date(2024, 1, 1)) == []


def test_steps_carry_the_policy_version_and_provisional_flag() -> None:
    steps = escalation_steps("withdrawal", 100_000, 80_000, date(2026, 6, 25), date(2026, 7, 1))
    assert len(steps) == 1
    assert steps[0].to_json() == {
        "date": "2026-06-26",
        "delay_days": 1,
        "schedule": "A",
        "tier": "A:1-10",
        "rate": "0.0667",
        "rate_basis": "annual_legal_interest",
        "surcharge_cents": 18,  # 6 670 / 365 = 18.27
        "total_cents": 100_018,
        "policy_version": "schedules-v1+rates-2026S1",
        "provisional": False,
        "missing_half_years": [],
    }
