"""Where the tests and the benchmarks find Kafka and PostgreSQL, in this order: endpoints given in
the environment (``KAFKA_BOOTSTRAP`` and ``DATABASE_URL``), testcontainers when a Docker engine
answers, else the local launcher of ``deploy/local`` (real Kafka from Maven jars, real embedded
PostgreSQL) on the test ports, with its data in ``.data/test``."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from contracts.topics import SERVICES

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / ".data" / "test"
TEST_PORTS = {"kafka": 29092, "controller": 29093, "postgres": 25432}


@dataclass(frozen=True)
class Infrastructure:
    """The endpoints the tests and the services under test use."""

    kafka_bootstrap: str
    database_server_url: str
    source: str

    def database_url(self, service: str) -> str:
        """The URL of ``service``'s own database on the server."""
        return urlunsplit(urlsplit(self.database_server_url)._replace(path=f"/{service}"))


@contextlib.contextmanager
def infrastructure() -> Iterator[Infrastructure]:
    """Find or start the infrastructure for a test session; stop what this session started."""
    if os.environ.get("KAFKA_BOOTSTRAP") and os.environ.get("DATABASE_URL"):
        yield Infrastructure(os.environ["KAFKA_BOOTSTRAP"], os.environ["DATABASE_URL"],
                             "environment")
    elif _docker_engine_answers():
        with _testcontainers() as found:
            yield found
    else:
        with _local_launcher() as found:
            yield found


@contextlib.contextmanager
def database_server() -> Iterator[str]:
    """Only a PostgreSQL server (for tests of handlers and projections): ``DATABASE_URL`` if
    set, else the local launcher's server, stopped at the end if this call started it."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    from deploy.local.stack import make_postgres

    postgres = make_postgres(TEST_DATA, TEST_PORTS["postgres"])
    was_running = postgres.is_running()
    postgres.start()
    try:
        postgres.wait_ready()
        yield postgres.url()
    finally:
        if not was_running:
            postgres.stop()


def _docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        return bool(docker.from_env().ping())
    except Exception:  # no client library, no socket, no engine: all mean "no Docker here"
        return False


@contextlib.contextmanager
def _testcontainers() -> Iterator[Infrastructure]:
    from testcontainers.kafka import KafkaContainer  # type: ignore[import-untyped]
    from testcontainers.postgres import PostgresContainer  # type: ignore[import-untyped]

    with KafkaContainer().with_kraft() as kafka, PostgresContainer("postgres:16") as postgres:
        url = postgres.get_connection_url().replace("postgresql+psycopg2", "postgresql")
        yield Infrastructure(kafka.get_bootstrap_server(), url, "testcontainers")


@contextlib.contextmanager
def _local_launcher() -> Iterator[Infrastructure]:
    from deploy.local.stack import start_stack, stop_stack

    ports = (TEST_PORTS["kafka"], TEST_PORTS["controller"], TEST_PORTS["postgres"])
    endpoints = start_stack(TEST_DATA, *ports)
    try:
        server = endpoints.database_urls["orders"].rsplit("/", 1)[0] + "/postgres"
        yield Infrastructure(endpoints.kafka_bootstrap, server, "local launcher")
    finally:
        stop_stack(TEST_DATA, *ports)


async def ensure_databases(infra: Infrastructure) -> None:
    """Create each service's database on the server if it is missing."""
    conn = await asyncpg.connect(infra.database_server_url)
    try:
        existing = {r["datname"] for r in await conn.fetch("SELECT datname FROM pg_database")}
        for service in SERVICES:
            if service not in existing:
                await conn.execute(f'CREATE DATABASE "{service}"')
    finally:
        await conn.close()


Cleanup = Callable[[], None]


def reset_test_data() -> bool:
    """Give the test harness's local stack a fresh log, databases, clock and mailbox, so that
    every test session starts from the same state (and its clock may start in the past).

    Does nothing (and returns False) when the tests use infrastructure from the environment or
    when the local test stack is already running: its data then belongs to someone else.
    """
    from deploy.local.stack import make_broker, make_postgres

    if os.environ.get("KAFKA_BOOTSTRAP") and os.environ.get("DATABASE_URL"):
        return False
    broker = make_broker(TEST_DATA, TEST_PORTS["kafka"], TEST_PORTS["controller"])
    postgres = make_postgres(TEST_DATA, TEST_PORTS["postgres"])
    if broker.is_running() or postgres.is_running():
        return False
    for name in ("kafka", "postgres", "mail", "logs", "workers"):
        shutil.rmtree(TEST_DATA / name, ignore_errors=True)
    for name in ("clock.json", "bank/transactions.json", "bank/transactions.jsonl"):
        (TEST_DATA / name).unlink(missing_ok=True)
    return True
