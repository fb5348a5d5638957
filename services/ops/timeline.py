"""``order ID``: one order's life across the four services, from their event stores (the store
of record, read only), each event with the event that caused it, and each read model's current
rows for the order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from contracts.topics import SERVICES
from services.ops.registry import service
from services.ops.stores import reading
from services.platform.settings import LogSettings

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
    """Every service's events of one order in time order; at the same instant a cause comes
    before its effects, then services in the log's order, then stream versions."""
    by_id = {str(e["event_id"]): (name, e) for name, events in stored.items() for e in events}
    depth = _depths({event_id: _cause_id(e) for event_id, (_, e) in by_id.items()})
    rows = [_event(name, e, by_id) for name, e in by_id.values()]
    return sorted(rows, key=lambda r: (_instant(r.occurred_at), depth[r.event_id],
                                       _rank(r.service), r.version))


def _event(name: str, envelope: Envelope,
           by_id: Mapping[str, tuple[str, Envelope]]) -> TimelineEvent:
    cause_id = _cause_id(envelope)
    return TimelineEvent(name, str(envelope["occurred_at"]), str(envelope["type"]),
                         int(envelope["version"]), str(envelope["event_id"]),
                         str(envelope["hash"]), cause_id, _cause_label(cause_id, by_id))


def _cause_id(envelope: Envelope) -> str | None:
    cause = envelope.get("causation_id")
    return None if cause is None else str(cause)


def _cause_label(cause_id: str | None, by_id: Mapping[str, tuple[str, Envelope]]) -> str | None:
    if cause_id is None:
        return None
    if cause_id not in by_id:
        return f"event {cause_id[:8]}… (not of this order)"
    name, cause = by_id[cause_id]
    return f"{name} {cause['type']} v{cause['version']}"


def _depths(causes: Mapping[str, str | None]) -> dict[str, int]:
    """How many causes each event has above it within the order (0: caused from outside)."""
    depths: dict[str, int] = {}

    def depth(event_id: str, seen: frozenset[str]) -> int:
        if event_id not in depths:
            cause = causes[event_id]
            if cause is None or cause not in causes or cause in seen:
                depths[event_id] = 0
            else:
                depths[event_id] = depth(cause, seen | {event_id}) + 1
        return depths[event_id]

    for event_id in causes:
        depth(event_id, frozenset())
    return depths


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _rank(name: str) -> int:
    return SERVICES.index(name) if name in SERVICES else len(SERVICES)


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
