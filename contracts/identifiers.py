"""Identifiers of the log: time-ordered UUIDs for events and orders."""

from __future__ import annotations

import uuid

import uuid6

__all__ = ["new_event_id", "new_order_id"]


def new_event_id() -> uuid.UUID:
    """A time-ordered (UUIDv7) event id."""
    return uuid.UUID(str(uuid6.uuid7()))


def new_order_id() -> str:
    """A new order's id: a time-ordered UUID (v7) as text, the key of every topic's records."""
    return str(uuid6.uuid7())
