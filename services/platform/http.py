"""HTTP conventions shared by the services' FastAPI apps: RFC 9457 problem details, idempotency
keys, health and metrics. Errors never carry stack traces to clients."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)
PROBLEM_TYPE = "https://wineshop.example/problems/"
REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "status"])


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its path (``lines[0].quantity``) and why."""

    field: str
    reason: str


@dataclass
class ProblemError(Exception):
    """An RFC 9457 problem to return to the client; nothing was recorded."""

    status: int
    kind: str
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)

    def response(self) -> JSONResponse:
        """The ``application/problem+json`` response for this problem."""
        body: dict[str, Any] = {"type": PROBLEM_TYPE + self.kind, "title": self.title,
                                "status": self.status, "detail": self.detail or self.title}
        if self.errors:
            body["errors"] = [{"field": e.field, "reason": e.reason} for e in self.errors]
        return JSONResponse(body, status_code=self.status, media_type="application/problem+json")


def field_path(location: tuple[Any, ...]) -> str:
    """``("body", "lines", 0, "sku")`` → ``lines[0].sku``."""
    path = ""
    for part in location[1:] if location and location[0] in {"body", "query", "path",
                                                             "header"} else location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "(body)"


def install_problem_handlers(app: FastAPI) -> None:
    """Turn validation errors, HTTP errors and unexpected errors into problem details."""

    @app.exception_handler(ProblemError)
    async def on_problem(_: Request, error: ProblemError) -> JSONResponse:
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [FieldError(field_path(tuple(e["loc"])), e["msg"]) for e in error.errors()]
        return ProblemError(422, "invalid-request", "The request is invalid",
                            "; ".join(f"{e.field}: {e.reason}" for e in errors), errors).response()

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return ProblemError(error.status_code, "http-error", str(error.detail)).response()

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return ProblemError(500, "internal-error", "Internal error",
                            "The request failed and its outcome is unknown; retry it with the "
                            "same Idempotency-Key to get its result exactly once.").response()


def install_health_and_metrics(app: FastAPI, service: str,
                               ready: Callable[[], Awaitable[bool]]) -> None:
    """``/health`` (200 when ``ready`` answers true, else 503) and Prometheus ``/metrics``."""

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        REQUESTS.labels(service, request.method, str(response.status_code)).inc()
        return response

    @app.get("/health", tags=["operations"])
    async def health() -> JSONResponse:
        ok = await ready()
        return JSONResponse({"service": service, "status": "ok" if ok else "unavailable"},
                            status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def request_hash(body: Any) -> str:
    """Fingerprint of a request body, to tell a retried request from a different one."""
    return hashlib.sha256(json.dumps(jsonable_encoder(body), sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class StoredResponse:
    """The response first given to an idempotency key."""

    status: int
    body: dict[str, Any]


async def stored_response(conn: asyncpg.Connection, key: str,
                          fingerprint: str) -> StoredResponse | None:
    """The response already given to ``key`` (None if new); a different request is refused."""
    row = await conn.fetchrow(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE key = $1", key)
    if row is None:
        return None
    if row["request_hash"] != fingerprint:
        raise ProblemError(422, "idempotency-key-reused", "Idempotency-Key already used",
                           "This Idempotency-Key was used with a different request; "
                           "use a new key for a new request.",
                           [FieldError("Idempotency-Key", "already used for another request")])
    return StoredResponse(row["status"], row["response"])


async def store_response(conn: asyncpg.Connection, key: str, fingerprint: str,
                         response: StoredResponse) -> None:
    """Remember the response given to ``key``, in the command's transaction."""
    await conn.execute(
        "INSERT INTO idempotency_keys (key, request_hash, status, response) "
        "VALUES ($1, $2, $3, $4)", key, fingerprint, response.status, response.body)
