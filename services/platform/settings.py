"""Settings: the only place that reads the environment. One object per process.

``LogSettings`` is what tools that read the whole log need (Kafka, the PostgreSQL server);
``ServiceSettings`` adds what one service's processes need. Defaults are the local stack of
``make run``; every field comes from the environment variable of the same name in capitals
(``KAFKA_BOOTSTRAP``, ``DATABASE_URL``, ``TOPIC_PARTITIONS``, …), and ``<SERVICE>_DATABASE_URL``
overrides one service's database.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.topics import CHECKPOINTS_TOPIC, DEFAULT_PARTITIONS

__all__ = ["ApiSettings", "AuthSettings", "CheckpointSettings", "ClockSettings", "KeyStoreSettings",
           "LogSettings", "ServiceSettings", "load_log_settings", "load_settings"]


class LogSettings(BaseSettings):
    """Where the log and the services' databases are."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    kafka_bootstrap: str = "127.0.0.1:19092"
    database_url: str = Field(default="postgresql://postgres@127.0.0.1:15432/postgres",
                              description="a PostgreSQL server; each service uses the database "
                                          "named after it")
    topic_partitions: int = Field(default=DEFAULT_PARTITIONS, ge=1)
    topic_replication: int = Field(default=1, ge=1)

    def database_url_for(self, service: str) -> str:
        """``<SERVICE>_DATABASE_URL`` if set, else the service's database on ``database_url``."""
        own = _OwnDatabase(_env_prefix=f"{service.upper()}_").database_url  # type: ignore[call-arg]
        if own:
            return own
        return urlunsplit(urlsplit(self.database_url)._replace(path=f"/{service}"))


class KeyStoreSettings(BaseSettings):
    """Where the key store of personal data is, for the services that seal or open it besides
    orders, whose database holds it by default."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    keystore_database_url: str | None = Field(
        default=None, description="the key store of personal data (default: orders' database)")

    def url(self, log: LogSettings) -> str:
        """The database of the key store."""
        return self.keystore_database_url or log.database_url_for("orders")


DEV_KEYS = Path(".data/local/auth")
"""Where ``make run`` writes its development key pair."""


class AuthSettings(BaseSettings):
    """How bearer tokens are verified (and, for local use, minted)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    auth_public_key_file: Path = Field(default=DEV_KEYS / "public.pem",
                                       description="PEM public key (Ed25519) of the issuer")
    auth_private_key_file: Path = Field(default=DEV_KEYS / "private.pem",
                                        description="local use only: the key tokens are minted "
                                                    "with")
    auth_issuer: str = "wineshop-identity"
    auth_audience: str = "wineshop-services"

    def public_key(self) -> bytes:
        """The issuer's public key; a service refuses to start without one."""
        return _read_key(self.auth_public_key_file, "AUTH_PUBLIC_KEY_FILE")

    def private_key(self) -> bytes:
        """The private key tokens are minted with (development and tests only)."""
        return _read_key(self.auth_private_key_file, "AUTH_PRIVATE_KEY_FILE")


