"""Deadlines and late-refund surcharges as pure, replayable functions of dates and amounts.

No I/O beyond reading the packaged policy data, no clock: "today" is always a parameter.
Dates are Europe/Paris calendar dates (`paris_date` converts a UTC event timestamp), amounts
are integer cents. The readings chosen where RULES.md leaves room are documented in
`deadlines`, `legal_interest`, `schedules`, `surcharges` and `escalation`.
Command line for auditors and operators: `python -m contracts.policies --help`.
"""

from contracts.policies.deadlines import (
    blocked_refund_deadline,
    conformity_claim_deadline,
    delivery_deadline,
    goods_return_deadline,
    incorrect_delivery_claim_deadline,
    reservation_confirmation_deadline,
    return_request_deadline,
    termination_refund_deadline,
    unavailable_refund_deadline,
    withdrawal_refund_deadline,
    withdrawal_refund_deadline_is_provisional,
    withdrawal_window_deadline,
)
from contracts.policies.errors import PolicyError
from contracts.policies.escalation import EscalationStep, escalation_steps
from contracts.policies.french_calendar import (
    add_calendar_days,
    add_working_days,
    add_years,
    is_public_holiday,
    is_working_day,
    paris_date,
)
from contracts.policies.legal_interest import accrue_legal_interest, half_year_of
from contracts.policies.names import RateBasis, Schedule, Situation
from contracts.policies.policy_data import (
    Policy,
    RateTable,
    ScheduleSet,
    load_policy,
    rate_table_versions,
    schedule_versions,
    with_recorded_rates,
)
from contracts.policies.schedules import ScheduleOutcome, delay_in_days, schedule_outcome
from contracts.policies.surcharges import SurchargeResult, as_situation, compute_surcharge

__all__ = [
    "EscalationStep",
    "Policy",
    "PolicyError",
    "RateBasis",
    "RateTable",
    "Schedule",
    "ScheduleOutcome",
    "ScheduleSet",
    "Situation",
    "SurchargeResult",
    "accrue_legal_interest",
    "add_calendar_days",
    "add_working_days",
    "add_years",
    "as_situation",
    "blocked_refund_deadline",
    "compute_surcharge",
    "conformity_claim_deadline",
    "delay_in_days",
    "delivery_deadline",
    "escalation_steps",
    "goods_return_deadline",
    "half_year_of",
    "incorrect_delivery_claim_deadline",
    "is_public_holiday",
    "is_working_day",
    "load_policy",
    "paris_date",
    "rate_table_versions",
    "reservation_confirmation_deadline",
    "return_request_deadline",
    "schedule_outcome",
    "schedule_versions",
    "termination_refund_deadline",
    "unavailable_refund_deadline",
    "with_recorded_rates",
    "withdrawal_refund_deadline",
    "withdrawal_refund_deadline_is_provisional",
    "withdrawal_window_deadline",
]
