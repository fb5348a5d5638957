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
    TypedEnvelope,
    decode_envelope,
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


def in_two_steps(raw: bytes) -> tuple[dict[str, object], object]:
    """The envelope with its payload as a dict, then the payload validated as its event."""
    envelope = decode_envelope(raw)
    return without_payload(envelope.to_json()), envelope.event()


def without_payload(document: dict[str, object]) -> dict[str, object]:
    return {field: value for field, value in document.items() if field != "payload"}


@pytest.mark.parametrize("raw", [
    record(), record(payload={"reason": "non_payment", "unknown": [1, {"a": None}]}),
    record(version="2"), record(occurred_at="2026-06-01T10:00:00+00:00"),
    record(idempotency_key="k-1", causation_id=str(uuid.uuid4())),
    b' {"version": 1.0, ' + record()[1:],  # a float version and leading space, as JSON allows
    record(type="StockReserved"),  # a payload that is not its type's: the same refusal
])
def test_a_current_record_is_validated_in_one_pass_as_in_two_steps(raw: bytes) -> None:
    try:
        expected = in_two_steps(raw)
    except PoisonEventError as error:  # a payload not of its type: refused with this reason
        with pytest.raises(PoisonEventError, match=str(error)):
            decode_record(raw)
        return
    envelope, event = decode_record(raw)
    assert isinstance(envelope, TypedEnvelope)
    assert (without_payload(envelope.to_json()), event) == expected


@pytest.mark.parametrize("value", [
    None, b"", b"\xff\xfe", b"[1, 2]", b"null", b'{"type": "OrderBlocked"}',
    record(type="OrderTeleported"), record(schema_version=2),
    record(payload={"reason": "boredom"}), record(version=0),
    record(occurred_at="2026-06-01T10:00:00+02:00"), record()[:-1], record() + b"]",
])
def test_a_record_refused_in_one_pass_gets_the_two_steps_reason(value: bytes | None) -> None:
    with pytest.raises(PoisonEventError) as expected:
        decode_envelope(value).event()
    with pytest.raises(PoisonEventError) as found:
        decode_record(value)
    assert str(found.value) == str(expected.value)


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
