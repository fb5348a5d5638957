"""Health of a service's API, for orchestrators: ``/health``, ``/health/live``, ``/health/ready``.

``/health`` reports each dependency: the database (200 only while it answers: without it the
service cannot serve), Kafka, the lag of the service's consumer group and its outbox backlog.
Kafka unreachable, consumers lagging or an outbox backing up make the service ``degraded`` but
still 200 by default: commands are decided in PostgreSQL and wait in the outbox until the relay
can publish them, so the API keeps serving, and restarting or unrouting it would not help.

Every check is bounded (``HEALTH_CHECK_TIMEOUT_MS``) and runs on clients of its own, opened once
per process, so that a probe costs a few queries and never waits behind the requests it watches;
findings are shared by concurrent callers and reused for a while (Kafka ones for
``HEALTH_CACHE_SECONDS``, the database's for a second), so polling ``/health`` costs little.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.topics import events_topic
from services.platform.lag import first_timestamps, group_positions
from services.platform.settings import ServiceSettings

__all__ = [
    "HealthMonitor",
    "HealthReport",
    "Limits",
    "consumers_status",
    "http_status",
    "install_health",
    "outbox_status",
    "overall_status",
]

log = logging.getLogger(__name__)
Status = Literal["ok", "degraded", "unavailable"]
DATABASE_CACHE_SECONDS = 1.0


class Check(BaseModel):
    """One dependency: ``unavailable`` when it could not be reached or measured, with why."""

    status: Status
    error: str | None = Field(default=None, description="why the check failed")


class LatencyCheck(Check):
    """A dependency that answered, and how fast."""

    latency_ms: float | None = None


class GroupLag(BaseModel):
    """How far a consumer group is behind the topics it reads."""

    lag: int = Field(description="records not yet processed, over every partition")
    oldest_unprocessed_age_s: float | None = Field(
        default=None, description="age of the oldest of them (null when there are none)")


class ConsumersCheck(Check):
    """The service's consumer groups (its worker's agents)."""

    groups: dict[str, GroupLag] = Field(default_factory=dict)


class OutboxCheck(Check):
    """Events recorded but not yet published by the relay."""

    unpublished: int | None = None
    oldest_age_s: float | None = None


class HealthChecks(BaseModel):
    """Every dependency of the service."""

    database: LatencyCheck
    kafka: LatencyCheck
    consumers: ConsumersCheck
    outbox: OutboxCheck


class HealthReport(BaseModel):
    """``ok``; ``degraded`` (serving, a dependency is not well); ``unavailable`` (cannot serve)."""

    service: str
    status: Status
    checks: HealthChecks


class ReadinessChecks(BaseModel):
    """What readiness depends on: the database alone."""

    database: LatencyCheck


class ReadinessReport(BaseModel):
    """Whether the process can serve requests now."""

    service: str
    status: Status
    checks: ReadinessChecks


class LivenessReport(BaseModel):
    """The process answers."""

    service: str
    status: Literal["ok"] = "ok"


@dataclass(frozen=True)
class Limits:
    """Beyond these, a service is degraded."""

    max_consumer_lag: int
    max_lag_seconds: float
    max_outbox_seconds: float


def overall_status(database: Status, others: Iterable[Status]) -> Status:
    """``unavailable`` when the database is; ``degraded`` when it or anything else is not ok."""
    if database == "unavailable":
        return "unavailable"
    return "ok" if database == "ok" and all(s == "ok" for s in others) else "degraded"


def http_status(status: Status, *, unavailable_when_degraded: bool = False) -> int:
    """503 when the service cannot serve (or is degraded, if so configured), else 200."""
    failing = status == "unavailable" or (status == "degraded" and unavailable_when_degraded)
    return 503 if failing else 200


def consumers_status(groups: Mapping[str, GroupLag], limits: Limits) -> Status:
    """``degraded`` when a group has too many records left, or has left one too long."""
    behind = any(g.lag > limits.max_consumer_lag
                 or (g.oldest_unprocessed_age_s or 0.0) > limits.max_lag_seconds
                 for g in groups.values())
    return "degraded" if behind else "ok"


def outbox_status(oldest_age_s: float | None, limits: Limits) -> Status:
    """``degraded`` when an event has waited too long for the relay."""
    return "degraded" if (oldest_age_s or 0.0) > limits.max_outbox_seconds else "ok"


def _reason(error: BaseException, timeout: float) -> str:
    """Why a check failed, for the report: the error's kind, never its text or stack (the text
    of a driver error may name hosts and users; it goes to the log)."""
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout * 1000:.0f} ms"
    return type(error).__name__


T = TypeVar("T")


class _FailureLog:
    """Logs a check's failure when it begins and its recovery, not at every poll."""

    def __init__(self, what: str) -> None:
        self._what, self._failing = what, False

    def failed(self, error: BaseException) -> None:
        if not self._failing:
            log.warning("health: the %s check fails: %r", self._what, error)
        self._failing = True

    def passed(self) -> None:
        if self._failing:
            log.warning("health: the %s check passes again", self._what)
        self._failing = False


