"""The benchmark load client's statistics: percentiles, the summary of a result, Retry-After."""

from __future__ import annotations

import email.utils
import time
from collections import Counter

import pytest

from bench.load import LoadResult, percentiles, retry_after_seconds


def test_percentiles_interpolate_within_the_samples() -> None:
    figures = percentiles([float(ms) for ms in range(100, 0, -1)])  # 1..100, unsorted
    assert figures == {"p50_ms": 50.5, "p95_ms": 95.05, "p99_ms": 99.01, "max_ms": 100.0}


def test_percentiles_of_few_samples_never_exceed_the_largest() -> None:
    assert percentiles([3.0]) == {"p50_ms": 3.0, "p95_ms": 3.0, "p99_ms": 3.0, "max_ms": 3.0}
    figures = percentiles([1.0, 9.0])
    assert figures["p99_ms"] <= figures["max_ms"] == 9.0


def test_percentiles_of_nothing_are_zero() -> None:
    assert set(percentiles([]).values()) == {0.0}


def test_summary_counts_answers_rate_and_errors_by_status() -> None:
    result = LoadResult(latencies_ms=[10.0] * 8, seconds=2.0,
                        statuses=Counter({200: 5, 201: 1, 503: 3, 409: 1, 0: 1}))
    summary = result.summary()
    assert summary["count"] == 8
    assert summary["ok"] == 6
    assert summary["per_s"] == 3.0
    assert (summary["errors_0"], summary["errors_409"], summary["errors_503"]) == (1, 1, 3)
    assert summary["retried_503"] == 3  # 8 requests: 6 ok, one 409, one with no answer
    assert not any(key.startswith("errors_2") for key in summary)
    assert summary["p50_ms"] == summary["max_ms"] == 10.0


def test_a_503_that_was_the_last_answer_is_not_counted_as_retried() -> None:
    result = LoadResult(latencies_ms=[1.0, 2.0, 3.0], seconds=1.0,
                        statuses=Counter({200: 1, 503: 5}))
    summary = result.summary()
    assert (summary["errors_503"], summary["retried_503"]) == (5, 3)


def test_summary_of_an_empty_result() -> None:
    assert LoadResult().summary() == {"count": 0, "ok": 0, "per_s": 0.0, "p50_ms": 0.0,
                                      "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("-3") == 0.0
    in_ten_seconds = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert retry_after_seconds(in_ten_seconds) == pytest.approx(10, abs=1.5)
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None


def test_latencies_are_told_apart_by_final_status() -> None:
    result = LoadResult(latencies_ms=[5.0, 700.0, 6.0], final_statuses=[201, 503, 201])
    assert result.latencies_of(201) == [5.0, 6.0]
    assert result.latencies_of(503) == [700.0]
    assert result.latencies_of(500) == []
