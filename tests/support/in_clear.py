"""Searching the whole system's storage for values that must never be found in clear: every
record of every topic, every row of every table of every database."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from services.platform.kafka_io import read_topic


async def found_in_topics(bootstrap: str, needles: list[str]) -> set[str]:
    """Which of ``needles`` occur in clear in any record (key, value, headers) of any topic."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = sorted(await admin.list_topics())
    finally:
        await admin.close()
    found: set[str] = set()
    for topic in topics:
        async for record in read_topic(bootstrap, topic):
            raw = b"".join([record.key or b"", record.value or b"",
                            *(value for _, value in record.headers)])
            found |= {needle for needle in needles if needle.encode() in raw}
    return found


async def found_in_databases(server_url: str, needles: list[str]) -> dict[str, set[str]]:
    """Which of ``needles`` occur in clear in any row of any table of any database."""
    found: dict[str, set[str]] = {}
    server = await asyncpg.connect(server_url)
    try:
        names = [r["datname"] for r in await server.fetch(
            "SELECT datname FROM pg_database WHERE NOT datistemplate")]
    finally:
        await server.close()
    for name in names:
        conn = await asyncpg.connect(urlunsplit(urlsplit(server_url)._replace(path=f"/{name}")))
        try:
            tables = await conn.fetch(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS t "
                "FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND "
                "table_schema NOT IN ('pg_catalog', 'information_schema')")
            for table in tables:
                text = await conn.fetchval(f"SELECT string_agg(x::text, ' ') FROM {table['t']} x")
                for needle in needles:
                    if text and needle in text:
                        found.setdefault(f"{name}:{table['t']}", set()).add(needle)
        finally:
            await conn.close()
    return found