class Cached(Generic[T]):
    """The result of ``produce``, reused for ``ttl`` seconds and shared by concurrent callers
    (one call in flight at a time). ``produce`` reports failures in its result; it never raises."""

    def __init__(self, produce: Callable[[], Awaitable[T]], ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._produce, self._ttl, self._clock = produce, ttl, clock
        self._lock = asyncio.Lock()
        self._value: T | None = None
        self._at = 0.0

    async def get(self) -> T:
        """A result at most ``ttl`` seconds old."""
        async with self._lock:
            if self._value is None or self._clock() - self._at >= self._ttl:
                self._value = await self._produce()
                self._at = self._clock()
            return self._value


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


class DatabaseProbe:
    """The service's database as health sees it, on one connection of its own: a pool saturated
    by requests is not an unreachable database."""

    def __init__(self, url: str, timeout: float, limits: Limits) -> None:
        self._url, self._timeout, self._limits = url, timeout, limits
        self._conn: asyncpg.Connection | None = None
        self._ping_log, self._outbox_log = _FailureLog("database"), _FailureLog("outbox")

    async def check(self) -> tuple[LatencyCheck, OutboxCheck]:
        """The database's reachability and latency, then the outbox backlog."""
        try:
            async with asyncio.timeout(self._timeout):
                conn, latency = await self._ping()
        except Exception as error:
            self._ping_log.failed(error)
            await self.close()
            return (LatencyCheck(status="unavailable", error=_reason(error, self._timeout)),
                    OutboxCheck(status="unavailable", error="database unavailable"))
        self._ping_log.passed()
        return LatencyCheck(status="ok", latency_ms=latency), await self._outbox(conn)

    async def _ping(self) -> tuple[asyncpg.Connection, float]:
        reused = self._conn is not None and not self._conn.is_closed()
        try:
            return await self._ping_once()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            if not reused:
                raise
            await self.close()  # the server restarted since: once more on a fresh connection
            return await self._ping_once()

    async def _ping_once(self) -> tuple[asyncpg.Connection, float]:
        start = time.perf_counter()
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._url, timeout=self._timeout)
        await self._conn.fetchval("SELECT 1")
        return self._conn, _ms_since(start)

    async def _outbox(self, conn: asyncpg.Connection) -> OutboxCheck:
        try:
            async with asyncio.timeout(self._timeout):
                row = await conn.fetchrow(
                    "SELECT count(*) AS unpublished, "
                    "extract(epoch FROM now() - min(recorded_at))::float8 AS oldest "
                    "FROM events WHERE published_at IS NULL")
        except Exception as error:
            self._outbox_log.failed(error)
            await self.close()
            return OutboxCheck(status="unavailable", error=_reason(error, self._timeout))
        self._outbox_log.passed()
        oldest = None if row["oldest"] is None else round(row["oldest"], 3)
        return OutboxCheck(status=outbox_status(oldest, self._limits),
                           unpublished=row["unpublished"], oldest_age_s=oldest)

    async def close(self) -> None:
        """Drop the connection (a fresh one is opened by the next check)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()


class KafkaProbe:
    """Kafka and the lag of the service's consumer group, with one admin client and one
    group-less consumer (for end offsets) per process, started on first use."""

    def __init__(self, bootstrap: str, group: str, topic: str, timeout: float,
                 limits: Limits, consumed: Iterable[str] = ()) -> None:
        self._bootstrap, self._group, self._topic = bootstrap, group, topic
        self._consumed = frozenset(consumed)
        self._timeout, self._limits = timeout, limits
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._kafka_log, self._lag_log = _FailureLog("kafka"), _FailureLog("consumer lag")

    async def check(self) -> tuple[LatencyCheck, ConsumersCheck]:
        """Whether the brokers answer for the service's topic, then the group's lag."""
        try:
            async with asyncio.timeout(self._timeout):
                latency = await self._metadata()
        except Exception as error:
            self._kafka_log.failed(error)
            return (LatencyCheck(status="unavailable", error=_reason(error, self._timeout)),
                    ConsumersCheck(status="unavailable", error="kafka unavailable"))
        self._kafka_log.passed()
        return LatencyCheck(status="ok", latency_ms=latency), await self._consumers()

    async def _metadata(self) -> float:
        admin, _ = await self._clients()
        start = time.perf_counter()
        topics = await admin.describe_topics([self._topic])
        if not topics or topics[0]["error_code"]:
            raise LookupError(f"no metadata for {self._topic}")
        return _ms_since(start)

    async def _consumers(self) -> ConsumersCheck:
        try:
            async with asyncio.timeout(self._timeout):
                lag = await self._group_lag()
        except Exception as error:
            self._lag_log.failed(error)
            return ConsumersCheck(status="unavailable", error=_reason(error, self._timeout))
        self._lag_log.passed()
        groups = {self._group: lag}
        return ConsumersCheck(status=consumers_status(groups, self._limits), groups=groups)

    async def _group_lag(self) -> GroupLag:
        admin, consumer = await self._clients()
        behind = [at for at in await group_positions(admin, consumer, self._group, self._consumed)
                  if at.lag]
        return GroupLag(lag=sum(at.lag for at in behind), oldest_unprocessed_age_s=await
                        self._oldest_age({at.tp: at.position for at in behind}))

    async def _oldest_age(self, positions: Mapping[TopicPartition, int]) -> float | None:
        """Age of the oldest record at the given positions (those fetched in time)."""
        _, consumer = await self._clients()
        # half the check's budget: what is not fetched by then is left out, not the lag
        stamps = [stamp for stamp in (await first_timestamps(
            consumer, positions, self._timeout / 2)).values() if stamp >= 0]
        return round(time.time() - min(stamps) / 1000, 3) if stamps else None

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._consumer is None:
            await self._start()
        assert self._admin is not None and self._consumer is not None
        return self._admin, self._consumer

    async def _start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None,
                                    enable_auto_commit=False, max_partition_fetch_bytes=65536)
        try:
            await admin.start()
            await consumer.start()
        except BaseException:  # a half-started client may never recover: fresh ones next time
            await _quietly(admin.close(), consumer.stop())
            raise
        self._admin, self._consumer = admin, consumer

    async def close(self) -> None:
        """Close the clients."""
        admin, consumer, self._admin, self._consumer = self._admin, self._consumer, None, None
        if admin is not None and consumer is not None:
            await _quietly(admin.close(), consumer.stop())


async def _quietly(*closing: Awaitable[Any]) -> None:
    for result in await asyncio.gather(*closing, return_exceptions=True):
        if isinstance(result, Exception):
            log.debug("health: closing a client failed: %r", result)


class HealthMonitor:
    """A service process's dependency checks, composed into reports; ``consumed``: the topics
    the service's worker reads (its group's committed topics are added to them)."""

    def __init__(self, settings: ServiceSettings, consumed: Iterable[str] = ()) -> None:
        timeout = settings.health_check_timeout_ms / 1000
        limits = Limits(settings.health_max_consumer_lag, settings.health_max_lag_seconds,
                        settings.health_max_outbox_seconds)
        self.service = settings.service
        self._database = DatabaseProbe(settings.service_database_url, timeout, limits)
        self._kafka = KafkaProbe(settings.kafka_bootstrap, settings.consumer_group,
                                 events_topic(settings.service), timeout, limits, consumed)
        self._database_checks = Cached(self._database.check, DATABASE_CACHE_SECONDS)
        self._kafka_checks = Cached(self._kafka.check, settings.health_cache_seconds)

    async def report(self) -> HealthReport:
        """Every check, and the service's status from them."""
        (database, outbox), (kafka, consumers) = await asyncio.gather(
            self._database_checks.get(), self._kafka_checks.get())
        checks = HealthChecks(database=database, kafka=kafka, consumers=consumers, outbox=outbox)
        status = overall_status(database.status,
                                (kafka.status, consumers.status, outbox.status))
        return HealthReport(service=self.service, status=status, checks=checks)

    async def readiness(self) -> ReadinessReport:
        """Whether the database answers: all a request needs to be served."""
        database, _ = await self._database_checks.get()
        return ReadinessReport(service=self.service, status=overall_status(database.status, ()),
                               checks=ReadinessChecks(database=database))

    async def close(self) -> None:
        """Close the probes' connections and clients."""
        await asyncio.gather(self._database.close(), self._kafka.close())


