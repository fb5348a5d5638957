"""Start and stop the whole local stack: one Kafka broker and one PostgreSQL server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.kafka import REPO_ROOT, KafkaBroker
from deploy.local.postgres import LocalPostgres

SERVICES = ("orders", "payments", "fulfilment", "refunds")
DEFAULT_DATA_DIR = REPO_ROOT / ".data" / "local"
DEFAULT_KAFKA_PORT = 19092
DEFAULT_CONTROLLER_PORT = 19093
DEFAULT_POSTGRES_PORT = 15432


@dataclass(frozen=True)
class Endpoints:
    """Where the running stack answers: Kafka bootstrap servers and one database URL a service."""

    kafka_bootstrap: str
    database_urls: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the endpoints as a JSON-able dict."""
        return {"kafka_bootstrap": self.kafka_bootstrap, "database_urls": dict(self.database_urls)}


def make_broker(
    data_dir: Path | None = None,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
) -> KafkaBroker:
    """Return the broker that keeps its files in ``<data_dir>/kafka``."""
    return KafkaBroker(_root(data_dir) / "kafka", kafka_port, controller_port)


def make_postgres(
    data_dir: Path | None = None, postgres_port: int = DEFAULT_POSTGRES_PORT
) -> LocalPostgres:
    """Return the PostgreSQL server that keeps its files in ``<data_dir>/postgres``."""
    return LocalPostgres(_root(data_dir) / "postgres", postgres_port)


def _root(data_dir: Path | None) -> Path:
    return Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR


def start_stack(
    data_dir: Path | None = None,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    postgres_port: int = DEFAULT_POSTGRES_PORT,
    *,
    timeout: float = 120.0,
) -> Endpoints:
    """Start Kafka and PostgreSQL unless already running, wait until both answer, create the
    services' databases and return the endpoints. Safe to call again while the stack runs."""
    broker = make_broker(data_dir, kafka_port, controller_port)
    postgres = make_postgres(data_dir, postgres_port)
    started: list[KafkaBroker | LocalPostgres] = []
    try:
        _start(broker, started)  # the JVM boots while PostgreSQL starts
        _start(postgres, started)
        postgres.wait_ready()
        urls = {service: postgres.ensure_database(service) for service in SERVICES}
        broker.wait_ready(timeout)
    except BaseException:
        for server in started:  # leave alone what ran before this call
            server.stop()
        raise
    return Endpoints(kafka_bootstrap=broker.bootstrap, database_urls=urls)


def _start(server: KafkaBroker | LocalPostgres, started: list[KafkaBroker | LocalPostgres]) -> None:
    was_running = server.is_running()
    server.start()
    if not was_running:
        started.append(server)


def stop_stack(
    data_dir: Path | None = None,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    postgres_port: int = DEFAULT_POSTGRES_PORT,
) -> dict[str, bool]:
    """Stop the broker and the server of ``data_dir``; return which of them were running."""
    return {
        "kafka": make_broker(data_dir, kafka_port, controller_port).stop(),
        "postgres": make_postgres(data_dir, postgres_port).stop(),
    }


def stack_status(
    data_dir: Path | None = None,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    postgres_port: int = DEFAULT_POSTGRES_PORT,
) -> dict[str, Any]:
    """Return a JSON-able report of both servers of ``data_dir``."""
    return {
        "kafka": make_broker(data_dir, kafka_port, controller_port).status(),
        "postgres": make_postgres(data_dir, postgres_port).status(),
    }
