"""`python -m contracts.policies` run as auditors run it: a subprocess printing JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "contracts.policies", *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _json(*args: str) -> Any:
    completed = _run(*args)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@pytest.mark.parametrize(
    ("args", "deadline"),
    [
        (["delivery", "--from", "2026-05-13"], "2026-05-21"),
        (["withdrawal-window", "--from", "2026-05-13"], "2026-06-04"),
        (["goods-return", "--from", "2026-12-20"], "2027-01-03"),
        (["withdrawal-refund", "--from", "2026-03-02"], "2026-03-16"),
        (["withdrawal-refund", "--from", "2026-03-02", "--goods-received", "2026-03-25",
          "--proof-of-dispatch", "2026-03-18"], "2026-03-18"),
        (["termination-refund", "--from", "2026-12-25"], "2027-01-08"),
        (["unavailable-refund", "--from", "2026-01-10", "--cancellation", "2026-01-20"],
         "2026-02-03"),
        (["blocked-refund", "--from", "2026-02-20"], "2026-03-06"),
        (["reservation-confirmation", "--from", "2026-05-13"], "2026-05-18"),
        (["return-request", "--from", "2026-12-28"], "2027-01-04"),
        (["incorrect-delivery-claim", "--from", "2026-04-03"], "2026-04-07"),
        (["conformity-claim", "--from", "2024-02-29"], "2026-03-01"),
    ],
)  # fmt: skip
def test_deadline_command(args: list[str], deadline: str) -> None:
    output = _json("deadline", *args)
    assert (output["rule"], output["deadline"]) == (args[0], deadline)


def test_deadline_command_reports_a_provisional_withdrawal_refund() -> None:
    output = _json("deadline", "withdrawal-refund", "--from", "2026-03-02")
    assert output["provisional"] is True
    assert output["counts_from"] == "withdrawal notice"


def test_surcharge_command() -> None:
    output = _json(
        "surcharge", "--situation", "withdrawal", "--base-cents", "100000",
        "--products-cents", "80000", "--deadline", "2026-06-25", "--paid-on", "2026-07-05",
    )  # fmt: skip
    # 10 days at 6.67 %, 2026-S2 borrowed: 100 000 × 66.7 / 36 500 = 182.74
    assert {key: output[key] for key in (
        "delay_days", "schedule", "tier", "rate", "base_cents", "surcharge_cents",
        "total_cents", "policy_version", "provisional", "missing_half_years",
    )} == {
        "delay_days": 10, "schedule": "A", "tier": "A:1-10", "rate": "0.0667",
        "base_cents": 100_000, "surcharge_cents": 183, "total_cents": 100_183,
        "policy_version": "schedules-v1+rates-2026S1", "provisional": True,
        "missing_half_years": ["2026-S2"],
    }  # fmt: skip


def test_surcharge_paid_on_time_is_zero() -> None:
    output = _json(
        "surcharge", "--situation", "late_delivery", "--base-cents", "5000",
        "--products-cents", "4000", "--deadline", "2026-06-25", "--paid-on", "2026-06-25",
    )  # fmt: skip
    assert (output["delay_days"], output["surcharge_cents"], output["total_cents"]) == (0, 0, 5000)


def test_escalation_command() -> None:
    output = _json(
        "escalation", "--situation", "unavailable", "--base-cents", "100000",
        "--products-cents", "80000", "--deadline", "2025-01-31", "--until", "2026-01-31",
    )  # fmt: skip
    assert [(s["date"], s["tier"], s["rate"], s["surcharge_cents"]) for s in output] == [
        ("2025-02-01", "B:1-14", "0.1", 10_000),
        ("2025-02-15", "B:15-30", "0.2", 20_000),
        ("2025-03-03", "B:31+", "0.5", 50_000),
    ]


def test_replaying_with_a_named_policy_version() -> None:
    output = _json(
        "surcharge", "--situation", "blocked", "--base-cents", "100", "--products-cents", "100",
        "--deadline", "2026-01-01", "--paid-on", "2026-01-02",
        "--policy-version", "schedules-v1+rates-2026S1",
    )  # fmt: skip
    assert output["surcharge_cents"] == 10


REFUND = ["--base-cents", "100", "--products-cents", "100", "--deadline", "2026-01-01"]


@pytest.mark.parametrize(
    "args",
    [
        ["deadline", "delivery-date", "--from", "2026-05-13"],  # unknown rule
        ["deadline", "delivery", "--from", "13/05/2026"],  # malformed date
        ["deadline", "delivery", "--from", "2026-02-30"],  # no such day
        ["deadline", "delivery"],  # --from missing
        ["deadline", "unavailable-refund", "--from", "2026-01-10"],  # needs --cancellation
        ["deadline", "delivery", "--from", "2026-01-10", "--cancellation", "2026-01-11"],
        ["surcharge", "--situation", "refund", *REFUND, "--paid-on", "2026-02-01"],
        ["surcharge", "--situation", "withdrawal", "--base-cents", "-1", "--products-cents",
         "100", "--deadline", "2026-01-01", "--paid-on", "2026-02-01"],
        ["surcharge", "--situation", "withdrawal", "--base-cents", "1.5", "--products-cents",
         "100", "--deadline", "2026-01-01", "--paid-on", "2026-02-01"],
        ["surcharge", "--situation", "withdrawal", *REFUND, "--paid-on", "2026-2-1"],
        ["surcharge", "--situation", "withdrawal", *REFUND, "--paid-on", "2026-02-01",
         "--policy-version", "schedules-v9+rates-1999S1"],
        ["escalation", "--situation", "withdrawal", *REFUND],  # --until missing
        [],  # no command
    ],
)  # fmt: skip
def test_invalid_arguments_give_one_line_and_a_failure_status(args: list[str]) -> None:
    completed = _run(*args)
    assert completed.returncode != 0
    assert completed.stdout == ""
    lines = completed.stderr.splitlines()
    assert len(lines) == 1, completed.stderr
    assert "error" in lines[0]
    assert "Traceback" not in completed.stderr
