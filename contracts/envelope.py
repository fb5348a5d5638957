"""The envelope every event travels in, its sealing into the hash chain, and its decoding.

The JSON form of the envelope is what is hashed, stored and published: ``hash`` is SHA-256 over
the RFC 8785 canonical JSON of the envelope without ``hash``, and ``prev_hash`` links it to the
previous event of the same (service, order) stream.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, cast

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    TypeAdapter,
    ValidationError,
    create_model,
)
from pydantic_core import core_schema

from contracts.base import Event
from contracts.hashing import envelope_hash
from contracts.identifiers import new_event_id
from contracts.registry import EVENT_TYPES

__all__ = [
    "UPCASTERS",
    "EmittingService",
    "Envelope",
    "PoisonEventError",
    "TypedEnvelope",
    "decode_envelope",
    "decode_record",
    "encode_record",
    "parse_payload",
    "seal",
    "seal_with_json",
]


class EmittingService(BaseModel):
    """The stamp of the service (and build of it) that emitted an event: the envelope's
    ``producer`` field. Not to be confused with a Kafka producer."""

    model_config = ConfigDict(frozen=True)
    service: str
    build: str


UtcTimestamp = Annotated[dt.datetime, GetPydanticSchema(
    lambda _source, _handler: core_schema.datetime_schema(tz_constraint=0))]
"""A timestamp whose UTC offset must be zero, checked by pydantic-core itself (a Python validator
cost 4 µs per record decoded)."""


class Envelope(BaseModel):
    """Metadata around one event payload; see DESIGN.md, "The event log"."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID
    type: str
    schema_version: int = Field(ge=1)
    order_id: str = Field(min_length=1)
    version: int = Field(ge=1)
    occurred_at: UtcTimestamp
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID
    producer: EmittingService
    idempotency_key: str | None = None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def event(self) -> Event:
        """The typed payload (upcast to the current schema version)."""
        return parse_payload(self.type, self.schema_version, self.payload)

    def to_json(self) -> dict[str, Any]:
        """The JSON form that is hashed, stored and published."""
        return self.model_dump(mode="json")


class PoisonEventError(ValueError):
    """A record that can never be applied: undecodable, unknown type or version, or invalid."""


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""(type, old schema_version) -> function turning that payload into the next version's."""


def seal(
    event: Event, *, order_id: str, version: int, prev_hash: str, occurred_at: dt.datetime,
    producer: EmittingService, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> Envelope:
    """Wrap ``event`` in an envelope linked to ``prev_hash`` and compute its hash."""
    return seal_with_json(
        event, order_id=order_id, version=version, prev_hash=prev_hash,
        occurred_at=occurred_at, producer=producer, correlation_id=correlation_id,
        causation_id=causation_id, idempotency_key=idempotency_key)[0]


def seal_with_json(
    event: Event, *, order_id: str, version: int, prev_hash: str, occurred_at: dt.datetime,
    producer: EmittingService, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
) -> tuple[Envelope, dict[str, Any]]:
    """``seal``, with the envelope's JSON form (``Envelope.to_json``'s), which sealing builds
    anyway to hash it: the event store stores it without dumping the envelope again (a tenth
    of the escalation sweep's time)."""
    unsealed: dict[str, Any] = {
        "event_id": str(new_event_id()), "type": event.type_name(),
        "schema_version": event.schema_version, "order_id": order_id, "version": version,
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "causation_id": str(causation_id) if causation_id else None,
        "correlation_id": str(correlation_id), "producer": producer.model_dump(),
        "idempotency_key": idempotency_key, "payload": event.model_dump(mode="json"),
        "prev_hash": prev_hash,
    }
    document = {**unsealed, "hash": envelope_hash(unsealed)}
    return Envelope.model_validate(document), document


def parse_payload(type_name: str, schema_version: int, payload: dict[str, Any]) -> Event:
    """Validate a payload as its event class, upcasting older schema versions first."""
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise PoisonEventError(f"unknown event type {type_name!r}")
    while schema_version < cls.schema_version:
        upcast = UPCASTERS.get((type_name, schema_version))
        if upcast is None:
            raise PoisonEventError(f"no upcaster for {type_name} v{schema_version}")
        payload, schema_version = upcast(payload), schema_version + 1
    if schema_version != cls.schema_version:
        raise PoisonEventError(f"unknown schema_version {schema_version} of {type_name}")
    try:
        return cls.model_validate(payload)
    except ValidationError as error:
        raise PoisonEventError(f"invalid {type_name} payload: {_first_error(error)}") from error


def decode_envelope(raw: bytes | None) -> Envelope:
    """Decode a Kafka record value into its envelope (payload not yet validated), or raise
    PoisonEventError."""
    if raw is None:
        raise PoisonEventError("empty record value")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:  # invalid UTF-8 too
        raise PoisonEventError(f"undecodable JSON: {error}") from error
    if not isinstance(document, dict):
        raise PoisonEventError("record value is not a JSON object")
    try:
        return Envelope.model_validate(document)
    except ValidationError as error:
        raise PoisonEventError(f"invalid envelope: {_first_error(error)}") from error


class TypedEnvelope(Envelope):
    """An envelope of the current schema validated with its event in one pass (``decode_record``):
    its ``payload`` is the event model itself, not a dict. Its JSON form is the event's, without
    the fields the event ignores: hash the record as published, not this (``verify`` does)."""

    def event(self) -> Event:
        """The typed payload, validated with the envelope."""
        return cast(Event, self.payload)


def _typed_envelope(cls: type[Event]) -> type[TypedEnvelope]:
    name = cls.type_name()
    only_name: Any = Literal[name]  # built at run time: one literal per event type
    only_version: Any = Literal[cls.schema_version]
    return create_model(f"{name}Envelope", __base__=TypedEnvelope, type=(only_name, ...),
                        schema_version=(only_version, ...), payload=(cls, ...))


@functools.cache
def _current() -> TypeAdapter[TypedEnvelope]:
    """Every event type's envelope at its current schema version, told apart by ``type``: the
    JSON is parsed and validated once, without building the payload as a dict first (half the
    cost). Built on first use (80 ms), not when a process imports the contracts."""
    union: Any = Annotated[
        Union[tuple(_typed_envelope(cls) for cls in EVENT_TYPES.values())],  # noqa: UP007
        Field(discriminator="type")]
    return TypeAdapter(union)


def decode_record(raw: bytes | None) -> tuple[Envelope, Event]:
    """Decode a Kafka record value into its envelope and typed event, or raise PoisonEventError.

    A record of the current schema is validated in one pass (the envelope is a ``TypedEnvelope``);
    anything else (an older schema version to upcast, a poison record and its reason) goes
    through ``decode_envelope`` and ``Envelope.event``.
    """
    if raw is not None:
        try:
            typed = _current().validate_json(raw)
        except ValidationError:
            pass
        else:
            event = typed.event()
            if typed.schema_version == event.schema_version:  # as when the union was built
                return typed, event
    envelope = decode_envelope(raw)
    return envelope, envelope.event()


def encode_record(envelope: Envelope) -> bytes:
    """The Kafka record value of an envelope: its JSON form, compact (UTF-8, not escaped)."""
    return orjson.dumps(envelope.to_json())


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "(root)"
    return f"{location}: {first['msg']}"
