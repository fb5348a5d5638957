"""The command line's tables (Rich), one function per report. Pure: data in, table out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from services.ops.dlq import Listed, Redriven
from services.ops.formatting import SERVICE_STYLES, age, short
from services.ops.lag import LagReport
from services.ops.timeline import OrderState, ViewRow
from services.platform.rebuild import Comparison

__all__ = ["STATE_FIELDS", "dead_letters_table", "lag_tables", "rebuild_table",
           "redriven_table", "state_of", "timeline_table", "verify_table", "views_table"]

STATE_FIELDS = ("status", "blocked", "block_reason", "held", "sku", "quantity", "available",
                "refund_id", "amount_cents", "total_cents", "captured_cents", "version")
"""The columns of a read-model row that say where the order stands, in the order shown."""


def _add(table: Table, *cells: str | Text) -> None:
    """A row whose text is shown as it is: what the log holds is never read as Rich markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def _service(name: str) -> Text:
    return Text(name, style=SERVICE_STYLES.get(name, ""))


def _status(status: str) -> Text:
    return Text(status, style={"ok": "green", "degraded": "yellow"}.get(status, "bold red"))


def state_of(fields: Mapping[str, Any]) -> str:
    """A read-model row in one line: the fields of ``STATE_FIELDS`` it has."""
    return ", ".join(f"{name}={fields[name]}" for name in STATE_FIELDS if name in fields)


def timeline_table(state: OrderState) -> Table:
    """The order's events in time order, each with the event that caused it."""
    table = Table(title=Text(f"Order {state.order_id}: {len(state.events)} events"),
                  title_justify="left")
    for column in ("occurred at (UTC)", "service", "type", "v", "caused by", "hash"):
        table.add_column(column, overflow="fold")
    for event in state.events:
        _add(table, event.occurred_at, _service(event.service), event.type,
                      str(event.version), event.cause or Text("command", style="dim"),
                      short(event.hash))
    return table


def views_table(views: Sequence[ViewRow]) -> Table:
    """Each read model's rows about the order."""
    table = Table(title="Read models now", title_justify="left")
    for column in ("service", "table", "state"):
        table.add_column(column, overflow="fold")
    for view in views:
        _add(table, _service(view.service), view.table, state_of(view.fields))
    return table


def lag_tables(report: LagReport) -> list[Table]:
    """Per partition, per group (with /health's verdict), per relay's outbox."""
    partitions = Table(title="Consumer groups, per partition", title_justify="left")
    for column in ("group", "topic[partition]", "end", "committed", "lag",
                   "oldest unprocessed"):
        partitions.add_column(column, justify="right" if column in ("end", "committed", "lag")
                              else "left", overflow="fold")
    for row in report.partitions:
        _add(partitions, row.group, f"{row.topic}[{row.partition}]", str(row.end),
                           "-" if row.committed is None else str(row.committed),
                           Text(str(row.lag), style="bold yellow" if row.lag else ""),
                           age(row.oldest_unprocessed_age_s))
    groups = Table(title="Consumer groups", title_justify="left")
    for column in ("group", "lag", "oldest unprocessed", "status"):
        groups.add_column(column)
    for name, lag in report.groups.items():
        _add(groups, name, str(lag.lag), age(lag.oldest_unprocessed_age_s),
                       _status(report.group_status[name]))
    return [partitions, groups, _outbox_table(report)]


def _outbox_table(report: LagReport) -> Table:
    table = Table(title="Relays: outbox rows not yet published", title_justify="left")
    for column in ("relay", "unpublished", "oldest", "status"):
        table.add_column(column)
    for name, outbox in report.outboxes.items():
        _add(table, _service(name), "-" if outbox.unpublished is None
                      else str(outbox.unpublished), age(outbox.oldest_age_s),
                      _status(outbox.status) if not outbox.error
                      else Text(f"{outbox.status}: {outbox.error}", style="bold red"))
    return table


def dead_letters_table(listed: Sequence[Listed], pending_only: bool) -> Table:
    """Each dead letter: where it is, its order and type, who set it aside, why, whence."""
    title = "Dead letters waiting for a re-drive" if pending_only else "Dead letters"
    table = Table(title=f"{title}: {len(listed)}", title_justify="left")
    columns = ["dead letter", "order", "type", "consumer", "reason", "source"]
    for column in columns + ([] if pending_only else ["re-driven to"]):
        table.add_column(column, overflow="fold")
    for item in listed:
        summary, dead = item.letter.summary, item.letter.summary.dead_letter
        row: list[Any] = [summary.where, summary.order_id,
                          summary.type or Text("UNDECODABLE", style="red"),
                          dead.consumer if dead else "?", dead.reason if dead else "?",
                          dead.source if dead else "?"]
        _add(table, *row, *([] if pending_only else [item.redriven_to or "pending"]))
    return table


def redriven_table(done: Sequence[Redriven]) -> Table:
    """Each record put back, where, and the consumers whose dead letters it settles."""
    table = Table(title=f"Re-driven: {len(done)}", title_justify="left")
    for column in ("from", "to", "order", "type", "consumers", "later events already seen"):
        table.add_column(column, overflow="fold")
    for item in done:
        first = item.letters[0].summary
        consumers = ", ".join(sorted({letter.summary.dead_letter.consumer
                                      for letter in item.letters if letter.summary.dead_letter}))
        _add(table, first.where, item.to, first.order_id, first.type or "UNDECODABLE",
                      consumers, Text(str(item.later_events),
                                      style="bold yellow" if item.later_events else ""))
    return table


def rebuild_table(service: str, comparison: Comparison) -> Table:
    """Each table of the read model: rows live and rebuilt, equal or different."""
    replay = comparison.replay
    table = Table(title=f"{service}: {replay.replayed_events} events replayed, "
                        f"{len(replay.skipped_records)} records skipped (not the relay's)",
                  title_justify="left")
    for column in ("table", "live rows", "rebuilt rows", "live vs rebuilt"):
        table.add_column(column)
    for row in comparison.tables:
        verdict = Text("equal", style="green") if row.equal else Text(
            f"different ({row.only_live} only live, {row.only_rebuilt} only rebuilt)",
            style="bold red")
        _add(table, row.table, str(row.live_rows), str(row.rebuilt_rows), verdict)
    return table


def verify_table(result: Mapping[str, Any]) -> Table:
    """Per service: orders and events replayed, and what was found."""
    table = Table(title="Log " + ("verified" if result["ok"] else "NOT verified"),
                  title_justify="left")
    for column in ("service", "orders", "events", "findings"):
        table.add_column(column, overflow="fold")
    for name, report in result["services"].items():
        found = [f"{key}: {len(value)}" for key, value in report.items()
                 if isinstance(value, list | dict) and value]
        _add(table, _service(name), str(report["orders"]), str(report["events"]),
                      _findings(found))
    if "checkpoints" in result:  # signed checkpoints held against the topics
        checkpoints = result["checkpoints"]
        found = [f"{f.get('topic', '?')}: {f.get('problem', f)}" for f in checkpoints["findings"]]
        _add(table, "checkpoints", "-", f"{checkpoints['checkpoints']} checkpoints",
                      _findings(found))
    return table


def _findings(found: Sequence[str]) -> Text:
    return Text(", ".join(found) or "none", style="bold red" if found else "green")
