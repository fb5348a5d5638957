"""Versioned policy data: the surcharge schedules and the legal-interest rate table.

The figures live in the JSON files next to this module (`surcharge_schedules.json`,
`legal_interest_rates.json`), one entry per version, never as constants in code. A `Policy`
pairs one schedules version with one rate-table version; its identifier, e.g.
"schedules-v1+rates-2026S1", is carried by every result, and `load_policy(identifier)` gives
an auditor back exactly the data a figure was computed from.

Operators record new half-year rates as events; `with_recorded_rates` folds them into the
table, under a rate-table version that names each one ("rates-2026S1;2026-S2=1.96"), so the
version alone still gives an auditor the exact table back.
"""

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal, NamedTuple, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.policies.errors import PolicyError
from contracts.policies.names import Schedule, Situation

SCHEDULES_FILE = "surcharge_schedules.json"
RATES_FILE = "legal_interest_rates.json"
VERSION_SEPARATOR = "+"
RECORDED_SEPARATOR = ";"
ModelT = TypeVar("ModelT", bound=BaseModel)

HalfYear = Annotated[str, Field(pattern=r"^\d{4}-S[12]$")]
Percent = Annotated[Decimal, Field(ge=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PercentTier(_Frozen):
    """A band of delay days (both ends included; open-ended when last_day is None)."""

    first_day: int = Field(ge=1)
    last_day: int | None
    percent: Percent

    def covers(self, delay_days: int) -> bool:
        """Tell whether this band contains `delay_days`."""
        below_end = self.last_day is None or delay_days <= self.last_day
        return self.first_day <= delay_days and below_end

    def label(self, schedule: Schedule) -> str:
        """Name the band as results show it, e.g. "A:11-20" or "B:31+"."""
        end = "+" if self.last_day is None else f"-{self.last_day}"
        return f"{schedule}:{self.first_day}{end}"


class MonthlySteps(_Frozen):
    """Schedule A after its last band: percent + step_points per started month of month_days."""

    after_day: int = Field(ge=1)
    percent: Percent
    step_points: Percent
    month_days: int = Field(ge=1)


class ScheduleAData(_Frozen):
    """Schedule A: legal interest first, then percentage bands, then monthly steps, capped."""

    interest_first_day: Literal[1]
    interest_last_day: int = Field(ge=1)
    day_count_basis: int = Field(ge=1)
    percentage_tiers: tuple[PercentTier, ...] = Field(min_length=1)
    beyond: MonthlySteps
    cap: Literal["products_price"]
    interest_after_cap: bool

    @model_validator(mode="after")
    def _bands_are_contiguous(self) -> Self:
        starts = [self.interest_last_day + 1] + [t.first_day for t in self.percentage_tiers[1:]]
        ends = [t.last_day for t in self.percentage_tiers]
        if [t.first_day for t in self.percentage_tiers] != starts:
            raise ValueError("schedule A bands must follow each other without gap")
        if ends[-1] != self.beyond.after_day or None in ends:
            raise ValueError("schedule A's last band must end where the monthly steps start")
        _require_non_decreasing([t.percent for t in self.percentage_tiers] + [self.beyond.percent])
        return self


class ScheduleBData(_Frozen):
    """Schedule B: percentage bands, the last one open-ended."""

    tiers: tuple[PercentTier, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _bands_are_contiguous(self) -> Self:
        expected_starts = [1] + [(t.last_day or 0) + 1 for t in self.tiers[:-1]]
        if [t.first_day for t in self.tiers] != expected_starts or self.tiers[-1].last_day:
            raise ValueError("schedule B bands must start at day 1, follow each other, end open")
        _require_non_decreasing([t.percent for t in self.tiers])
        return self


def _require_non_decreasing(percents: list[Decimal]) -> None:
    # The cap search and the escalation steps rely on surcharges never going down.
    if percents != sorted(percents):
        raise ValueError("surcharge percentages must not decrease as the delay grows")


class ScheduleSet(_Frozen):
    """One version of both schedules and of the schedule(s) each situation compares."""

    version: str = Field(min_length=1)
    source: str
    schedule_a: ScheduleAData
    schedule_b: ScheduleBData
    situations: dict[Situation, tuple[Schedule, ...]]
    note: str = ""

    @model_validator(mode="after")
    def _every_situation_has_a_schedule(self) -> Self:
        if set(self.situations) != set(Situation) or not all(self.situations.values()):
            raise ValueError("every situation needs at least one schedule")
        return self


class RateLookup(NamedTuple):
    """The annual rate (in percent) used for a half-year, and whether it had to be borrowed."""

    percent: Decimal
    missing: bool


class RateTable(_Frozen):
    """One version of the legal-interest table: annual percent per half-year ("2026-S1")."""

    version: str = Field(min_length=1)
    source: str = ""
    percent_by_half_year: dict[HalfYear, Percent] = Field(min_length=1)

    def lookup(self, half_year: str) -> RateLookup:
        """Rate of `half_year`; if unrecorded, the latest recorded before it (else the earliest)."""
        if half_year in self.percent_by_half_year:
            return RateLookup(self.percent_by_half_year[half_year], missing=False)
        recorded = sorted(self.percent_by_half_year)  # "YYYY-Sn" sorts chronologically
        earlier = [known for known in recorded if known < half_year]
        borrowed = earlier[-1] if earlier else recorded[0]
        return RateLookup(self.percent_by_half_year[borrowed], missing=True)

    def with_rate(self, half_year: str, percent: Decimal, version: str) -> "RateTable":
        """Return a new table version with one more (or a corrected) half-year rate."""
        rates = {**self.percent_by_half_year, half_year: percent}
        return _validated(
            RateTable, {"version": version, "source": self.source, "percent_by_half_year": rates}
        )


class Policy(_Frozen):
    """The schedules and rate table a computation uses; `version` names both."""

    schedules: ScheduleSet
    rates: RateTable

    @property
    def version(self) -> str:
        """Identifier carried by results, accepted back by `load_policy`."""
        return f"{self.schedules.version}{VERSION_SEPARATOR}{self.rates.version}"


def with_recorded_rates(policy: Policy, recorded: Mapping[str, Decimal]) -> Policy:
    """`policy` with the half-year rates operators recorded (they win over the shipped table);
    its version lists them in half-year order, so `load_policy(version)` rebuilds it."""
    rates, version = policy.rates, policy.rates.version
    for half_year in sorted(recorded):
        version += f"{RECORDED_SEPARATOR}{half_year}={recorded[half_year]}"
        rates = rates.with_rate(half_year, Decimal(recorded[half_year]), version)
    return Policy(schedules=policy.schedules, rates=rates)


def _recorded_rates(pairs: list[str], version: str) -> dict[str, Decimal]:
    recorded: dict[str, Decimal] = {}
    for pair in pairs:
        half_year, _, percent = pair.partition("=")
        try:
            recorded[half_year] = Decimal(percent)
        except ArithmeticError as error:
            raise PolicyError(f"policy version {version!r}: bad recorded rate {pair!r}") from error
    return recorded


def _validated(model: type[ModelT], raw: Any) -> ModelT:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise PolicyError(f"invalid {model.__name__} data: {error}") from error


def _read_versions(file_name: str) -> list[dict[str, Any]]:
    text = resources.files(__package__).joinpath(file_name).read_text(encoding="utf-8")
    versions: list[dict[str, Any]] = json.loads(text)["versions"]
    return versions


@lru_cache(maxsize=1)
def schedule_versions() -> dict[str, ScheduleSet]:
    """Every recorded schedules version, oldest first, by identifier."""
    sets = [_validated(ScheduleSet, raw) for raw in _read_versions(SCHEDULES_FILE)]
    return {schedule_set.version: schedule_set for schedule_set in sets}


@lru_cache(maxsize=1)
def rate_table_versions() -> dict[str, RateTable]:
    """Every recorded legal-interest table version, oldest first, by identifier."""
    tables = [_validated(RateTable, raw) for raw in _read_versions(RATES_FILE)]
    return {table.version: table for table in tables}


@lru_cache(maxsize=32)
def load_policy(version: str | None = None) -> Policy:
    """Load the policy named `version` ("schedules-…+rates-…"), or the latest one if None."""
    schedules, rates = schedule_versions(), rate_table_versions()
    if version is None:
        return Policy(schedules=list(schedules.values())[-1], rates=list(rates.values())[-1])
    schedules_id, _, rates_part = version.partition(VERSION_SEPARATOR)
    rates_id, *recorded = rates_part.split(RECORDED_SEPARATOR)
    if schedules_id not in schedules or rates_id not in rates:
        known = [f"{s}{VERSION_SEPARATOR}{r}" for s in schedules for r in rates]
        raise PolicyError(f"unknown policy version {version!r}; known: {', '.join(known)}")
    policy = Policy(schedules=schedules[schedules_id], rates=rates[rates_id])
    return with_recorded_rates(policy, _recorded_rates(recorded, version)) if recorded else policy
