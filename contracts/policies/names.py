"""The vocabulary shared by the policy data, the computations and the command line."""

from enum import StrEnum


class Situation(StrEnum):
    """Why a refund is owed; RULES.md's "which applies" table is keyed on it."""

    WITHDRAWAL = "withdrawal"
    LATE_DELIVERY = "late_delivery"
    UNAVAILABLE = "unavailable"
    BLOCKED = "blocked"


class Schedule(StrEnum):
    """A: the terms' schedule (Art. 11, worded as L.242-4). B: the statute (L.241-4)."""

    A = "A"
    B = "B"


class RateBasis(StrEnum):
    """What the `rate` of a result multiplies."""

    NONE = "none"
    PERCENT_OF_BASE = "percent_of_base"
    ANNUAL_LEGAL_INTEREST = "annual_legal_interest"


NOT_LATE_TIER = "none"
CAP_TIER_SUFFIX = "cap"
