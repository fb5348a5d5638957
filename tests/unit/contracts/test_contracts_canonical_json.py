"""Canonical JSON (RFC 8785): the fast path (orjson) writes exactly what the reference
implementation (``rfc8785``) writes, for every document, or leaves the document to it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import EmittingService, seal
from contracts.hashing import GENESIS_HASH, canonical_json
from contracts.orders import OrderPlaced

SCALARS = (st.none() | st.booleans() | st.text()
           | st.integers(min_value=-(2**63), max_value=2**63)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.integers(min_value=-(2**53), max_value=2**53))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)
DOCUMENTS = st.dictionaries(st.text(max_size=6), JSON, max_size=6)


def written_as_the_reference_writes_it(document: dict[str, Any]) -> None:
    """The same bytes as ``rfc8785``, or the same refusal (its exception's type)."""
    try:
        expected = rfc8785.dumps(document)
    except Exception as error:  # the reference's refusal is the expectation
        with pytest.raises(type(error)):
            canonical_json(document)
    else:
        assert canonical_json(document) == expected


@settings(max_examples=200, deadline=None)
@given(DOCUMENTS)
def test_every_document_is_written_as_the_reference_writes_it_or_refused_alike(
        document: dict[str, Any]) -> None:
    written_as_the_reference_writes_it(document)


@pytest.mark.parametrize("text", [
    "\x00", "\x1f", "\x7f", "\b\f\n\r\t", '"', "\\", "/", "\u2028\u2029", "é€😀", "\ue000",
    "a\"b\\c", "\ud800",  # a lone surrogate: not UTF-8, refused as the reference refuses it
])
def test_strings_that_need_escapes_or_care(text: str) -> None:
    written_as_the_reference_writes_it({"k": text, text: 1, "\U0001f600": 2, "\uffff": 3})


def test_every_character_is_written_as_the_reference_writes_it() -> None:
    # a string is written character by character: one string per block of characters says it
    characters = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(characters), 4096):
        document = {"k": "".join(characters[start:start + 4096])}
        assert canonical_json(document) == rfc8785.dumps(document), hex(start)


@pytest.mark.parametrize("number", [0, -1, 2**53 - 1, -(2**53 - 1), 2**53, 2**63 - 1,
                                    0.5, 1e21, 1e-7, -0.0, 123456789.125])
def test_numbers_at_the_edges(number: float) -> None:
    written_as_the_reference_writes_it({"n": number})


def test_an_envelope_of_the_shop_is_written_as_the_reference_writes_it() -> None:
    from tests.unit.orders.test_orders_after_sale import PLACED

    assert isinstance(PLACED, OrderPlaced)
    envelope = seal(PLACED, order_id="o-1", version=1, prev_hash=GENESIS_HASH,
                    occurred_at=dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC),
                    producer=EmittingService(service="orders", build="t"),
                    correlation_id=uuid.uuid4()).to_json()
    assert canonical_json(envelope) == rfc8785.dumps(envelope)