def _read_key(path: Path, variable: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise RuntimeError(f"no key at {path} ({error.strerror}): set {variable} to a PEM file"
                           " (make run generates a development pair)") from None


class ClockSettings(BaseSettings):
    """Where the processes take the time from.

    ``shared`` (``make run`` and the tests): every process of the stack reads one clock file,
    which ``python -m services.platform.clock`` sets and advances; ``system`` (production): the
    machine's clock, and the command is refused.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    clock_mode: Literal["shared", "system"] = "shared"
    clock_file: Path = Path(".data/local/clock.json")
    clock_start: dt.datetime | None = Field(
        default=None, description="a fresh stack's first instant (naive = Europe/Paris)")


CHECKPOINT_KEYS = Path(".data/local/checkpoints")
"""Where the development checkpoint key pair is written at first use."""


class CheckpointSettings(LogSettings, ClockSettings):
    """Signed checkpoints of the log (``services.platform.checkpoints``): the key pair they are
    signed and verified with, where they are recorded, and how often."""

    checkpoint_private_key_file: Path = Field(default=CHECKPOINT_KEYS / "private.pem",
                                              description="PEM private key (Ed25519) that signs")
    checkpoint_public_key_file: Path = Field(default=CHECKPOINT_KEYS / "public.pem",
                                             description="PEM public key checkpoints verify with")
    checkpoint_retired_public_key_files: tuple[Path, ...] = Field(default=(), description=(
        "public keys of earlier key pairs, still trusted for the checkpoints they signed"))
    checkpoint_generate_keys: bool = Field(default=True, description=(
        "write a key pair at first signing when there is none (development; off in production)"))
    checkpoint_topic: str = CHECKPOINTS_TOPIC
    checkpoint_interval_seconds: float = Field(default=300.0, gt=0)
    checkpoint_export_dir: Path | None = Field(default=None, description=(
        "also write each checkpoint the periodic process signs to this folder, for auditors"))


class ApiSettings(BaseSettings):
    """How a service's API holds up under load and reports its health (``/health``)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    max_in_flight: int = Field(default=32, ge=1, description=(
        "reads one API process works on at once; more wait for a slot"))
    max_commands_in_flight: int = Field(default=4, ge=1, description=(
        "commands one API process works on at once; more wait for a slot"))
    admission_wait_ms: int = Field(default=500, ge=0, description=(
        "how long a request waits for a slot before it is answered 503"))
    db_acquire_timeout_ms: int = Field(default=2000, gt=0, description=(
        "how long a request waits for a database connection before it is answered 503"))
    health_check_timeout_ms: int = Field(default=1000, gt=0, description=(
        "the bound of each dependency check of /health"))
    health_cache_seconds: float = Field(default=5.0, ge=0, description=(
        "how long /health reuses its Kafka and consumer-lag findings"))
    health_max_consumer_lag: int = Field(default=1000, ge=0, description=(
        "records a consumer group may have left to process before /health says degraded"))
    health_max_lag_seconds: float = Field(default=60.0, gt=0, description=(
        "age of a group's oldest unprocessed record beyond which /health says degraded"))
    health_max_outbox_seconds: float = Field(default=60.0, gt=0, description=(
        "age of the oldest unpublished event beyond which /health says degraded"))
    health_unavailable_when_degraded: bool = Field(default=False, description=(
        "answer /health 503 when degraded too (by default only when the database is down)"))
    position_wait_ms: int = Field(default=5000, ge=0, description=(
        "how long a query given a position token (?after=) waits for its read model to apply "
        "it before answering 503 (docs/decisions/0015-read-your-writes.md)"))
    position_poll_ms: int = Field(default=20, gt=0, description=(
        "how often a process checks its inbox for the positions its queries wait for"))


class ServiceSettings(LogSettings, AuthSettings, ClockSettings, ApiSettings):
    """What one service's processes (API, relay, worker, tools) need."""

    service: str
    build: str = "dev"
    consumer_commit_interval: float = Field(default=1.0, gt=0)
    consumer_linger_ms: int = Field(default=20, ge=0, le=1000, description=(
        "how long a worker's batch waits for more records once one came (0: take what was "
        "fetched at once); fewer, fuller batches under load (services/platform/batches.py)"))
    consumer_fetch_max_wait_ms: int = Field(default=1500, ge=1, le=10000, description=(
        "how long the broker may hold a worker's fetch for more records "
        "(services/platform/fetching.py)"))
    consumer_fetch_min_bytes: int = Field(default=1, ge=1, le=16_777_216, description=(
        "how many bytes of records make the broker answer a worker's fetch before that"))
    worker_data_dir: Path | None = None
    relay_linger_ms: int = Field(default=10, ge=0, le=1000, description=(
        "how long the relay lets the commits that follow a notification join its batch (0: "
        "none); fewer, fuller batches under load (services/platform/relay.py)"))
    relay_failpoint: str | None = Field(default=None,
                                        description="crash tests only: kill the relay here")

    @property
    def service_database_url(self) -> str:
        """This service's own database."""
        return self.database_url_for(self.service)

    @property
    def consumer_group(self) -> str:
        """The Kafka consumer group of the service's worker: its faust app id
        (``services.platform.agents.worker_app``)."""
        return f"{self.service}-consumers"

    @property
    def data_dir(self) -> Path:
        """Where faust keeps its data folder for this service's worker."""
        return self.worker_data_dir or Path(".data/workers") / self.service


class _OwnDatabase(BaseSettings):
    """One service's database override, read with the service's prefix."""

    model_config = SettingsConfigDict(extra="ignore")
    database_url: str | None = None


def load_settings(service: str) -> ServiceSettings:
    """The settings of a process of ``service``, from the environment."""
    return ServiceSettings(service=service)


def load_log_settings() -> LogSettings:
    """The settings of a tool that reads the whole log, from the environment."""
    return LogSettings()
