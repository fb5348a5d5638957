"""The report's verdicts: a target is judged only at its own scale."""

from __future__ import annotations

import pytest

from bench.report import SPEED_RATIO, markdown, ratios, targets


def sweep(refunds: int, seconds: float) -> dict:
    return {"system": {"sweep": {"refunds_open": refunds, "pass": {"seconds": seconds}}}}


def verdict_of_e(figures: dict) -> dict:
    [row] = [t for t in targets(figures) if t["target"].startswith("(e)")]
    return row


@pytest.mark.parametrize(("refunds", "seconds", "met"), [
    (1_000_000, 8.0, True), (1_000_000, 12.0, False), (1_200_000, 9.9, True),
    (100_000, 4.0, None), (100_000, 40.0, None),  # not the target's scale: not judged
])
def test_the_sweep_is_judged_only_over_a_million_open_refunds(refunds: int, seconds: float,
                                                               met: bool | None) -> None:
    row = verdict_of_e(sweep(refunds, seconds))
    assert (row["figure"], row["met"]) == (seconds, met)
    assert row["measured_at"] == f"over {refunds:,} open refunds"


def test_the_table_says_where_the_sweep_was_measured_and_that_it_is_not_judged() -> None:
    report = {"started_at": "t", "scale": "full", "machine": "m", "ratios": {},
              "targets": targets(sweep(100_000, 4.0)), "figures": sweep(100_000, 4.0)}
    [line] = [line for line in markdown(report).splitlines() if line.startswith("| (e)")]
    assert line == ("| (e) escalation sweep over 1,000,000 open refunds | ≤ 10 s | "
                    "4.000 (over 100,000 open refunds) | not measured |")


def paced(work_cpu_ms: float) -> dict:
    return {"work_cpu_ms": {"median": work_cpu_ms}, "command": {"p99_ms": 20.0}}


@pytest.mark.parametrize(("in_c", "in_f", "ratio"), [(15.0, 18.0, 1.2), (20.0, 15.0, 0.75)])
def test_the_report_shows_how_the_machine_changed_speed_between_c_and_f(
        in_c: float, in_f: float, ratio: float) -> None:
    figures = {"system": {"paced": paced(in_c), "growth": {"paced": paced(in_f)}}}

    assert ratios(figures)[SPEED_RATIO] == ratio


def test_without_both_speeds_the_ratio_is_not_shown() -> None:
    figures = {"system": {"paced": paced(15.0)}}

    assert ratios(figures)[SPEED_RATIO] is None
