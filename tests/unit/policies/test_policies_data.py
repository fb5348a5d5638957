"""The versioned policy data: what RULES.md records, versions that replay, rates that extend."""

from datetime import date
from decimal import Decimal

import pytest

from contracts.policies import PolicyError, compute_surcharge, load_policy

# RULES.md's legal-interest table, copied by hand.
RULES_MD_RATES = {
    "2020-S1": "3.15", "2020-S2": "3.11", "2021-S1": "3.14", "2021-S2": "3.12",
    "2022-S1": "3.13", "2022-S2": "3.15", "2023-S1": "4.47", "2023-S2": "6.82",
    "2024-S1": "8.01", "2024-S2": "8.16", "2025-S1": "7.21", "2025-S2": "6.65",
    "2026-S1": "6.67",
}  # fmt: skip


def test_rate_table_is_rules_md_and_stops_at_2026_s1() -> None:
    rates = load_policy().rates.percent_by_half_year
    assert {half: str(percent) for half, percent in rates.items()} == RULES_MD_RATES
    assert "2026-S2" not in rates


def test_latest_policy_version_is_named_and_reloadable() -> None:
    policy = load_policy()
    assert policy.version == "schedules-v1+rates-2026S1"
    assert load_policy(policy.version) == policy


def test_unknown_policy_version_is_refused() -> None:
    with pytest.raises(PolicyError, match="unknown policy version"):
        load_policy("schedules-v0+rates-1999S1")


def test_schedules_are_rules_md() -> None:
    schedules = load_policy().schedules
    a_bands = [
        (t.first_day, t.last_day, str(t.percent)) for t in schedules.schedule_a.percentage_tiers
    ]
    assert a_bands == [(11, 20, "5"), (21, 30, "10"), (31, 60, "20"), (61, 90, "50")]
    b_bands = [(t.first_day, t.last_day, str(t.percent)) for t in schedules.schedule_b.tiers]
    assert b_bands == [(1, 14, "10"), (15, 30, "20"), (31, None, "50")]
    assert {s.value: [x.value for x in v] for s, v in schedules.situations.items()} == {
        "withdrawal": ["A"], "late_delivery": ["B", "A"], "unavailable": ["B"], "blocked": ["B"],
    }  # fmt: skip


def test_recording_the_missing_rate_makes_the_figure_final() -> None:
    policy = load_policy()
    extended = policy.model_copy(
        update={"rates": policy.rates.with_rate("2026-S2", Decimal("6.00"), "rates-test")}
    )
    deadline, paid_on = date(2026, 6, 25), date(2026, 7, 5)
    before = compute_surcharge("withdrawal", 100_000, 80_000, deadline, paid_on, policy)
    after = compute_surcharge("withdrawal", 100_000, 80_000, deadline, paid_on, extended)
    # 5 days at 6.67 + 5 days at 6.00: 100 000 × 63.35 / 36 500 = 173.56
    assert (before.surcharge_cents, before.provisional) == (183, True)
    assert (after.surcharge_cents, after.provisional) == (174, False)
    assert after.policy_version == "schedules-v1+rates-test"


def test_a_rate_before_the_table_borrows_the_earliest_and_is_provisional() -> None:
    result = compute_surcharge("withdrawal", 100_000, 80_000, date(2019, 12, 1), date(2019, 12, 2))
    # 1 day at 3.15 (2020-S1, the earliest known): 100 000 × 3.15 / 36 500 = 8.63
    assert (result.surcharge_cents, result.missing_half_years) == (9, ("2019-S2",))
