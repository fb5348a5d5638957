"""The late-refund surcharge owed in a refund situation, rounded once to the cent.

Which schedule applies is policy data (`ScheduleSet.situations`): withdrawal → A,
late_delivery → the larger of A and B for the delay at hand (B on equal amounts: the terms
apply only when they give the buyer more than the law), unavailable → B, blocked → B.
A late-delivery result is provisional when either schedule needed a borrowed rate, because
the missing rate could change which of the two is larger.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.policies.errors import PolicyError, require_cents
from contracts.policies.exact import round_to_cent
from contracts.policies.names import RateBasis, Schedule, Situation
from contracts.policies.policy_data import Policy, load_policy
from contracts.policies.schedules import (
    ScheduleOutcome,
    delay_in_days,
    schedule_outcome,
)


class SurchargeResult(BaseModel):
    """Everything an auditor needs to check a surcharge; `to_json()` is its JSON form."""

    model_config = ConfigDict(frozen=True)

    situation: Situation
    deadline: date
    paid_on: date
    delay_days: int
    schedule: Schedule | None
    tier: str
    rate: Decimal
    rate_basis: RateBasis
    base_cents: int
    products_cents: int
    surcharge_cents: int
    total_cents: int
    policy_version: str
    provisional: bool
    missing_half_years: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: dates as YYYY-MM-DD, the rate as a decimal string ("0.05")."""
        return self.model_dump(mode="json")


def as_situation(value: str | Situation) -> Situation:
    """Parse a situation name, raising PolicyError (a ValueError) for an unknown one."""
    try:
        return Situation(value)
    except ValueError:
        known = ", ".join(situation.value for situation in Situation)
        raise PolicyError(f"unknown situation {value!r}; expected one of: {known}") from None


def compute_surcharge(
    situation: str | Situation,
    base_cents: int,
    products_cents: int,
    deadline: date,
    paid_on: date,
    policy: Policy | None = None,
) -> SurchargeResult:
    """Surcharge owed on a refund of `base_cents` due on `deadline` and paid on `paid_on`.

    `products_cents` is the price of the products concerned (schedule A's cap). For an
    outstanding refund pass today's Paris date as `paid_on`; the clock is never read here.
    """
    situation = as_situation(situation)
    require_cents("base_cents", base_cents)
    require_cents("products_cents", products_cents)
    policy = policy or load_policy()
    outcomes = [
        schedule_outcome(schedule, base_cents, products_cents, deadline, paid_on, policy)
        for schedule in policy.schedules.situations[situation]
    ]
    return _result(situation, base_cents, products_cents, deadline, paid_on, policy, outcomes)


def _result(
    situation: Situation,
    base_cents: int,
    products_cents: int,
    deadline: date,
    paid_on: date,
    policy: Policy,
    outcomes: list[ScheduleOutcome],
) -> SurchargeResult:
    # max() keeps the first of equal amounts: the data lists the preferred schedule first.
    chosen = max(outcomes, key=lambda outcome: outcome.amount_cents)
    delay = delay_in_days(deadline, paid_on)
    surcharge_cents = round_to_cent(chosen.amount_cents)
    missing = sorted({half for outcome in outcomes for half in outcome.missing_half_years})
    return SurchargeResult(
        situation=situation, deadline=deadline, paid_on=paid_on, delay_days=delay,
        schedule=chosen.schedule if delay else None, tier=chosen.tier, rate=chosen.rate,
        rate_basis=chosen.rate_basis, base_cents=base_cents, products_cents=products_cents,
        surcharge_cents=surcharge_cents, total_cents=base_cents + surcharge_cents,
        policy_version=policy.version, provisional=bool(missing),
        missing_half_years=tuple(missing),
    )  # fmt: skip
