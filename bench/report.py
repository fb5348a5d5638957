"""``make bench``'s report: the ratios and the targets of issue 10 over the measured figures, as
``report.json`` and a Markdown table ``report.md``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One target: what it bounds, the bound, and how to read the figure from the results."""

    name: str
    bound: str
    figure: Callable[[Figures], float | None]
    met: Callable[[float, Figures], bool | None]
    """Whether the figure meets the bound; None when it was not measured at the target's scale."""
    measured_at: Callable[[Figures], str] | None = None
    """Where the figure was measured, when the run's scale can differ from the target's."""


def _get(figures: Figures, *path: str) -> Any:
    for key in path:
        if not isinstance(figures, dict) or key not in figures:
            return None
        figures = figures[key]
    return figures


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return round(top / bottom, 3) if top is not None and bottom else None


SPEED_RATIO = "fixed work's CPU time during (f) ÷ during (c) (above 1: a slower machine in (f))"
"""(f) is judged against (c), measured minutes earlier on a shared machine whose speed changes
(``bench.speed``, the median of its readings): how much it changed between the two."""


def ratios(figures: Figures) -> dict[str, float | None]:
    """The table's first lines: the system against the peer and against the machine, and the
    machine in (f) against itself in (c)."""
    commands = _get(figures, "system", "commands", "commands_per_s")
    return {
        "commands_per_s ÷ peer commands_per_s": _ratio(
            commands, _get(figures, "peer", "median_commands_per_s")),
        "commands_per_s ÷ empty-endpoint requests_per_s": _ratio(
            commands, _get(figures, "ceilings", "http", "requests_per_s")),
        "rebuild events_per_s ÷ PostgreSQL insert rows_per_s": _ratio(
            _get(figures, "system", "rebuild", "events_per_second"),
            _get(figures, "ceilings", "postgres", "best_rows_per_s")),
        "rebuild events_per_s ÷ Kafka consume msgs_per_s": _ratio(
            _get(figures, "system", "rebuild", "events_per_second"),
            _get(figures, "ceilings", "kafka", "consume_msgs_per_s")),
        SPEED_RATIO: _ratio(_get(figures, "system", "growth", "paced", "work_cpu_ms", "median"),
                            _get(figures, "system", "paced", "work_cpu_ms", "median")),
    }


SWEEP_REFUNDS = 1_000_000
"""(e)'s scale, which ``make bench`` sweeps. A smaller run (``--smoke``, ``--refunds N``) shows
its figure with the verdict "not measured"."""


def _sweep_refunds(figures: Figures) -> int:
    return int(_get(figures, "system", "sweep", "refunds_open") or 0)


def _within_10_percent(growth: float | None, empty: float | None) -> bool:
    return growth is not None and empty is not None and growth <= empty * 1.10


TARGETS = (
    Target("(a) commands/s ≥ peer's commands/s", "≥ peer",
           lambda f: _get(f, "system", "commands", "commands_per_s"),
           lambda v, f: v >= (_get(f, "peer", "median_commands_per_s") or float("inf"))),
    Target("(c) command p99 at the fixed rate", "≤ 25 ms",
           lambda f: _get(f, "system", "paced", "command", "p99_ms"), lambda v, f: v <= 25),
    Target("(c) end-to-end lag p99 at the fixed rate", "≤ 250 ms",
           lambda f: _get(f, "system", "paced", "lag_all", "p99_ms"), lambda v, f: v <= 250),
    Target("(d) rebuild from Kafka", "≥ 50,000 events/s",
           lambda f: _get(f, "system", "rebuild", "events_per_second"), lambda v, f: v >= 50_000),
    Target(f"(e) escalation sweep over {SWEEP_REFUNDS:,} open refunds", "≤ 10 s",
           lambda f: _get(f, "system", "sweep", "pass", "seconds"),
           lambda v, f: v <= 10 if _sweep_refunds(f) >= SWEEP_REFUNDS else None,
           lambda f: f"over {_sweep_refunds(f):,} open refunds"),
    Target("(f) command p99 with the grown log", "within 10 % of (c)",
           lambda f: _get(f, "system", "growth", "paced", "command", "p99_ms"),
           lambda v, f: _within_10_percent(v, _get(f, "system", "paced", "command", "p99_ms"))),
    Target("(f) lag p99 with the grown log", "within 10 % of (c)",
           lambda f: _get(f, "system", "growth", "paced", "lag_all", "p99_ms"),
           lambda v, f: _within_10_percent(v, _get(f, "system", "paced", "lag_all", "p99_ms"))),
)


def targets(figures: Figures) -> list[dict[str, Any]]:
    """Each target with its figure and whether it is met (None: not measured)."""
    rows = []
    for target in TARGETS:
        value = target.figure(figures)
        rows.append({"target": target.name, "bound": target.bound, "figure": value,
                     "met": None if value is None else target.met(value, figures),
                     "measured_at": target.measured_at(figures) if target.measured_at else None})
    return rows


def markdown(report: Figures) -> str:
    """The report as a Markdown page: ratios, targets, then every figure."""
    lines = [f"# make bench — {report['started_at']} ({report['scale']})", "",
             f"Machine: {report['machine']}", "", "| ratio | value |", "|---|---|"]
    lines += [f"| {name} | {_show(value)} |" for name, value in report["ratios"].items()]
    lines += ["", "| target | bound | measured | met |", "|---|---|---|---|"]
    lines += [f"| {t['target']} | {t['bound']} | {_show(t['figure'])}{_at(t)} | "
              f"{_verdict(t['met'])} |" for t in report["targets"]]
    lines += _cpu_table(_get(report["figures"], "system", "commands", "cpu_ms_per_order"),
                        "CPU per order placed in (a), by part of the stack:", "order")
    lines += _cpu_table(_get(report["figures"], "system", "lifecycles", "cpu_ms_per_lifecycle"),
                        "CPU per lifecycle completed in (b), by part of the stack (the load "
                        "client's own in the figures):", "lifecycle")
    lines += ["", "## Figures", ""]
    lines += _flatten(report["figures"])
    if report.get("bounds"):
        lines += ["", "## What bounds the missed targets", "", *report["bounds"]]
    return "\n".join(lines) + "\n"


def _cpu_table(per_part: dict[str, float] | None, title: str, unit: str) -> list[str]:
    """Where (a)'s or (b)'s CPU went: on two shared cores, what bounds the figure."""
    if not per_part:
        return []
    total = per_part.get("total") or 1.0
    rows = [f"| {part} | {ms:,.2f} | {100 * ms / total:.0f} % |"
            for part, ms in per_part.items() if part != "total"]
    return ["", title, "", f"| part | ms per {unit} | share |", "|---|---|---|", *rows,
            f"| **total** | {total:,.2f} | 100 % |"]


def _flatten(figures: Figures, prefix: str = "") -> list[str]:
    rows: list[str] = []
    for key, value in figures.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            rows += _flatten(value, name)
        else:
            rows.append(f"- `{name}`: {_show(value)}")
    return rows


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("yes" if met else "**no**")


def _at(target: Mapping[str, Any]) -> str:
    return f" ({target['measured_at']})" if target.get("measured_at") else ""
