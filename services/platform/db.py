"""PostgreSQL access: connection pools and SQL migrations applied at start-up.

Migrations are plain numbered ``.sql`` files applied in order, each in its own transaction, under
an advisory lock so that several instances starting together apply them once. See
docs/decisions/0002-migrations.md for why this is not a library.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import orjson

__all__ = [
    "PLATFORM_MIGRATIONS",
    "PoolExhaustedError",
    "create_pool",
    "migrate",
    "migration_files",
    "use_json_codec",
]

Db: TypeAlias = asyncpg.Connection | asyncpg.Pool
"""Where a query runs: a connection (inside a transaction) or the pool."""

PLATFORM_MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 7_231_001


async def use_json_codec(conn: asyncpg.Connection) -> None:
    """Make ``conn`` pass jsonb values as Python objects (not text), encoded and decoded with
    orjson: every envelope and stream state goes through it, and the standard library's
    encoder was a measurable share of a worker's CPU (docs/decisions/0017)."""
    await conn.set_type_codec("jsonb", encoder=_jsonb_binary, decoder=_jsonb_decoded,
                              schema="pg_catalog", format="binary")


# jsonb's binary form is a version byte (1) and the text: binary, so that binary COPY
# (``copy_records_to_table``, used by a rebuild's folded rows) can write jsonb columns too
_JSONB_VERSION = b"\x01"


def _jsonb_binary(value: Any) -> bytes:
    return _JSONB_VERSION + orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def _jsonb_decoded(data: bytes) -> Any:
    return orjson.loads(memoryview(data)[1:])


class PoolExhaustedError(TimeoutError):
    """No connection of the pool could be had in time: the service is overloaded or its
    database does not answer. Raised before the connection is used, so nothing was done with it."""


class _BoundedPool(asyncpg.Pool):
    """A pool whose acquisitions wait ``acquire_timeout`` seconds at most (None: unbounded)."""

    __slots__ = ("_acquire_timeout",)

    def __init__(self, *args: Any, acquire_timeout: float | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    async def _acquire(self, timeout: float | None) -> Any:
        # the one path of every acquisition: ``acquire()``, and the pool's ``fetch``, ``execute``…
        bound = self._acquire_timeout if timeout is None else timeout
        if bound is None:
            return await super()._acquire(None)
        try:
            return await super()._acquire(bound)
        except TimeoutError:
            raise PoolExhaustedError(f"no database connection within {bound:g} s") from None


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10,
                      acquire_timeout: float | None = None) -> asyncpg.Pool:
    """Open a pool on ``url`` whose connections encode and decode jsonb as Python objects.

    With ``acquire_timeout``, waiting for a free connection longer than that many seconds raises
    ``PoolExhaustedError`` (an API answers 503) instead of queueing without bound.
    """
    # asyncpg.create_pool cannot build a subclass: the same call, with asyncpg's defaults
    pool = _BoundedPool(url, min_size=min_size, max_size=max_size, max_queries=50_000,
                        max_inactive_connection_lifetime=300.0, init=use_json_codec,
                        loop=None, connection_class=asyncpg.Connection,
                        record_class=asyncpg.Record, acquire_timeout=acquire_timeout)
    return await pool


def migration_files(directories: Iterable[Path]) -> list[Path]:
    """The ``.sql`` files of the given directories, platform first, each directory in name order."""
    return [path for directory in directories for path in sorted(directory.glob("*.sql"))]


async def migrate(conn: asyncpg.Connection, directories: Iterable[Path]) -> list[str]:
    """Apply the migrations not yet applied; return the names applied now."""
    await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
    try:
        await conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
            name text PRIMARY KEY, checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now())""")
        applied = {row["name"]: row["checksum"]
                   for row in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
        return [name for path in migration_files(directories)
                if (name := await _apply(conn, path, applied))]
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)


async def _apply(conn: asyncpg.Connection, path: Path, applied: dict[str, str]) -> str | None:
    name = f"{path.parent.parent.name}/{path.name}"
    sql = path.read_text()
    checksum = hashlib.sha256(sql.encode()).hexdigest()
    if name in applied:
        if applied[name] != checksum:
            raise RuntimeError(f"migration {name} changed after it was applied")
        return None
    async with conn.transaction():
        await conn.execute(sql)
        await conn.execute("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                           name, checksum)
    return name
