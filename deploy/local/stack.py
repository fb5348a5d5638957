"""Start and stop the whole local stack: Kafka (one broker, or a cluster of ``brokers`` nodes)
and one PostgreSQL server."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.local.cluster import KafkaCluster
from deploy.local.kafka import REPO_ROOT, KafkaBroker
from deploy.local.postgres import LocalPostgres

Kafka = KafkaBroker | KafkaCluster
Server = Kafka | LocalPostgres

SERVICES = ("orders", "payments", "fulfilment", "refunds")
DEFAULT_DATA_DIR = REPO_ROOT / ".data" / "local"
DEFAULT_KAFKA_PORT = 19092
DEFAULT_CONTROLLER_PORT = 19093
DEFAULT_POSTGRES_PORT = 15432
# the multi-broker stack (--brokers 3) lives apart from the single-broker one, so both can run:
# node i listens on 32092 + 2 i, its controller on the port after
DEFAULT_CLUSTER_DATA_DIR = REPO_ROOT / ".data" / "cluster"
DEFAULT_CLUSTER_KAFKA_PORT = 32092
DEFAULT_CLUSTER_POSTGRES_PORT = 32432


@dataclass(frozen=True)
class Defaults:
    """Where a stack lives unless told otherwise."""

    data_dir: Path
    kafka_port: int
    controller_port: int  # a cluster's is its first node's: each sits beside its broker
    postgres_port: int


def defaults(brokers: int = 1) -> Defaults:
    """The default data dir and ports of the single-broker stack, or of the cluster stack."""
    if brokers == 1:
        return Defaults(DEFAULT_DATA_DIR, DEFAULT_KAFKA_PORT, DEFAULT_CONTROLLER_PORT,
                        DEFAULT_POSTGRES_PORT)
    return Defaults(DEFAULT_CLUSTER_DATA_DIR, DEFAULT_CLUSTER_KAFKA_PORT,
                    DEFAULT_CLUSTER_KAFKA_PORT + 1, DEFAULT_CLUSTER_POSTGRES_PORT)


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


def make_kafka(
    data_dir: Path | None = None,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    brokers: int = 1,
) -> Kafka:
    """Return the broker of :func:`make_broker`, or with ``brokers`` > 1 the cluster that keeps
    its nodes in ``<data_dir>/kafka`` on ports from ``kafka_port`` (``controller_port`` unused)."""
    if brokers == 1:
        return make_broker(data_dir, kafka_port, controller_port)
    return KafkaCluster(_root(data_dir) / "kafka", kafka_port, brokers)


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
    brokers: int = 1,
) -> Endpoints:
    """Start Kafka and PostgreSQL unless already running, wait until both answer, create the
    services' databases and return the endpoints. Safe to call again while the stack runs.

    With ``brokers`` > 1 Kafka is a cluster of that many nodes (see :func:`make_kafka`); the
    services then want ``TOPIC_REPLICATION=3``."""
    broker = make_kafka(data_dir, kafka_port, controller_port, brokers)
    postgres = make_postgres(data_dir, postgres_port)
    started: list[Server] = []
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


def _start(server: Server, started: list[Server]) -> None:
    was_running = server.is_running()
    server.start()
    if not was_running:
        started.append(server)


def stop_stack(
    data_dir: Path | None = None,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    postgres_port: int = DEFAULT_POSTGRES_PORT,
    *,
    brokers: int = 1,
) -> dict[str, bool]:
    """Stop Kafka and the server of ``data_dir``; return which of them were running.

    Both stop at once: neither needs the other to shut down, and one slow to stop (a broker's
    controlled shutdown, a checkpoint) then no longer adds its wait to the other's."""
    kafka = make_kafka(data_dir, kafka_port, controller_port, brokers)
    postgres = make_postgres(data_dir, postgres_port)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        stopping = {"kafka": pool.submit(kafka.stop), "postgres": pool.submit(postgres.stop)}
        return {name: future.result() for name, future in stopping.items()}


def stack_status(
    data_dir: Path | None = None,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    controller_port: int = DEFAULT_CONTROLLER_PORT,
    postgres_port: int = DEFAULT_POSTGRES_PORT,
    *,
    brokers: int = 1,
) -> dict[str, Any]:
    """Return a JSON-able report of both servers of ``data_dir``."""
    return {
        "kafka": make_kafka(data_dir, kafka_port, controller_port, brokers).status(),
        "postgres": make_postgres(data_dir, postgres_port).status(),
    }
