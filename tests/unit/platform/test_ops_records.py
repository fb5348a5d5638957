"""The operators' view of one record: summary, tail line and tail filter (pure logic)."""

from __future__ import annotations

import io
import json

from rich.console import Console

from services.ops.formatting import age, line, short
from services.ops.records import parse_position, summarise
from services.ops.tail import TailFilter
from services.platform.kafka_io import Record

ORDER = "0196a4f2-aaaa-7000-8000-000000000001"
ENVELOPE = {"event_id": "0196a4f2-bbbb-7000-8000-000000000002", "type": "OrderPlaced",
            "order_id": ORDER, "version": 1, "occurred_at": "2026-05-11T06:00:00.000001Z",
            "hash": "ab" * 32, "prev_hash": "0" * 64, "payload": {}}


def record(value: bytes | None, topic: str = "orders.events",
           headers: tuple[tuple[str, bytes], ...] = ()) -> Record:
    return Record(topic, 3, 41, ORDER.encode(), value, headers)


def plain(text) -> str:
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(text, soft_wrap=True)
    return console.export_text()


def test_an_event_is_summarised_from_its_envelope() -> None:
    summary = summarise(record(json.dumps(ENVELOPE).encode()))
    assert (summary.type, summary.order_id, summary.version) == ("OrderPlaced", ORDER, 1)
    assert summary.where == "orders.events[3]@41" and summary.service == "orders"
    assert summary.time == ENVELOPE["occurred_at"] and summary.dead_letter is None
    shown = plain(line(summary))
    for part in ("orders.events[3]@41", "OrderPlaced", f"order={ORDER}", "v1",
                 "hash=abababababab", ENVELOPE["occurred_at"]):
        assert part in shown, part


def test_a_dead_letter_says_who_set_it_aside_why_and_whence() -> None:
    headers = (("dlq-reason", b"unknown schema_version 99 of OrderPlaced"),
               ("dlq-consumer", b"fulfilment.reserve-stock"),
               ("dlq-source", b"orders.events/3/40"))
    poison = record(b"\x00\xffnot json", "orders.events.dlq", headers)
    summary = summarise(poison, 1_700_000_000_000)
    assert summary.type is None and summary.order_id == ORDER  # the key still names the order
    assert summary.dead_letter is not None
    assert summary.dead_letter.consumer == "fulfilment.reserve-stock"
    assert summary.time == "2023-11-14T22:13:20+00:00"  # Kafka's timestamp: nothing else says
    shown = plain(line(summary))
    for part in ("DEAD LETTER", "UNDECODABLE", "by fulfilment.reserve-stock",
                 "from orders.events/3/40", "unknown schema_version 99 of OrderPlaced"):
        assert part in shown, part


def test_a_redriven_copy_says_whence_it_came() -> None:
    summary = summarise(record(json.dumps(ENVELOPE).encode(),
                               headers=(("redriven-from", b"orders.events.dlq/3/7"),)))
    assert "re-driven from orders.events.dlq/3/7" in plain(line(summary))


def test_a_json_value_that_is_not_an_envelope_is_shown_not_raised() -> None:
    summary = summarise(record(b"[1, 2]"))
    assert (summary.type, summary.version, summary.hash) == (None, None, None)


def test_positions_parse_with_dots_and_slashes_in_the_right_places() -> None:
    assert parse_position("orders.events/3/40") == ("orders.events", 3, 40)
    assert parse_position("orders.events/x/40") is None
    assert parse_position("garbage") is None


def test_ages_and_hash_starts_read_as_people_read_them() -> None:
    assert [age(a) for a in (None, 0.25, 12.34, 240, 9000, 259200)] == [
        "-", "250 ms", "12.3 s", "4 min", "2.5 h", "3.0 d"]
    assert short("abcdef0123456789") == "abcdef012345" and short(None) == "-"


def test_the_tail_filter_reads_a_service_s_topics_and_admits_by_type_and_order() -> None:
    assert TailFilter(service="payments").topics() == ["payments.events",
                                                       "payments.events.dlq"]
    assert len(TailFilter().topics()) == 8
    placed = summarise(record(json.dumps(ENVELOPE).encode()))
    poison = summarise(record(b"\x00"))
    assert TailFilter(type="OrderPlaced", order=ORDER).admits(placed)
    assert not TailFilter(type="OrderConfirmed").admits(placed)
    assert not TailFilter(order="another").admits(placed)
    assert TailFilter(order=ORDER).admits(poison)  # by its key
    assert not TailFilter(type="OrderPlaced").admits(poison)
