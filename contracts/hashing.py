"""Tamper evidence: SHA-256 over RFC 8785 canonical JSON, chained per (service, order) stream."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import rfc8785

__all__ = [
    "GENESIS_HASH",
    "ChainBrokenError",
    "canonical_json",
    "envelope_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event of a stream."""


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Return the RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON-compatible mapping."""
    return rfc8785.dumps(dict(document))


def envelope_hash(envelope: Mapping[str, Any]) -> str:
    """SHA-256 of an envelope's canonical JSON (RFC 8785), leaving out its ``hash`` field."""
    unhashed = {key: value for key, value in envelope.items() if key != "hash"}
    return hashlib.sha256(canonical_json(unhashed)).hexdigest()


class ChainBrokenError(ValueError):
    """A stream's hash chain does not verify: an event was altered, dropped, reordered or added."""


def verify_chain(envelopes: Iterable[Mapping[str, Any]]) -> int:
    """Check the hash chain of one (service, order) stream given in version order.

    Returns the number of events verified; raises ``ChainBrokenError`` naming the first bad event.
    """
    expected_prev, expected_version, count = GENESIS_HASH, 1, 0
    for envelope in envelopes:
        event_id = envelope.get("event_id")
        if envelope.get("version") != expected_version:
            raise ChainBrokenError(f"event {event_id}: version {envelope.get('version')}, "
                                   f"expected {expected_version}")
        if envelope.get("prev_hash") != expected_prev:
            raise ChainBrokenError(f"event {event_id}: prev_hash does not match the previous hash")
        if envelope_hash(envelope) != envelope.get("hash"):
            raise ChainBrokenError(f"event {event_id}: hash does not match its content")
        expected_prev, expected_version = str(envelope["hash"]), expected_version + 1
        count += 1
    return count
