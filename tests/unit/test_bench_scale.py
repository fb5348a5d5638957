"""The bench refuses to start on a disk that cannot hold its run."""

from __future__ import annotations

import dataclasses

from bench.scale import FULL, GB, SMOKE


def test_the_full_run_needs_room_for_a_million_refunds_and_the_grown_log() -> None:
    assert FULL.disk_bytes() == 20 * GB  # 11 GB of refunds, 8 GB of orders log, 1 to spare
    assert FULL.disk_shortfall(20 * GB) is None


def test_a_disk_too_small_is_refused_with_the_way_out() -> None:
    shortfall = FULL.disk_shortfall(12 * GB)
    assert shortfall == ("the full bench fills about 20 GB of disk and 12.0 GB are free "
                         "(fewer open refunds: --refunds N)")


def test_fewer_refunds_need_less_disk() -> None:
    fewer = dataclasses.replace(FULL, refunds=100_000)
    assert fewer.disk_bytes() == 10_100_000_000
    assert fewer.disk_shortfall(12 * GB) is None


def test_the_smoke_run_ci_makes_needs_about_a_gigabyte() -> None:
    assert SMOKE.disk_bytes() < 2 * GB
    assert SMOKE.disk_shortfall(2 * GB) is None
