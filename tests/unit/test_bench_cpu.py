"""The benchmark's CPU accounting: which process is which part, and milliseconds per order."""

from __future__ import annotations

from bench.cpu import per_order_ms, supervised_pids
from bench.report import markdown

STATUS = """\
orders-api                       RUNNING   pid 101, uptime 0:01:02
orders-worker:orders-worker-0    RUNNING   pid 102, uptime 0:01:02
orders-worker:orders-worker-1    RUNNING   pid 103, uptime 0:00:07
payments-worker                  STARTING
refunds-worker                   FATAL     Exited too quickly (process log may have details)
"""


def test_running_processes_are_named_by_their_program() -> None:
    assert supervised_pids(STATUS) == [("orders-api", 101), ("orders-worker", 102),
                                       ("orders-worker", 103)]


def test_cpu_per_order_is_given_per_part_busiest_first_with_the_total() -> None:
    before = {"orders-api": 10.0, "kafka": 5.0, "postgres": 2.0}
    after = {"orders-api": 12.0, "kafka": 5.5, "postgres": 5.0, "new-process": 0.5}
    assert per_order_ms(before, after, 1000) == {
        "postgres": 3.0, "orders-api": 2.0, "kafka": 0.5, "new-process": 0.5, "total": 6.0}


def test_no_order_placed_gives_the_cpu_spent_without_dividing_by_zero() -> None:
    assert per_order_ms({}, {"kafka": 0.25}, 0) == {"kafka": 250.0, "total": 250.0}


def test_the_report_shows_where_the_cpu_of_a_placed_order_went() -> None:
    figures = {"system": {"commands": {"cpu_ms_per_order": {
        "postgres": 3.0, "orders-api": 1.0, "total": 4.0}}}}
    page = markdown({"started_at": "2026-12-02T12:00:00+00:00", "scale": "smoke",
                     "machine": "2 cores", "ratios": {}, "targets": [], "figures": figures})
    assert "| postgres | 3.00 | 75 % |" in page
    assert "| orders-api | 1.00 | 25 % |" in page
    assert "| **total** | 4.00 | 100 % |" in page


def test_the_report_shows_where_the_cpu_of_a_lifecycle_went() -> None:
    figures = {"system": {"lifecycles": {"cpu_ms_per_lifecycle": {
        "postgres": 30.0, "bank-simulator": 10.0, "total": 40.0}}}}
    page = markdown({"started_at": "2026-12-05T01:00:00+00:00", "scale": "smoke",
                     "machine": "2 cores", "ratios": {}, "targets": [], "figures": figures})
    assert "| part | ms per lifecycle | share |" in page
    assert "| bank-simulator | 10.00 | 25 % |" in page
    assert "CPU per order placed" not in page  # (a) not measured: no table for it
