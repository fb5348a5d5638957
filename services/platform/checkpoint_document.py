"""Signed checkpoints, the document: what one attests about a topic, and its Ed25519 signature.

A checkpoint says, for each partition of one topic, how many records lay below ``end_offset``
and the cumulative hash over them in offset order::

    chain_0 = 00…00 (64 hex zeros)        chain_n = SHA-256(chain_{n-1} || leaf_n)

(the two 32-byte digests concatenated). A record's leaf is SHA-256 over the record itself —
key, value (the event envelope, with its event hash and ``prev_hash``) and headers, each length-
prefixed as Kafka frames them — so any change to any byte of a record, a dead letter or a record
that is not an event changes its leaf (docs/decisions/0014-signed-checkpoints.md says why bytes
rather than the parsed event hash).

The document is self-contained JSON: ``format``, ``topic``, ``sequence`` (1, 2, … per topic),
``previous`` (SHA-256 of the topic's previous checkpoint document, or null), ``created_at``,
``hash_scheme``, ``partitions``, ``key_id`` and ``signature``: Ed25519 over the RFC 8785
canonical JSON of every other field, base64. Nothing here does I/O but reading key files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.hashing import GENESIS_HASH, canonical_json

__all__ = [
    "FORMAT",
    "HASH_SCHEME",
    "Checkpoint",
    "InvalidCheckpointError",
    "Mark",
    "RecordLike",
    "advance",
    "digest",
    "draft",
    "extend",
    "generate_key_pair",
    "key_id",
    "load_private_key",
    "load_public_key",
    "record_leaf",
    "sign",
    "to_bytes",
    "verify_signature",
]

FORMAT = "wineshop-checkpoint/1"
HASH_SCHEME = "sha256-chain-per-partition/record-leaves/1"
_HEX64 = r"^[0-9a-f]{64}$"


class InvalidCheckpointError(ValueError):
    """A document that is not a checkpoint, or whose signature does not verify."""


class RecordLike(Protocol):
    """A Kafka record as the chain sees it: its offset, and the key, value and headers its leaf
    is computed from (``services.platform.kafka_io.Record`` is one)."""

    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]]: ...


def record_leaf(record: RecordLike) -> str:
    """The leaf of one record: SHA-256 over its key, value and headers, framed (hex)."""
    framed = hashlib.sha256(_framed(record.key) + _framed(record.value))
    framed.update(struct.pack(">i", len(record.headers)))
    for name, value in record.headers:
        framed.update(_framed(name.encode()) + _framed(value))
    return framed.hexdigest()


def _framed(data: bytes | None) -> bytes:
    # length-prefixed, -1 for null, as Kafka's record format: no two records frame alike
    return struct.pack(">i", -1) if data is None else struct.pack(">i", len(data)) + data


def extend(chain: str, leaf: str) -> str:
    """The cumulative hash after one more leaf: SHA-256(chain || leaf), over the raw digests."""
    return hashlib.sha256(bytes.fromhex(chain) + bytes.fromhex(leaf)).hexdigest()


class Mark(BaseModel):
    """Where a checkpoint left one partition: records below ``end_offset`` and their chain."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partition: int = Field(ge=0)
    end_offset: int = Field(default=0, ge=0)
    records: int = Field(default=0, ge=0)
    chain: str = Field(default=GENESIS_HASH, pattern=_HEX64)


def advance(mark: Mark, records: Iterable[RecordLike]) -> Mark:
    """The mark after ``records`` of its partition, in offset order, none below
    ``mark.end_offset``."""
    end, count, chain = mark.end_offset, mark.records, mark.chain
    for record in records:
        if record.offset < end:
            raise ValueError(f"record at offset {record.offset} is below the mark's end {end}")
        end, count, chain = record.offset + 1, count + 1, extend(chain, record_leaf(record))
    return Mark(partition=mark.partition, end_offset=end, records=count, chain=chain)


