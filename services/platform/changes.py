"""A read model's changes as data: projections that can be applied one event at a time, live,
or folded a window of events at a time, in a rebuild.

A projection written as ``changes(envelope, event) -> [Change, ...]`` says what one event
changes in its read model's rows, without a connection: a row inserted (``Insert``), columns
set on a row (``Update``), fields merged into one entry of a JSON column (``MergeEntry``).

* Live, ``projection(changes)`` is the service's ``EventHandler``: each change is one
  statement, in the transaction that records the event (``apply_change``).
* In a rebuild, ``Folding`` applies a window's changes to row images in memory, with the
  statements' semantics (the version guard, ``ON CONFLICT DO NOTHING``, jsonb's ``||``), then
  writes each row once: new rows by binary COPY, rows an earlier window wrote read first and
  written back with one statement per shape. Thousands of events cost a few statements, not one
  each (docs/decisions/0017). The read model's tables are empty when a rebuild begins, so the
  rows it can change are those it wrote itself, which it remembers by key.

The rebuild holds the folded read model against the live one it replaces, table by table
(``rebuild_and_compare``): the two paths are held equal on every rebuild the tests run.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from services.platform.write_path import EventHandler

__all__ = [
    "Change",
    "Changes",
    "DuplicateRowError",
    "Folding",
    "Insert",
    "MergeEntry",
    "Table",
    "Update",
    "apply_change",
    "projection",
]


# The changes are named tuples, not frozen dataclasses: a rebuild makes one or two per event,
# and a frozen dataclass costs several times as much to make (and a Table to hash).


class Table(NamedTuple):
    """A read-model table and the column that identifies its rows."""

    name: str
    key: str = "order_id"


class Insert(NamedTuple):
    """A new row. With ``if_absent``, a row already there under the same key is left as it is
    (``ON CONFLICT DO NOTHING``); otherwise the key must be new (it is unique)."""

    table: Table
    row: Mapping[str, object]
    if_absent: bool = False

    @property
    def key(self) -> object:
        """The new row's key."""
        return self.row[self.table.key]


class Update(NamedTuple):
    """``columns`` set on the row under ``key``. With a ``version`` (and the event's time
    ``at``), only if the row is older than it, and the row's ``version`` and ``updated_at``
    become the event's: projecting an event twice changes nothing."""

    table: Table
    key: object
    columns: Mapping[str, object]
    version: int | None = None
    at: dt.datetime | None = None


class MergeEntry(NamedTuple):
    """``fields`` merged into the entry ``entry`` of the JSON object in ``column`` (jsonb's
    ``||``: the new fields win), versioned like ``Update``."""

    table: Table
    key: object
    column: str
    entry: str
    fields: Mapping[str, object]
    version: int
    at: dt.datetime


Change = Insert | Update | MergeEntry
Changes = Callable[[Envelope, Event], Sequence[Change]]
"""A projection as data: what one recorded event changes in the read model."""


class DuplicateRowError(ValueError):
    """An ``Insert`` (not ``if_absent``) under a key the table already holds."""


# --- live: one statement per change -----------------------------------------------------------


def projection(changes: Changes) -> EventHandler:
    """The ``EventHandler`` that applies ``changes`` live, one statement each."""

    async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        for change in changes(envelope, event):
            await apply_change(conn, change)

    return project


async def apply_change(conn: asyncpg.Connection, change: Change) -> bool:
    """Send ``change`` as one statement; True when it changed a row."""
    match change:
        case Insert():
            query = _insert_sql(change.table, tuple(change.row), change.if_absent)
            status = await conn.execute(query, *change.row.values())
        case Update():
            query = _update_sql(change.table, tuple(change.columns), change.version is not None)
            guard = () if change.version is None else (change.version, change.at)
            status = await conn.execute(query, change.key, *guard, *change.columns.values())
        case MergeEntry():
            status = await conn.execute(_merge_sql(change.table, change.column), change.key,
                                        change.version, change.at, change.entry, change.fields)
    return bool(status.endswith(" 1"))


@functools.lru_cache(maxsize=1024)
def _insert_sql(table: Table, columns: tuple[str, ...], if_absent: bool) -> str:
    values = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    conflict = f" ON CONFLICT ({table.key}) DO NOTHING" if if_absent else ""
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({values}){conflict}"


@functools.lru_cache(maxsize=1024)
def _update_sql(table: Table, columns: tuple[str, ...], versioned: bool) -> str:
    first = 4 if versioned else 2
    assignments = [f"{name} = ${n}" for n, name in enumerate(columns, start=first)]
    if not versioned:
        return f"UPDATE {table.name} SET {', '.join(assignments)} WHERE {table.key} = $1"
    return (f"UPDATE {table.name} SET {', '.join(assignments)}, version = $2, updated_at = $3 "
            f"WHERE {table.key} = $1 AND version < $2")


