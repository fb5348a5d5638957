"""Escalation steps: the dates on which an unpaid refund's surcharge changes tier or is capped.

The refunds service records one escalation event per step. A step is emitted on the first
day of delay and on every later day whose tier label differs from the day before (a new
band, a switch between schedules A and B for late deliveries, or "A:cap"). Between steps
the tier stays the same, though interest tiers still grow day by day: the amount finally
paid is always recomputed with `compute_surcharge` at the payment date.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from contracts.policies.names import RateBasis, Schedule, Situation
from contracts.policies.policy_data import Policy, load_policy
from contracts.policies.surcharges import SurchargeResult, as_situation, compute_surcharge


class EscalationStep(BaseModel):
    """The surcharge owed from `date` on, when it enters tier `tier`."""

    model_config = ConfigDict(frozen=True)

    date: date
    delay_days: int
    schedule: Schedule | None
    tier: str
    rate: Decimal
    rate_basis: RateBasis
    surcharge_cents: int
    total_cents: int
    policy_version: str
    provisional: bool
    missing_half_years: tuple[str, ...]

    @classmethod
    def from_result(cls, result: SurchargeResult) -> "EscalationStep":
        """The step a surcharge computed for `result.paid_on` represents."""
        fields = result.model_dump(include=set(cls.model_fields) - {"date"})
        return cls(date=result.paid_on, **fields)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: dates as YYYY-MM-DD, the rate as a decimal string."""
        return self.model_dump(mode="json")


def escalation_steps(
    situation: str | Situation,
    base_cents: int,
    products_cents: int,
    deadline: date,
    until: date,
    policy: Policy | None = None,
) -> list[EscalationStep]:
    """Every date after `deadline`, up to `until` included, on which the tier changes."""
    situation = as_situation(situation)
    policy = policy or load_policy()
    steps: list[EscalationStep] = []
    for delay in range(1, (until - deadline).days + 1):
        day = deadline + timedelta(days=delay)
        result = compute_surcharge(situation, base_cents, products_cents, deadline, day, policy)
        if not steps or steps[-1].tier != result.tier:
            steps.append(EscalationStep.from_result(result))
    return steps
