"""Settings read from the environment, with the local stack's defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from contracts.topics import DEFAULT_PARTITIONS

DEFAULT_KAFKA = "127.0.0.1:19092"
DEFAULT_DATABASE_SERVER = "postgresql://postgres@127.0.0.1:15432/postgres"
HTTP_PORTS = {"orders": 8001, "payments": 8002, "fulfilment": 8003, "refunds": 8004}


@dataclass(frozen=True)
class Settings:
    """What a service needs to reach its infrastructure."""

    service: str
    kafka_bootstrap: str
    database_url: str
    partitions: int
    replication: int
    build: str
    http_port: int


def database_url_for(service: str, environ: dict[str, str] | None = None) -> str:
    """``<SERVICE>_DATABASE_URL``, else ``DATABASE_URL``'s server with the service's database."""
    env = os.environ if environ is None else environ
    own = env.get(f"{service.upper()}_DATABASE_URL")
    if own:
        return own
    parts = urlsplit(env.get("DATABASE_URL", DEFAULT_DATABASE_SERVER))
    return urlunsplit(parts._replace(path=f"/{service}"))


def load_settings(service: str, environ: dict[str, str] | None = None) -> Settings:
    """Settings of ``service`` from the environment (``KAFKA_BOOTSTRAP``, ``*_DATABASE_URL``, …)."""
    env = os.environ if environ is None else environ
    return Settings(
        service=service,
        kafka_bootstrap=env.get("KAFKA_BOOTSTRAP", DEFAULT_KAFKA),
        database_url=database_url_for(service, dict(env)),
        partitions=int(env.get("TOPIC_PARTITIONS", DEFAULT_PARTITIONS)),
        replication=int(env.get("TOPIC_REPLICATION", "1")),
        build=env.get("BUILD", "dev"),
        http_port=int(env.get(f"{service.upper()}_PORT", HTTP_PORTS.get(service, 8000))),
    )
