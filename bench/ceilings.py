"""The machine's ceilings: what Kafka, PostgreSQL and an empty HTTP endpoint do on this machine
with nothing of ours in the way, so the system's figures can be read against them.

* Kafka: raw aiokafka produce (acks=all, idempotent, acks gathered in batches) and consume of
  records the size of a real ``OrderPlaced`` envelope, on a scratch topic;
* PostgreSQL: batched inserts of event rows into the real ``events`` table (the platform's
  migrations applied to a scratch database), ``synchronous_commit`` left on;
* HTTP: an empty FastAPI endpoint served by ``services.platform.serve`` as our APIs are, driven
  by the benchmark's load client.

Each scratch topic or database has a random name and is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI

from bench.load import Request, closed_loop
from contracts.envelope import EmittingService, Envelope, encode_record, seal
from contracts.orders import OrderPlaced
from contracts.personal import PersonalData
from contracts.vocabulary import DeliveryAddress, PricedLine
from services.platform import personal
from services.platform.db import PLATFORM_MIGRATIONS, migrate
from services.platform.kafka_io import provision_topics

__all__ = ["http_ceiling", "kafka_ceiling", "measure_ceilings", "ping_app", "postgres_ceiling",
           "sample_envelope", "scratch_database"]

ROOT = Path(__file__).resolve().parents[1]
PRODUCER_TUNING: dict[str, Any] = {"linger_ms": 5, "max_batch_size": 256 * 1024,
                                   "compression_type": None}
"""What the Kafka ceiling's producer changes from the relay's (linger_ms=2, 16 KiB batches)."""
PRODUCE_BATCH = 10_000
"""Sends whose acks are gathered together."""
PARTITIONS = 3
ROWS_PER_TRANSACTION = 1_000
EVENT_COLUMNS = ("event_id", "order_id", "version", "type", "envelope")


def sample_envelope() -> Envelope:
    """A real ``OrderPlaced`` envelope: two lines, personal data sealed."""
    at = dt.datetime(2026, 6, 4, 10, tzinfo=dt.UTC)
    address = DeliveryAddress(recipient="Jeanne Martin", street="12 rue des Vignes",
                              postcode="66300", city="Thuir")
    data = PersonalData(email="jeanne.martin@example.org", phone="+33612345678",
                        delivery_address=address, date_of_birth=dt.date(1980, 4, 2))
    lines = (PricedLine(sku="COTES-ROUSSILLON-ROUGE-2022", name="Côtes du Roussillon rouge 2022",
                        quantity=6, unit_price_cents=890, line_total_cents=5340),
             PricedLine(sku="MUSCAT-RIVESALTES-2023", name="Muscat de Rivesaltes 2023",
                        quantity=2, unit_price_cents=1190, line_total_cents=2380))
    event = OrderPlaced(buyer_id="buyer-1", lines=lines,
                        personal=personal.seal("buyer-1:1", os.urandom(32), data),
                        delivery_method="standard", delivery_charge_cents=990,
                        products_total_cents=7720, total_cents=8710,
                        terms_version="CGV-2026-01", validated_at=at)
    return seal(event, order_id=str(uuid.uuid4()), version=1, prev_hash="0" * 64,
                occurred_at=at, producer=EmittingService(service="orders", build="bench"),
                correlation_id=uuid.uuid4(), idempotency_key=str(uuid.uuid4()))


def _scratch_name(kind: str) -> str:
    return f"bench_{kind}_{uuid.uuid4().hex[:12]}"


# --- Kafka -----------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def scratch_topic(bootstrap: str, partitions: int = 3) -> AsyncIterator[str]:
    """A new topic with a random name, replicated as the log's topics are (3 on a cluster of 3
    or more brokers, else 1), deleted on exit."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        brokers = len((await admin.describe_cluster())["brokers"])
        topic = _scratch_name("topic").replace("_", "-")
        await provision_topics(bootstrap, partitions, 3 if brokers >= 3 else 1, [topic])
        try:
            yield topic
        finally:
            await admin.delete_topics([topic])
    finally:
        await admin.close()


