"""The command line's tables say what the operator needs to read (rendered as plain text)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from services.ops.dlq import DeadLetter, Listed, Redriven
from services.ops.records import summarise
from services.ops.tables import dead_letters_table, rebuild_table, redriven_table, verify_table
from services.platform.kafka_io import Record
from services.platform.rebuild import Comparison, Replay, compare


def text(table: Table) -> str:
    console = Console(width=300, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text()


def dead(offset: int) -> DeadLetter:
    record = Record("payments.events.dlq", 1, offset, b"order-9", b"\x00", (
        ("dlq-reason", b"undecodable JSON"), ("dlq-consumer", b"orders.payments"),
        ("dlq-source", b"payments.events/1/33")))
    return DeadLetter(record, summarise(record))


def test_a_dead_letter_shows_where_whose_why_and_whence() -> None:
    shown = text(dead_letters_table([Listed(dead(4), None)], pending_only=True))
    for part in ("waiting for a re-drive: 1", "payments.events.dlq[1]@4", "order-9",
                 "UNDECODABLE", "orders.payments", "undecodable JSON", "payments.events/1/33"):
        assert part in shown, part
    every = text(dead_letters_table([Listed(dead(4), "payments.events/1/90")], False))
    assert "re-driven to" in every and "payments.events/1/90" in every


def test_a_redrive_shows_where_each_record_went_and_what_it_went_behind() -> None:
    shown = text(redriven_table([Redriven([dead(4)], "payments.events/1/90", 2)]))
    for part in ("payments.events.dlq[1]@4", "payments.events/1/90", "orders.payments", " 2 "):
        assert part in shown, part


def test_a_rebuild_says_equal_or_different_per_table() -> None:
    comparison = Comparison(Replay(12, ["0/3"]), compare({"a": ["x"], "b": ["y"]},
                                                         {"a": ["x"], "b": ["z"]}))
    shown = text(rebuild_table("orders", comparison))
    assert "12 events replayed, 1 records skipped" in shown
    assert "equal" in shown and "different (1 only live, 1 only rebuilt)" in shown


def test_verify_shows_each_service_s_findings_and_the_checkpoints() -> None:
    result = {"ok": False, "services": {
        "orders": {"orders": 3, "events": 9, "broken_chains": {"o1": "event x: hash"},
                   "published_but_not_on_topic": [], "ok": False}},
        "checkpoints": {"ok": False, "checkpoints": 4, "topics": {}, "findings": [
            {"topic": "orders.events", "partition": 0, "sequence": 2,
             "problem": "records before the checkpoint were rewritten"}]}}
    shown = text(verify_table(result))
    for part in ("Log NOT verified", "broken_chains: 1", "4 checkpoints",
                 "orders.events: records before the checkpoint were rewritten"):
        assert part in shown, part
