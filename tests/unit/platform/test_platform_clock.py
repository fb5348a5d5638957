"""The stack's shared clock: moved by one command, read by every process, refused in
production."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from services.platform.clock import SharedClock
from services.platform.clock_command import main, parse_duration, parse_instant


@pytest.mark.parametrize(("text", "delta"), [
    ("10d", dt.timedelta(days=10)), ("36h", dt.timedelta(hours=36)),
    ("90m", dt.timedelta(minutes=90)), ("1d12h", dt.timedelta(days=1, hours=12))])
def test_durations_as_operators_write_them(text: str, delta: dt.timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "10", "ten days", "1d-2h", "-3d"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_an_instant_without_offset_is_paris_time() -> None:
    assert parse_instant("2026-05-13T10:00").utcoffset() == dt.timedelta(hours=2)


def test_every_reader_of_the_file_sees_the_move(tmp_path: Path) -> None:
    writer, reader = SharedClock(tmp_path / "clock.json"), SharedClock(tmp_path / "clock.json")
    target = dt.datetime(2026, 5, 21, 21, 0, tzinfo=dt.UTC)

    writer.move_to(target)

    assert abs(reader.now() - target) < dt.timedelta(seconds=1)
    assert not reader.start_at(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))  # already started


def test_the_command_is_refused_on_the_system_clock(monkeypatch, capsys) -> None:
    monkeypatch.setenv("CLOCK_MODE", "system")
    assert main(["advance", "1d"]) == 2
    assert "refused" in capsys.readouterr().err