Monitor = Callable[[Request], HealthMonitor | None]


def install_health(app: FastAPI, service: str, monitor: Monitor, *,
                   unavailable_when_degraded: bool = False) -> None:
    """``/health`` (every dependency), ``/health/live`` (the process answers) and
    ``/health/ready`` (the database answers), open to all, for orchestrators."""

    @app.get("/health", tags=["operations"], response_model=HealthReport, responses={
        200: {"description": "the service can serve: `ok`, or `degraded` when Kafka, the "
                             "consumers or the outbox are not well"},
        503: {"model": HealthReport, "description": "the database does not answer: the "
                                                    "service cannot serve"}})
    async def health(request: Request) -> JSONResponse:
        """The service's dependencies, each with its status."""
        found = monitor(request)
        report = await found.report() if found else _health_not_started(service)
        status = http_status(report.status, unavailable_when_degraded=unavailable_when_degraded)
        return JSONResponse(report.model_dump(mode="json"), status_code=status)

    @app.get("/health/live", tags=["operations"], response_model=LivenessReport)
    async def live() -> LivenessReport:
        """Liveness: the process answers (no dependency is checked; restarting the process
        would not bring back a database)."""
        return LivenessReport(service=service)

    @app.get("/health/ready", tags=["operations"], response_model=ReadinessReport, responses={
        503: {"model": ReadinessReport, "description": "the database does not answer"}})
    async def ready(request: Request) -> JSONResponse:
        """Readiness: the database answers, so requests can be served."""
        found = monitor(request)
        report = await found.readiness() if found else _ready_not_started(service)
        return JSONResponse(report.model_dump(mode="json"),
                            status_code=http_status(report.status))


_NOT_STARTED = LatencyCheck(status="unavailable", error="not started")


def _health_not_started(service: str) -> HealthReport:
    return HealthReport(service=service, status="unavailable", checks=HealthChecks(
        database=_NOT_STARTED, kafka=_NOT_STARTED,
        consumers=ConsumersCheck(status="unavailable", error="not started"),
        outbox=OutboxCheck(status="unavailable", error="not started")))


def _ready_not_started(service: str) -> ReadinessReport:
    return ReadinessReport(service=service, status="unavailable",
                           checks=ReadinessChecks(database=_NOT_STARTED))
