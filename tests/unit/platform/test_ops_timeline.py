"""An order's timeline across the services: time order, causes before effects, cause labels."""

from __future__ import annotations

from services.ops.tables import state_of
from services.ops.timeline import timeline

T0 = "2026-05-11T06:00:00.5Z"


def envelope(event_id: str, type_: str, version: int, at: str = T0,
             cause: str | None = None) -> dict:
    return {"event_id": event_id, "type": type_, "version": version, "occurred_at": at,
            "causation_id": cause, "hash": f"{event_id}-hash"}


def test_events_of_every_service_come_in_time_order_each_with_its_cause() -> None:
    stored = {
        "orders": [envelope("o1", "OrderPlaced", 1),
                   envelope("o2", "OrderConfirmed", 2, "2026-05-11T06:00:03Z", cause="p2")],
        "payments": [envelope("p1", "PaymentExpected", 1, "2026-05-11T06:00:01Z", cause="o1"),
                     envelope("p2", "PaymentAuthorised", 2, "2026-05-11T06:00:02.25Z")],
        "fulfilment": [], "refunds": [],
    }
    events = timeline(stored)
    assert [e.event_id for e in events] == ["o1", "p1", "p2", "o2"]
    assert [e.cause for e in events] == [None, "orders OrderPlaced v1", None,
                                         "payments PaymentAuthorised v2"]


def test_at_the_same_instant_a_cause_comes_before_its_effects_whatever_the_service() -> None:
    # refunds reacts to fulfilment which reacts to orders, all stamped the same instant
    stored = {"refunds": [envelope("r1", "RefundDue", 1, cause="f1")],
              "fulfilment": [envelope("f1", "ReturnReceived", 1, cause="o1")],
              "orders": [envelope("o1", "WithdrawalRequested", 1)]}
    assert [e.event_id for e in timeline(stored)] == ["o1", "f1", "r1"]


def test_a_cause_outside_the_order_is_named_by_its_id_and_a_cycle_does_not_hang() -> None:
    stored = {"refunds": [envelope("r1", "RefundDue", 1, cause="0196ffff-rates"),
                          envelope("a", "X", 2, cause="b"), envelope("b", "Y", 3, cause="a")]}
    events = {e.event_id: e for e in timeline(stored)}
    assert events["r1"].cause == "event 0196ffff… (not of this order)"
    assert events["a"].cause == "refunds Y v3"


def test_fractional_seconds_are_compared_as_instants_not_as_text() -> None:
    stored = {"orders": [envelope("late", "B", 2, "2026-05-11T06:00:00.5Z"),
                         envelope("early", "A", 1, "2026-05-11T06:00:00.123456Z")]}
    assert [e.event_id for e in timeline(stored)] == ["early", "late"]


def test_a_read_model_row_reads_as_its_state() -> None:
    assert state_of({"order_id": "x", "status": "confirmed", "blocked": False, "version": 4,
                     "lines": []}) == "status=confirmed, blocked=False, version=4"
