"""Decoding records: valid ones give typed events, poison ones a precise reason."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from contracts.envelope import (
    UPCASTERS,
    EmittingService,
    PoisonEventError,
    decode_record,
    encode_record,
    seal,
)
from contracts.hashing import GENESIS_HASH
from contracts.orders import OrderBlocked
from contracts.registry import EMITTED_BY, EVENT_TYPES


def record(**changes: object) -> bytes:
    sealed = seal(OrderBlocked(reason="non_payment"), order_id="o-1", version=1,
                  prev_hash=GENESIS_HASH, occurred_at=dt.datetime.now(dt.UTC),
                  producer=EmittingService(service="orders", build="t"),
                  correlation_id=uuid.uuid4())
    document = sealed.to_json()
    document.update(changes)
    return json.dumps(document).encode()


def test_a_valid_record_decodes_to_its_typed_event() -> None:
    envelope, event = decode_record(record())
    assert event == OrderBlocked(reason="non_payment")
    assert envelope.type == "OrderBlocked"


def test_unknown_payload_fields_are_ignored() -> None:
    _, event = decode_record(record(payload={"reason": "non_payment", "new_field": 1}))
    assert event == OrderBlocked(reason="non_payment")


def test_encoding_round_trips() -> None:
    envelope, _ = decode_record(record())
    assert decode_record(encode_record(envelope))[0] == envelope


@pytest.mark.parametrize(("raw", "reason"), [
    (None, "empty record value"),
    (b"\xff\xfe", "undecodable JSON"),
    (b"[1, 2]", "not a JSON object"),
    (record(type="OrderTeleported"), "unknown event type 'OrderTeleported'"),
    (record(schema_version=2), "unknown schema_version 2 of OrderBlocked"),
    (record(payload={"reason": "boredom"}), "invalid OrderBlocked payload: reason"),
    (record(version=0), "invalid envelope: version"),
])
def test_poison_records_are_refused_with_their_reason(raw, reason) -> None:
    with pytest.raises(PoisonEventError, match=reason):
        decode_record(raw)


def test_an_older_schema_version_is_upcast() -> None:
    recorded_as_v1 = record()
    OrderBlocked.schema_version = 2
    UPCASTERS[("OrderBlocked", 1)] = lambda p: {**p, "detail": "upcast from v1"}
    try:
        _, event = decode_record(recorded_as_v1)
        assert event == OrderBlocked(reason="non_payment", detail="upcast from v1")
    finally:
        OrderBlocked.schema_version = 1
        del UPCASTERS[("OrderBlocked", 1)]


def test_every_event_is_emitted_by_exactly_one_service() -> None:
    emitted = [name for names in EMITTED_BY.values() for name in names]
    assert sorted(emitted) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("name", ["OrderPlaced", "PaymentAuthorised", "Shipped",
                                  "DeliveryReserved", "WithdrawalRequested", "RefundIssued"])
def test_the_design_cards_events_exist(name: str) -> None:
    assert name in EVENT_TYPES
