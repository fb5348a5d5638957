"""The services' databases as the command line opens them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg

from services.platform.db import use_json_codec
from services.platform.settings import LogSettings

__all__ = ["connected", "reading"]


@contextlib.asynccontextmanager
async def connected(settings: LogSettings, service: str) -> AsyncIterator[asyncpg.Connection]:
    """One connection to the service's database, jsonb decoded as Python objects."""
    conn = await asyncpg.connect(settings.database_url_for(service))
    try:
        await use_json_codec(conn)
        yield conn
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def reading(settings: LogSettings, service: str) -> AsyncIterator[asyncpg.Connection]:
    """A read-only transaction on the service's database: looking never changes the store of
    record, and everything read in it is one consistent snapshot."""
    async with connected(settings, service) as conn, conn.transaction(
            readonly=True, isolation="repeatable_read"):
        yield conn