class Checkpoint(BaseModel):
    """A signed checkpoint of one topic, as parsed (see the module's docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["wineshop-checkpoint/1"]
    topic: str = Field(min_length=1)
    sequence: int = Field(ge=1)
    previous: str | None = Field(pattern=_HEX64)
    created_at: str
    hash_scheme: Literal["sha256-chain-per-partition/record-leaves/1"]
    partitions: tuple[Mark, ...]
    key_id: str
    signature: str

    def mark(self, partition: int) -> Mark | None:
        """This checkpoint's mark of ``partition`` (None if the topic had no such partition)."""
        return next((m for m in self.partitions if m.partition == partition), None)


def draft(topic: str, marks: Iterable[Mark], created_at: str,
          previous: tuple[Checkpoint, str] | None) -> dict[str, Any]:
    """The unsigned checkpoint of ``topic`` at ``marks``, following ``previous`` (the topic's
    previous checkpoint and its digest) if there is one."""
    return {"format": FORMAT, "topic": topic,
            "sequence": previous[0].sequence + 1 if previous else 1,
            "previous": previous[1] if previous else None, "created_at": created_at,
            "hash_scheme": HASH_SCHEME,
            "partitions": [mark.model_dump() for mark in sorted(marks, key=lambda m: m.partition)]}


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a public key: ``ed25519:`` and the start of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"ed25519:{hashlib.sha256(raw).hexdigest()[:16]}"


def _signing_input(document: Mapping[str, Any]) -> bytes:
    return canonical_json({k: v for k, v in document.items() if k != "signature"})


def sign(unsigned: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``unsigned`` (every field but ``key_id`` and ``signature``) with the key's id and its
    signature added; raises ``InvalidCheckpointError`` if the result is not a checkpoint."""
    body = {**unsigned, "key_id": key_id(key.public_key())}
    signed = {**body, "signature": base64.b64encode(key.sign(_signing_input(body))).decode()}
    _parse(signed)
    return signed


def verify_signature(document: Mapping[str, Any],
                     keys: Mapping[str, Ed25519PublicKey]) -> Checkpoint:
    """The checkpoint ``document`` is, if it is one signed by one of ``keys`` (by key id);
    raises ``InvalidCheckpointError`` otherwise. The signature is checked over the document as
    given, not as re-serialised."""
    checkpoint = _parse(document)
    public_key = keys.get(checkpoint.key_id)
    if public_key is None:
        raise InvalidCheckpointError(f"signed by an unknown key {checkpoint.key_id}")
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        public_key.verify(signature, _signing_input(document))
    except (InvalidSignature, binascii.Error):
        raise InvalidCheckpointError("the signature does not verify") from None
    return checkpoint


def _parse(document: Mapping[str, Any]) -> Checkpoint:
    try:
        return Checkpoint.model_validate(dict(document))
    except (ValidationError, TypeError) as error:
        raise InvalidCheckpointError(f"not a checkpoint: {error}") from None


def to_bytes(document: Mapping[str, Any]) -> bytes:
    """The canonical JSON (RFC 8785) of a checkpoint document: what is published and filed."""
    return canonical_json(document)


def digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of a signed checkpoint's canonical JSON: the next checkpoint's ``previous``."""
    return hashlib.sha256(canonical_json(document)).hexdigest()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key of a PEM file; raises ``InvalidCheckpointError`` if it is none."""
    key = serialization.load_pem_private_key(_read(path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidCheckpointError(f"{path} is not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key of a PEM file; raises ``InvalidCheckpointError`` if it is none."""
    key = serialization.load_pem_public_key(_read(path))
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidCheckpointError(f"{path} is not an Ed25519 public key")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidCheckpointError(f"no key at {path} ({error.strerror})") from None


def generate_key_pair(private: Path, public: Path) -> None:
    """Write a new Ed25519 key pair (PEM); the private key is readable by its owner only."""
    key = Ed25519PrivateKey.generate()
    for path in (private, public):
        path.parent.mkdir(parents=True, exist_ok=True)
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
