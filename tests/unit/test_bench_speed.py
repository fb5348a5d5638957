"""The machine's speed probe: medians of CPU times, lower on a faster machine."""

from __future__ import annotations

import pytest

from bench import speed


def test_the_fixed_work_takes_some_cpu_time() -> None:
    assert 0 < speed.work_cpu_ms(rounds=3) < 5_000


def test_one_run_slowed_by_the_scheduler_does_not_decide_the_speed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = iter([15.0, 90.0, 16.0])
    monkeypatch.setattr(speed, "_one_round", lambda: next(runs))

    assert speed.work_cpu_ms(rounds=3) == 16.0


def test_a_phase_s_readings_are_summed_up_by_their_median_and_range() -> None:
    assert speed.summary([16.0, 25.0, 15.0, 30.0]) == {
        "median": 20.5, "min": 15.0, "max": 30.0, "readings": 4}


def test_without_readings_there_is_no_speed() -> None:
    assert speed.summary([]) == {"median": None, "min": None, "max": None, "readings": 0}