@functools.lru_cache(maxsize=64)
def _merge_sql(table: Table, column: str) -> str:
    return (f"UPDATE {table.name} SET {column} = jsonb_set({column}, ARRAY[$4::text], "
            f"coalesce({column}->$4, '{{}}'::jsonb) || $5::jsonb), version = $2, "
            f"updated_at = $3 WHERE {table.key} = $1 AND version < $2")


# --- in a rebuild: a window folded in memory, each row written once ----------------------------

Image = dict[str, Any]
"""A row as the fold sees it: column → value (the columns given, or all when read)."""
RowId = tuple[Table, object]


@dataclass
class _Window:
    """The rows one window's changes touch: read (written by an earlier window) or new, and
    which columns of the read ones the window changed."""

    images: dict[RowId, Image] = field(default_factory=dict)
    new: set[RowId] = field(default_factory=set)
    changed: dict[RowId, set[str]] = field(default_factory=dict)


class Folding:
    """Applies a rebuild's windows of events to the read model's tables, each window's changes
    folded in memory and each row written once (the module's docstring). The tables must be
    empty when the first window comes."""

    def __init__(self, changes: Changes) -> None:
        self._changes = changes
        self._written: set[RowId] = set()

    async def apply(self, conn: asyncpg.Connection,
                    events: Iterable[tuple[Envelope, Event]]) -> None:
        """Fold these events (each order's in their order) into the tables on ``conn``."""
        await self.apply_changes(conn, [change for envelope, event in events
                                        for change in self._changes(envelope, event)])

    async def apply_changes(self, conn: asyncpg.Connection, changes: Sequence[Change]) -> None:
        """Fold these changes (each order's in their order) into the tables on ``conn``."""
        window = _Window()
        await self._read(conn, changes, window)
        for change in changes:
            _fold(change, window)
        await self._write(conn, window)

    async def _read(self, conn: asyncpg.Connection, changes: Sequence[Change],
                    window: _Window) -> None:
        """The rows these changes touch that an earlier window wrote, as images."""
        wanted: dict[Table, set[object]] = {}
        for change in changes:
            if (change.table, change.key) in self._written:
                wanted.setdefault(change.table, set()).add(change.key)
        for table, keys in wanted.items():
            for row in await conn.fetch(
                    f"SELECT * FROM {table.name} WHERE {table.key} = ANY($1)", list(keys)):
                window.images[table, row[table.key]] = dict(row)

    async def _write(self, conn: asyncpg.Connection, window: _Window) -> None:
        """New rows by binary COPY, changed ones by one UPDATE per shape; remember the new."""
        copies: dict[tuple[Table, tuple[str, ...]], list[tuple[object, ...]]] = {}
        updates: dict[tuple[Table, tuple[str, ...]], list[tuple[object, ...]]] = {}
        for row_id, image in window.images.items():
            if row_id in window.new:
                copies.setdefault((row_id[0], tuple(image)), []).append(tuple(image.values()))
            elif changed := window.changed.get(row_id):
                columns = tuple(sorted(changed))
                updates.setdefault((row_id[0], columns), []).append(
                    (row_id[1], *(image[column] for column in columns)))
        for (table, columns), records in copies.items():
            await conn.copy_records_to_table(table.name, records=records, columns=columns)
        for (table, columns), records in updates.items():
            await conn.executemany(_update_sql(table, columns, False), records)
        self._written |= window.new


def _fold(change: Change, window: _Window) -> None:
    """``change`` applied to the window's images as its statement would apply it to the rows."""
    row_id = (change.table, change.key)
    image = window.images.get(row_id)
    if isinstance(change, Insert):
        if image is None:
            window.images[row_id] = dict(change.row)
            window.new.add(row_id)
        elif not change.if_absent:
            raise DuplicateRowError(f"{change.table.name} already holds {change.key!r}")
        return
    if image is None or (change.version is not None
                         and _column(image, "version", change) >= change.version):
        return  # no such row, or it already reflects this event: the statement changes nothing
    if isinstance(change, Update):
        assigned = dict(change.columns)
    else:
        merged = dict(_column(image, change.column, change))
        merged[change.entry] = {**merged.get(change.entry, {}), **change.fields}
        assigned = {change.column: merged}
    if change.version is not None:
        assigned.update(version=change.version, updated_at=change.at)
    image.update(assigned)
    if row_id not in window.new:
        window.changed.setdefault(row_id, set()).update(assigned)


def _column(image: Image, column: str, change: Change) -> Any:
    """A column the change needs; a new row must have been given it (its default, which the
    statement would read, is the database's, unknown here)."""
    try:
        return image[column]
    except KeyError:
        raise KeyError(f"{change.table.name} {change.key!r}: the Insert gives no {column}, "
                       f"which {type(change).__name__} needs") from None
