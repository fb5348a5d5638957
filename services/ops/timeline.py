"""``order ID``: one order's life across the four services, from their event stores (the store
of record, read only), each event with the event that caused it, and each read model's current
rows for the order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from contracts.topics import SERVICES
from services.ops.registry import service
from services.ops.stores import reading
from services.platform.settings import LogSettings
from services.platform.timeline import cause_id, in_time_order

__all__ = ["OrderState", "TimelineEvent", "ViewRow", "order_state", "timeline"]

Envelope = Mapping[str, Any]


@dataclass(frozen=True)
class TimelineEvent:
    """One event of the order, with a label of the event that caused it (None for a command)."""

    service: str
    occurred_at: str
    type: str
    version: int
    event_id: str
    hash: str
    causation_id: str | None
    cause: str | None


@dataclass(frozen=True)
class ViewRow:
    """A row of a service's read model about the order (sealed personal fields left out)."""

    service: str
    table: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class OrderState:
    """The order's timeline and its rows in every read model."""

    order_id: str
    events: list[TimelineEvent]
    views: list[ViewRow]


def timeline(stored: Mapping[str, Sequence[Envelope]]) -> list[TimelineEvent]:
    """Every service's events of one order in the operators' order
    (``services.platform.timeline``), each with a label of its cause."""
    by_id = {str(e["event_id"]): (name, e) for name, events in stored.items() for e in events}
    return [_event(name, e, by_id) for name, e in in_time_order(stored)]


def _event(name: str, envelope: Envelope,
           by_id: Mapping[str, tuple[str, Envelope]]) -> TimelineEvent:
    cause = cause_id(envelope)
    return TimelineEvent(name, str(envelope["occurred_at"]), str(envelope["type"]),
                         int(envelope["version"]), str(envelope["event_id"]),
                         str(envelope["hash"]), cause, _cause_label(cause, by_id))


def _cause_label(cause: str | None, by_id: Mapping[str, tuple[str, Envelope]]) -> str | None:
    if cause is None:
        return None
    if cause not in by_id:
        return f"event {cause[:8]}… (not of this order)"
    name, envelope = by_id[cause]
    return f"{name} {envelope['type']} v{envelope['version']}"


async def order_state(settings: LogSettings, order_id: str) -> OrderState:
    """The order's timeline and read-model rows, from each service's database (read only)."""
    stored: dict[str, list[Envelope]] = {}
    views: list[ViewRow] = []
    for name in SERVICES:
        async with reading(settings, name) as conn:
            stored[name] = await _stored(conn, order_id)
            views += await _views(conn, name, order_id)
    return OrderState(order_id, timeline(stored), views)


async def _stored(conn: asyncpg.Connection, order_id: str) -> list[Envelope]:
    if not await conn.fetchval("SELECT to_regclass('events') IS NOT NULL"):
        return []  # the service never ran against this database
    rows = await conn.fetch("SELECT envelope FROM events WHERE order_id = $1 ORDER BY version",
                            order_id)
    return [row["envelope"] for row in rows]


async def _views(conn: asyncpg.Connection, name: str, order_id: str) -> list[ViewRow]:
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'order_id' "
        "AND table_schema = current_schema() AND table_name = ANY($1::text[]) "
        "ORDER BY table_name", list(service(name).read_model.locked_tables))
    views = []
    for table in (row["table_name"] for row in tables):
        rows = await conn.fetch(f"SELECT to_jsonb(t) AS row FROM {table} t WHERE order_id = $1",
                                order_id)
        views += [ViewRow(name, table, _unsealed(row["row"])) for row in rows]
    return views


def _unsealed(fields: dict[str, Any]) -> dict[str, Any]:
    """The row without its sealed fields: ciphertext tells an operator nothing."""
    return {name: value for name, value in fields.items()
            if not (isinstance(value, dict) and "ciphertext" in value)}
