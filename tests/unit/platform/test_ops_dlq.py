"""Dead letters: what is pending, the order they go back in, what a copy carries, and how many
later events of its order a record goes back behind (pure logic)."""

from __future__ import annotations

from services.ops.dlq import (
    DeadLetter,
    count_later,
    dead_letter_topics,
    pending,
    redrive_plan,
    redriven_headers,
)
from services.ops.records import summarise
from services.platform.kafka_io import Record


def letter(offset: int, source_offset: int | None, consumer: str = "fulfilment.reserve-stock",
           key: str = "order-1", partition: int = 2) -> DeadLetter:
    headers = [("event-id", b"e"), ("producer", b"orders"), ("dlq-reason", b"bad"),
               ("dlq-consumer", consumer.encode())]
    if source_offset is not None:
        headers.append(("dlq-source", f"orders.events/{partition}/{source_offset}".encode()))
    record = Record("orders.events.dlq", partition, offset, key.encode(), b"{}", tuple(headers))
    return DeadLetter(record, summarise(record))


def source(offset: int, key: str = "order-1", partition: int = 2,
           copy: bool = False) -> Record:
    headers = (("redriven-from", b"orders.events.dlq/2/0"),) if copy else ()
    return Record("orders.events", partition, offset, key.encode(), b"{}", headers)


def test_pending_leaves_out_what_was_redriven_and_other_orders() -> None:
    letters = [letter(0, 10), letter(1, 11, key="order-2"), letter(2, 12)]
    assert pending(letters, {("orders.events.dlq", 2, 0)}) == letters[1:]
    assert pending(letters, set(), order="order-2") == [letters[1]]


def test_one_source_record_set_aside_by_two_consumers_goes_back_once_in_source_order() -> None:
    # payments dead-lettered source 12 before fulfilment dead-lettered source 10 and 12
    letters = [letter(0, 12, "payments.orders"), letter(1, 10), letter(2, 12)]
    plan = redrive_plan(letters)
    assert [[item.record.offset for item in batch] for batch in plan] == [[1], [0, 2]]


def test_a_dead_letter_without_its_source_goes_back_in_dead_letter_order() -> None:
    plan = redrive_plan([letter(5, None), letter(3, None)])
    assert [batch[0].record.offset for batch in plan] == [3, 5]
    assert plan[0][0].source_topic == "orders.events"


def test_a_copy_carries_the_original_headers_less_the_dead_letter_and_relay_ones() -> None:
    headers = redriven_headers(letter(7, 10))
    assert headers == [("event-id", b"e"), ("redriven-from", b"orders.events.dlq/2/7")]


def test_later_events_of_the_same_order_on_the_source_partition_are_counted() -> None:
    plan = redrive_plan([letter(0, 10), letter(1, 20, key="order-2")])
    records = [source(10), source(11), source(12, key="order-2"), source(13, copy=True),
               source(14, partition=3), source(21, key="order-2")]
    assert count_later(plan, records) == [1, 1]


def test_the_dead_letter_topics_are_all_four_or_the_one_named() -> None:
    assert len(dead_letter_topics()) == 4
    assert dead_letter_topics("refunds.events") == ["refunds.events.dlq"]
    assert dead_letter_topics("refunds.events.dlq") == ["refunds.events.dlq"]
