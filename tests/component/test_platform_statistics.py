"""ANALYZE samples what the planner uses, not the event store's documents."""

from __future__ import annotations

import asyncpg

DOCUMENTS = {("events", "envelope"), ("streams", "state"), ("idempotency_keys", "response")}


async def _targets(conn: asyncpg.Connection, tables: list[str]) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        "SELECT c.relname, a.attname, coalesce(a.attstattarget, -1) AS target "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped", tables)
    return {(row["relname"], row["attname"]): row["target"] for row in rows}


async def test_the_documents_have_no_statistics_and_the_keys_keep_theirs(
        orders_conn: asyncpg.Connection) -> None:
    targets = await _targets(orders_conn, ["events", "streams", "idempotency_keys"])
    assert {column for column, target in targets.items() if target == 0} == DOCUMENTS
    assert targets[("events", "order_id")] == -1  # the default: sampled as before
    assert targets[("streams", "order_id")] == -1


async def test_analyze_leaves_the_documents_out(orders_conn: asyncpg.Connection) -> None:
    await orders_conn.execute(
        "INSERT INTO idempotency_keys (key, request_hash, status, response) "
        "SELECT 'statistics-' || i, 'h', 201, jsonb_build_object('n', i) "
        "FROM generate_series(1, 50) AS i")
    await orders_conn.execute("ANALYZE idempotency_keys")
    sampled = {row["attname"] for row in await orders_conn.fetch(
        "SELECT attname FROM pg_stats WHERE tablename = 'idempotency_keys'")}
    assert "key" in sampled
    assert "response" not in sampled