async def kafka_ceiling(bootstrap: str, records: int) -> dict[str, Any]:
    """Produce ``records`` envelope-sized records (acks=all, idempotent, acks awaited in
    batches of ``PRODUCE_BATCH``) to a 3-partition scratch topic, then consume them all back
    with one consumer; records per second of each."""
    value = encode_record(sample_envelope())
    async with scratch_topic(bootstrap, PARTITIONS) as topic:
        produce_s = await _produce(bootstrap, topic, value, records)
        consume_s = await _consume(bootstrap, topic, records + PARTITIONS)
    return {"records": records, "value_bytes": len(value), "partitions": PARTITIONS,
            "producer": {"acks": "all", "enable_idempotence": True, **PRODUCER_TUNING},
            "produce_msgs_per_s": round(records / produce_s), "produce_s": round(produce_s, 2),
            "consume_msgs_per_s": round(records / consume_s), "consume_s": round(consume_s, 2)}


async def _produce(bootstrap: str, topic: str, value: bytes, records: int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=True, **PRODUCER_TUNING)
    await producer.start()
    try:  # one untimed record per partition first: connections and leaders are then ready
        await asyncio.gather(*[await producer.send(topic, value, partition=partition)
                               for partition in range(PARTITIONS)])
        started = time.perf_counter()
        for first in range(0, records, PRODUCE_BATCH):
            acks = [await producer.send(topic, value, key=f"order-{i // 3}".encode())
                    for i in range(first, min(first + PRODUCE_BATCH, records))]
            await asyncio.gather(*acks)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, records: int, timeout_s: float = 300) -> float:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        started, seen = time.perf_counter(), 0
        while seen < records:
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"consumed {seen}/{records} records in {timeout_s} s")
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(batch) for batch in batches.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


# --- PostgreSQL ------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[str]:
    """A new database with a random name on the server of ``server_url`` (any database of it);
    its URL. Dropped on exit, with any connection still open to it."""
    name = _scratch_name("db")
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


Insert = Callable[[asyncpg.Connection, list[tuple[Any, ...]]], Awaitable[object]]


async def _copy(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> object:
    return await conn.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)


