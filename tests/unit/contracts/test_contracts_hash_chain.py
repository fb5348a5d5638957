"""The hash chain makes any change to the log evident."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from contracts.envelope import EmittingService, seal, seal_with_json
from contracts.hashing import GENESIS_HASH, ChainBrokenError, envelope_hash, verify_chain
from contracts.orders import OrderBlocked, OrderUnblocked

NOW = dt.datetime(2026, 5, 13, 9, 30, tzinfo=dt.UTC)


def stream(length: int = 3) -> list[dict]:
    envelopes, prev = [], GENESIS_HASH
    for version in range(1, length + 1):
        event = OrderBlocked(reason="non_payment") if version % 2 else OrderUnblocked(
            resolution="paid")
        sealed = seal(event, order_id="order-1", version=version, prev_hash=prev,
                      occurred_at=NOW, producer=EmittingService(service="orders", build="t"),
                      correlation_id=uuid.uuid4())
        envelopes.append(sealed.to_json())
        prev = sealed.hash
    return envelopes


def test_an_untouched_stream_verifies() -> None:
    assert verify_chain(stream()) == 3


def test_hash_ignores_key_order_but_not_content() -> None:
    envelope = stream(1)[0]
    reordered = dict(reversed(list(envelope.items())))
    assert envelope_hash(reordered) == envelope["hash"]
    assert envelope_hash({**envelope, "order_id": "order-2"}) != envelope["hash"]


@pytest.mark.parametrize(("tamper", "message"), [
    (lambda s: s[1]["payload"].update(reason="incorrect_address"), "does not match its content"),
    (lambda s: s.pop(1), "version 3, expected 2"),
    (lambda s: s.insert(0, s.pop(1)), "version 2, expected 1"),
    (lambda s: s[1].update(prev_hash="f" * 64), "prev_hash does not match"),
    (lambda s: s[1].update(prev_hash="f" * 64, hash=envelope_hash({**s[1], "prev_hash": "f" * 64})),
     "prev_hash does not match"),
])
def test_a_changed_dropped_or_reordered_event_breaks_the_chain(tamper, message) -> None:
    envelopes = stream()
    tamper(envelopes)
    with pytest.raises(ChainBrokenError, match=message):
        verify_chain(envelopes)


def test_sealing_refuses_a_non_utc_timestamp_in_the_envelope() -> None:
    from pydantic import ValidationError

    from contracts.envelope import Envelope

    envelope = stream(1)[0]
    with pytest.raises(ValidationError,
                       match="occurred_at\n  Timezone offset of 0 required, got 7200"):
        Envelope.model_validate({**envelope, "occurred_at": "2026-05-13T11:30:00+02:00"})


@pytest.mark.parametrize("occurred_at", [
    NOW, NOW.replace(microsecond=123_456),
    NOW.astimezone(dt.timezone(dt.timedelta(hours=2)))])
@pytest.mark.parametrize("causation_id", [None, uuid.uuid4()])
@pytest.mark.parametrize("idempotency_key", [None, "key-1"])
def test_the_json_sealing_stores_is_the_envelope_s_own(occurred_at, causation_id,
                                                       idempotency_key) -> None:
    # given an event sealed with the JSON form the event store stores
    envelope, document = seal_with_json(
        OrderBlocked(reason="non_payment"), order_id="order-1", version=1,
        prev_hash=GENESIS_HASH, occurred_at=occurred_at,
        producer=EmittingService(service="orders", build="t"), correlation_id=uuid.uuid4(),
        causation_id=causation_id, idempotency_key=idempotency_key)
    # then it is the envelope's JSON form, which its hash covers
    assert document == envelope.to_json()
    assert envelope_hash({k: v for k, v in document.items() if k != "hash"}) == envelope.hash


@pytest.mark.parametrize("value", [float("nan"), 2**60])
def test_an_event_that_cannot_be_hashed_breaks_the_chain(value: object) -> None:
    # given a stream whose second event holds what RFC 8785 cannot write (NaN, beyond 2**53)
    envelopes = stream()
    envelopes[1] = {**envelopes[1], "payload": {"resolution": value}}
    # then the chain is broken at that event, not the verification ended with a crash
    with pytest.raises(ChainBrokenError, match="cannot be hashed"):
        verify_chain(envelopes)
