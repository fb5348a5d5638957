"""``make bench`` at tiny counts, so that the benchmark cannot rot: it starts its own stack the
way ``make run`` does (its own ports and data), measures every figure of the report, stops
everything it started and writes ``report.json`` and ``report.md``. The figures themselves are
not judged here: performance is measured by the benchmark, never asserted by a test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import TARGETS
from bench.stack import BENCH_DATA, BENCH_PORT_OFFSET, listening_ports
from deploy.run import Layout

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
FIGURES = [("ceilings", "kafka", "produce_msgs_per_s"), ("ceilings", "postgres", "best_rows_per_s"),
           ("ceilings", "http", "requests_per_s"), ("peer", "median_commands_per_s"),
           ("system", "commands", "commands_per_s"), ("system", "lifecycles", "completed"),
           ("system", "paced", "command", "p99_ms"), ("system", "paced", "lag_all", "p99_ms"),
           ("system", "sweep", "pass", "seconds"),
           ("system", "growth", "paced", "command", "p99_ms"),
           # the machine's speed during each fixed-rate phase, which (f) is compared across
           ("system", "paced", "work_cpu_ms", "median"),
           ("system", "growth", "paced", "work_cpu_ms", "median"),
           ("system", "rebuild", "events_per_second"),
           # the CPU each part spent per order: the broker, the database and a supervised API
           # are each found on the running stack
           *(("system", "commands", "cpu_ms_per_order", part)
             for part in ("kafka", "postgres", "orders-api")),
           # and per lifecycle, where the bank simulator and the load client take their share
           *(("system", "lifecycles", "cpu_ms_per_lifecycle", part)
             for part in ("postgres", "bank-simulator", "total")),
           ("system", "lifecycles", "client_cpu_ms_per_lifecycle")]


def figure(report: dict, path: tuple[str, ...]) -> object:
    found: object = report["figures"]
    for key in path:
        assert isinstance(found, dict) and key in found, f"{'.'.join(path)} missing"
        found = found[key]
    return found


def test_the_smoke_bench_measures_every_figure_and_stops_what_it_started(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=840, check=False)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    for path in FIGURES:
        value = figure(report, path)
        assert isinstance(value, int | float) and value > 0, (path, value)
    assert figure(report, ("system", "rebuild", "equal")) is True
    reactions = figure(report, ("system", "lifecycles", "doubled_effects"))
    assert isinstance(reactions, dict) and reactions["reactions"] > 0, reactions
    assert reactions["doubled"] == 0, reactions
    assert [t["target"] for t in report["targets"]] == [t.name for t in TARGETS]
    assert all(t["figure"] is not None for t in report["targets"])
    markdown = (tmp_path / "report.md").read_text()
    assert "| target | bound | measured | met |" in markdown
    assert "## What bounds the missed targets" in markdown
    assert any(line.startswith("- **(") for line in report["bounds"]), report["bounds"]
    assert listening_ports(Layout(BENCH_DATA, BENCH_PORT_OFFSET)) == []