async def _executemany(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> object:
    return await conn.executemany(
        "INSERT INTO events (event_id, order_id, version, type, envelope) "
        "VALUES ($1, $2, $3, $4, $5)", rows)


async def _unnest(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> object:
    columns = zip(*rows, strict=True)
    return await conn.execute(
        "INSERT INTO events (event_id, order_id, version, type, envelope) SELECT * FROM "
        "unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::jsonb[])", *columns)


INSERTS: dict[str, Insert] = {"copy_records_to_table": _copy, "executemany": _executemany,
                              "insert_unnest": _unnest}
"""Ways of writing a batch of event rows: COPY, one INSERT pipelined per row, one multi-row
INSERT of arrays."""


async def postgres_ceiling(server_url: str, rows: int) -> dict[str, Any]:
    """Insert ``rows`` event rows (real ``events`` table, real-size jsonb envelope) in
    transactions of ``ROWS_PER_TRANSACTION`` rows, once per way of ``INSERTS`` (the table
    emptied between them), in a scratch database; rows per second of each and the best."""
    envelope = json.dumps(sample_envelope().to_json())
    result: dict[str, Any] = {"rows": rows, "rows_per_transaction": ROWS_PER_TRANSACTION,
                              "envelope_bytes": len(envelope.encode())}
    async with scratch_database(server_url) as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, [PLATFORM_MIGRATIONS])
            result["synchronous_commit"] = await conn.fetchval("SHOW synchronous_commit")
            for name, insert in INSERTS.items():
                await conn.execute("TRUNCATE events")
                seconds = await _insert_rows(conn, insert, envelope, rows)
                result[f"{name}_rows_per_s"] = round(rows / seconds)
        finally:
            await conn.close()
    result["best_rows_per_s"] = max(result[f"{name}_rows_per_s"] for name in INSERTS)
    return result


async def _insert_rows(conn: asyncpg.Connection, insert: Insert, envelope: str,
                       rows: int) -> float:
    started = time.perf_counter()
    for first in range(0, rows, ROWS_PER_TRANSACTION):
        batch = [(uuid.uuid4(), f"order-{i // 3}", i % 3 + 1, "OrderPlaced", envelope)
                 for i in range(first, min(first + ROWS_PER_TRANSACTION, rows))]
        async with conn.transaction():
            await insert(conn, batch)
    return time.perf_counter() - started


# --- HTTP ------------------------------------------------------------------------------------

def ping_app() -> FastAPI:
    """The HTTP ceiling's application (an app factory): ``GET /ping`` and nothing
    else — no middleware, no auth, no database."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


PING = Request("GET", "/ping")


async def http_ceiling(port: int, concurrency: int, duration_s: float) -> dict[str, Any]:
    """Serve ``ping_app`` on ``port`` in a subprocess launched exactly as our APIs are
    (``services.platform.serve``), warm it up, drive ``GET /ping`` with ``concurrency`` clients for
    ``duration_s``; requests per second, latency percentiles and the CPU seconds each side
    (server, load client) used."""
    base_url = f"http://127.0.0.1:{port}"
    with _served(port) as server:
        await _wait_until_answering(base_url)
        await closed_loop(base_url, lambda _: PING, concurrency=concurrency,
                          duration_s=min(1.0, duration_s / 5))
        server_cpu, client_cpu = _cpu_seconds(server), _cpu_seconds(psutil.Process(), False)
        load = await closed_loop(base_url, lambda _: PING, concurrency=concurrency,
                                 duration_s=duration_s)
        server_cpu, client_cpu = (_cpu_seconds(server) - server_cpu,
                                  _cpu_seconds(psutil.Process(), False) - client_cpu)
    summary = load.summary()
    return {"requests_per_s": summary.pop("per_s"), "concurrency": concurrency,
            "duration_s": duration_s, **summary,
            "server_cpu_per_s": round(server_cpu / load.seconds, 2),
            "client_cpu_per_s": round(client_cpu / load.seconds, 2),
            "cpus": os.cpu_count()}


@contextlib.contextmanager
def _served(port: int) -> Iterator[psutil.Process]:
    command = [sys.executable, "-m", "services.platform.serve", "bench.ceilings:ping_app",
               "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        yield psutil.Process(process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _cpu_seconds(process: psutil.Process, children: bool = True) -> float:
    """User + system CPU seconds of ``process``, with its children's (if any)."""
    processes = [process, *(process.children(recursive=True) if children else [])]
    return sum(sum(p.cpu_times()[:2]) for p in processes)


async def _wait_until_answering(base_url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{base_url}/ping") as answer:
                    if answer.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base_url}/ping did not answer within {timeout_s} s")
            await asyncio.sleep(0.1)


# --- all three -------------------------------------------------------------------------------

async def measure_ceilings(bootstrap: str, server_url: str, *, http_port: int,
                           scale: float = 1.0) -> dict[str, Any]:
    """The three ceilings one after the other (so they do not compete for the machine): at
    scale 1, 200,000 Kafka records, 200,000 PostgreSQL rows per way, 10 s of HTTP at 16 clients;
    counts and duration scaled by ``scale`` (0.01: a smoke run of a few seconds)."""
    count = max(100, round(200_000 * scale))
    started = time.perf_counter()
    # others' work on the machine shows here: a load above the CPU count lowers every ceiling
    result = {"scale": scale, "cpus": os.cpu_count(), "loadavg_1m_before": os.getloadavg()[0],
              "kafka": await kafka_ceiling(bootstrap, count),
              "postgres": await postgres_ceiling(server_url, count),
              "http": await http_ceiling(http_port, 16, max(0.5, 10 * scale))}
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result
