"""A service's topic held against its store (``verify.check``): a record that takes the id of
an event on the topic is found even behind a genuine copy put back from a dead-letter topic;
an event the relay published twice is shown, not taken for tampering."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from contracts.envelope import EmittingService, seal
from contracts.hashing import GENESIS_HASH, envelope_hash
from contracts.orders import OrderBlocked, OrderUnblocked
from services.platform.verify import COPY, ServiceReport, check

NOW = dt.datetime(2026, 5, 13, 9, 30, tzinfo=dt.UTC)


def genuine(order_id: str) -> list[dict[str, Any]]:
    """Two events of one order, sealed and chained as the event store records them."""
    envelopes, prev = [], GENESIS_HASH
    for version, event in enumerate((OrderBlocked(reason="non_payment"),
                                     OrderUnblocked(resolution="paid")), start=1):
        sealed = seal(event, order_id=order_id, version=version, prev_hash=prev,
                      occurred_at=NOW, producer=EmittingService(service="orders", build="t"),
                      correlation_id=uuid.uuid4())
        envelopes.append(sealed.to_json())
        prev = sealed.hash
    return envelopes


def checked(topic: list[dict[str, Any]], store: list[dict[str, Any]]) -> ServiceReport:
    report = ServiceReport()
    by_id = {str(envelope["event_id"]): envelope for envelope in store}
    check({"order-1": topic}, by_id, by_id, report)
    return report


def test_a_copy_put_back_from_a_dead_letter_topic_verifies() -> None:
    first, second = genuine("order-1")
    assert checked([first, second, {**first, COPY: True}], [first, second]).ok


def test_a_forged_record_behind_a_genuine_copy_of_the_event_it_impersonates_is_found() -> None:
    # given a third event chained to the second by anyone (the chain has no key), under the
    # first event's id, and then a genuine copy of the first as if put back from a DLQ
    first, second = genuine("order-1")
    forged: dict[str, Any] = {**second, "version": 3, "prev_hash": second["hash"],
                              "event_id": first["event_id"]}
    forged["hash"] = envelope_hash(forged)
    report = checked([first, second, forged, {**first, COPY: True}], [first, second])
    # then the forged record is held against the event whose id it took, and differs
    assert not report.ok
    assert report.differs_from_store == [str(first["event_id"])]


def test_an_event_the_relay_published_twice_is_shown_not_a_broken_chain() -> None:
    first, second = genuine("order-1")
    report = checked([first, second, dict(second)], [first, second])
    assert report.ok and report.broken_chains == {}
    assert report.published_twice == [str(second["event_id"])]
