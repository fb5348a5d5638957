"""The embedded PostgreSQL server runs with the settings its stack is measured and tuned with."""

from __future__ import annotations

import asyncpg

from deploy.local.postgres import SERVER_SETTINGS


async def test_the_server_runs_with_the_launchers_settings(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        shown = {name: await conn.fetchval(f"SHOW {name}") for name in SERVER_SETTINGS}
    finally:
        await conn.close()
    assert shown == SERVER_SETTINGS


async def test_durability_is_not_traded_for_speed(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        shown = {name: await conn.fetchval(f"SHOW {name}")
                 for name in ("fsync", "synchronous_commit", "full_page_writes")}
    finally:
        await conn.close()
    assert shown == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
