"""Events the refunds service emits on ``refunds.events``: obligations, escalations and
issued refunds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from contracts.base import Event
from contracts.vocabulary import Cents

__all__ = [
    "RefundDue",
    "RefundIssued",
    "RefundPenaltyEscalated",
]


class RefundDue(Event):
    """A refund obligation exists, with its deadline, base and the surcharge schedule to apply."""

    refund_id: str
    situation: Literal["withdrawal", "late_delivery", "unavailable", "blocked"]
    base_cents: Cents
    products_cents: Cents
    deadline: dt.date


class RefundPenaltyEscalated(Event):
    """The overdue refund crossed into a new surcharge tier (or reached the cap)."""

    refund_id: str
    delay_days: Annotated[int, Field(ge=1)]
    schedule: str
    tier: str
    rate: str
    base_cents: Cents
    surcharge_cents: Cents
    policy_version: str
    provisional: bool = False


class RefundIssued(Event):
    """The refund was issued: base plus the surcharge owed on the payment date."""

    refund_id: str
    base_cents: Cents
    surcharge_cents: Cents
    total_cents: Cents
    issued_on: dt.date
    policy_version: str
