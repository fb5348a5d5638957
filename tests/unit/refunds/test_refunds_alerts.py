"""Operators are alerted when a recorded figure borrows a legal-interest rate not recorded yet,
whether the sweep or a payout recorded it."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from contracts.policies import compute_surcharge, load_policy
from services.refunds.handlers import alert_if_provisional
from services.refunds.views import MissingRate, RefundView, missing_rates


def recorded(*payloads: dict[str, Any]) -> list[Any]:
    return [SimpleNamespace(payload=payload) for payload in payloads]


def test_a_figure_borrowing_a_rate_alerts_naming_the_half_years(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="services.refunds.handlers"):
        alert_if_provisional("o-1", recorded(
            {"type": "RefundPayoutRequested", "missing_half_years": ["2026-S2"]},
            {"missing_half_years": ["2027-S1", "2026-S2"]}))
    [alert] = caplog.records
    assert alert.levelno == logging.WARNING
    assert "o-1" in alert.getMessage() and "2026-S2, 2027-S1" in alert.getMessage()


def test_figures_with_every_rate_recorded_raise_no_alert(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="services.refunds.handlers"):
        alert_if_provisional("o-1", recorded({"missing_half_years": []}, {"base_cents": 1}))
    assert caplog.records == []


def live(refund_id: str, owed_on: str, voided: bool = False) -> RefundView:
    """A withdrawal refund owed since 2025, at its cap, as owed on ``owed_on``: its legal
    interest accrues day by day without recording a step."""
    now = compute_surcharge("withdrawal", 10000, 9000, dt.date(2025, 1, 1),
                            dt.date.fromisoformat(owed_on), load_policy())
    return RefundView.model_construct(
        refund_id=refund_id, provisional=now.provisional,
        missing_half_years=list(now.missing_half_years),
        voided_on=dt.date(2026, 9, 1) if voided else None)


def test_the_alert_names_each_half_year_figures_recorded_or_accruing_borrow_a_rate_for(
) -> None:
    # given a paid refund whose recorded figure borrows for 2026-S2, and refunds at their cap
    # accruing today (one voided) whose live figure borrows for it too, with no step recorded
    accruing = [live("r-2", "2026-09-01"), live("r-3", "2026-09-01", voided=True),
                live("r-4", "2026-06-01")]
    assert accruing[0].provisional and accruing[0].missing_half_years == ["2026-S2"]
    assert not accruing[2].provisional  # 2026-S1: shipped
    # then 2026-S2 is named for both refunds that still borrow, the voided one left out
    assert missing_rates({"2026-S2": ["r-1"], "2027-S1": ["r-1"]}, accruing, []) == [
        MissingRate(half_year="2026-S2", refunds=2), MissingRate(half_year="2027-S1", refunds=1)]
    # and a half-year whose rate is recorded since leaves the alert (the sweep corrects them)
    assert missing_rates({"2026-S2": ["r-1"]}, accruing, ["2026-S2"]) == []
