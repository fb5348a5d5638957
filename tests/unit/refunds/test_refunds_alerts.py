"""Operators are alerted when a recorded figure borrows a legal-interest rate not recorded yet,
whether the sweep or a payout recorded it."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from services.refunds.handlers import alert_if_provisional


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
