"""The base classes of the published language: events and the value objects they carry."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Event", "Value"]


class Event(BaseModel):
    """Base of every event payload: frozen, unknown fields ignored, typed by its class name.

    A model is the *payload* of an event; the envelope (ids, stream version, times, hash chain)
    is in ``contracts.envelope``. Consumers ignore unknown fields, so adding an optional field is
    compatible; a breaking change is a new ``schema_version`` with an upcaster.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")
    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        """The event's ``type`` in the envelope: its class name."""
        return cls.__name__


class Value(BaseModel):
    """Base of value objects carried inside payloads."""

    model_config = ConfigDict(frozen=True, extra="ignore")
