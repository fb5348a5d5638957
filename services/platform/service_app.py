"""The FastAPI app every service serves: routers, refusals, admission control, health and
metrics around a runtime.

The runtime (pool, settings, clock, emitter) is opened by the app's lifespan and kept in
``app.state``; routes receive it through the ``RuntimeDep`` dependency, never through closures.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response

from services.platform.admission import AdmissionControl, overloaded
from services.platform.agents import Subscription
from services.platform.auth import Allow, Principal, TokenVerifier
from services.platform.clock import Clock
from services.platform.db import PoolExhaustedError
from services.platform.eventstore import ConcurrencyError
from services.platform.health import HealthMonitor, install_health
from services.platform.http import (
    Refusal,
    Refusals,
    install_problem_handlers,
    install_request_metrics,
    metrics_response,
    problem_responses,
)
from services.platform.idempotency import Idempotency, IdempotencyKeyReusedError, fingerprint
from services.platform.logs import install_redaction
from services.platform.positions import PositionHeader
from services.platform.read_your_writes import (
    Consumers,
    InboxWatch,
    Mark,
    ReadYourWrites,
    applied_in,
    include_routes,
)
from services.platform.runtime import Runtime, service_runtime
from services.platform.settings import ServiceSettings

__all__ = ["Collaborators", "IdempotencyKey", "RuntimeDep", "collaborators_of", "idempotency",
           "service_app"]

Collaborators = Callable[[ServiceSettings], contextlib.AbstractAsyncContextManager[Any]]
"""Opens what a service's routes need besides its runtime (a bank client, a key store), for
the app's lifetime."""

PLATFORM_REFUSALS: Refusals = {
    ConcurrencyError: Refusal(409, "concurrent-modification", "The order changed concurrently"),
    IdempotencyKeyReusedError: Refusal(422, "idempotency-key-reused",
                                       "Idempotency-Key already used"),
}


async def current_runtime(request: Request) -> Runtime:
    """The runtime the app's lifespan opened (a coroutine: FastAPI runs a plain function
    dependency in its thread pool, two thread hand-offs per request for an attribute read)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(current_runtime)]


async def collaborators_of(request: Request) -> Any:
    """What the service's ``Collaborators`` opened with the app."""
    return request.app.state.collaborators
IdempotencyKey = Annotated[str | None, Header(max_length=200, description=(
    "Repeat a request with the same key to get its first answer again, recorded once."))]


def idempotency(endpoint: str, key: str | None, request: object) -> Idempotency | None:
    """The idempotency of a request to ``endpoint`` with ``key`` (None without a key)."""
    return Idempotency(f"{endpoint} {key}", fingerprint(request)) if key else None


def service_app(settings: ServiceSettings, clock: Clock, *, title: str, migrations: Path,
                routers: Sequence[APIRouter], refusals: Refusals,
                collaborators: Collaborators | None = None,
                subscriptions: Sequence[Subscription] = ()) -> FastAPI:
    """The service's app: its routers behind admission control, its domain errors refused as
    problem details, ``/health`` (and ``/live``, ``/ready``: the lag of the service's worker on
    the topics of ``subscriptions`` among its checks) and ``/metrics``; the runtime opens with
    the app and closes with it. Commands answer with the position they recorded and queries
    wait for one (``?after=``: ``services.platform.read_your_writes``, by ``subscriptions``)."""

    install_redaction()
    verifier = TokenVerifier(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.public_key()  # no key, no service: refuse to start rather than admit anyone
        opened = collaborators(settings) if collaborators else contextlib.nullcontext()
        monitor = HealthMonitor(settings, [s.topic for s in subscriptions])
        watch: InboxWatch | None = None
        try:
            async with service_runtime(settings, clock, migrations) as runtime, opened as extra:
                app.state.runtime, app.state.collaborators = runtime, extra
                app.state.health = monitor
                watch = _inbox_watch(runtime.pool, settings)
                app.state.read_your_writes = ReadYourWrites(
                    Consumers.of(settings.service, subscriptions), watch,
                    settings.position_wait_ms / 1000)
                yield
        finally:
            await monitor.close()
            if watch is not None:
                await watch.close()

    app = FastAPI(title=title, version=settings.build, lifespan=lifespan)
    app.state.verifier = verifier
    install_problem_handlers(app, {**PLATFORM_REFUSALS, **refusals})
    app.add_exception_handler(PoolExhaustedError, _pool_exhausted)
    install_request_metrics(app, settings.service)
    app.add_middleware(PositionHeader)  # X-Position on the 2xx answer of what recorded events
    # outermost (added last), so that shedding costs next to nothing: shed requests are counted
    # by http_admissions_total, not http_requests_total
    _install_admission(app, settings)
    install_health(app, settings.service, _monitor,
                   unavailable_when_degraded=settings.health_unavailable_when_degraded)
    app.add_api_route("/metrics", _metrics, methods=["GET"], tags=["operations"],
                      response_class=Response, responses={
                          200: {"description": "Prometheus text exposition format",
                                "content": {"text/plain": {"schema": {"type": "string"}}}},
                          **problem_responses(401, 403)})
    # any of their operations may be shed (admission control, no database connection)
    include_routes(app, routers, problem_responses(503))
    return app


def _inbox_watch(pool: asyncpg.Pool, settings: ServiceSettings) -> InboxWatch:
    async def applied(marks: frozenset[Mark]) -> frozenset[Mark]:
        return await applied_in(pool, marks)

    return InboxWatch(applied, settings.position_poll_ms / 1000)


def _operational_paths(app: FastAPI) -> frozenset[str]:
    """Paths admission control lets through: an orchestrator and an operator must still see an
    overloaded process, and its documentation costs nothing."""
    return frozenset(p for p in ("/health", "/health/live", "/health/ready", "/metrics",
                                 app.openapi_url, app.docs_url, app.redoc_url,
                                 app.swagger_ui_oauth2_redirect_url) if p)


def _install_admission(app: FastAPI, settings: ServiceSettings) -> None:
    app.add_middleware(AdmissionControl, service=settings.service,
                       limit=settings.max_in_flight, wait=settings.admission_wait_ms / 1000,
                       command_limit=settings.max_commands_in_flight,
                       exempt=_operational_paths(app).__contains__)


async def _pool_exhausted(_: Request, error: Exception) -> Response:
    return overloaded(f"{error}. Retry in a moment (a command with the same Idempotency-Key, "
                      "to get its result exactly once).").response()


async def _metrics(caller: Annotated[Principal, Allow("ops", "auditor")]) -> Response:
    """Prometheus metrics of this process (operators and auditors)."""
    del caller
    return metrics_response()


def _monitor(request: Request) -> HealthMonitor | None:
    monitor: HealthMonitor | None = getattr(request.app.state, "health", None)
    return monitor
