"""HTTP conventions shared by the services' FastAPI apps: RFC 9457 problem details, refusals of
domain errors and metrics (health: ``services.platform.health``). Errors never carry stack
traces to clients."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    GetJsonSchemaHandler,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "NO_CONTROL_CHARACTERS",
    "PROBLEM_TYPE",
    "REQUESTS",
    "Body",
    "Day",
    "FieldError",
    "Instant",
    "Problem",
    "ProblemError",
    "Refusal",
    "field_path",
    "install_problem_handlers",
    "install_request_metrics",
    "metrics_response",
    "problem_responses",
]

log = logging.getLogger(__name__)
PROBLEM_TYPE = "https://wineshop.example/problems/"
REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "status"])


@dataclass(frozen=True)
class FieldError:
    """One invalid field: its path (``lines[0].quantity``) and why."""

    field: str
    reason: str


def _text_only(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 string")
    return value


Day = Annotated[dt.date, BeforeValidator(_text_only)]
"""A calendar date in a request body: an ISO-8601 string only (not a number of seconds, which
the schema's ``format: date`` does not allow)."""
Instant = Annotated[AwareDatetime, BeforeValidator(_text_only)]
"""An instant with its UTC offset, as an ISO-8601 string only."""

NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _printable_in_schema(schema: dict[str, Any]) -> None:
    """Say in the OpenAPI schema what ``Body`` refuses: control characters in any text."""
    for prop in schema.get("properties", {}).values():
        for variant in (prop, *prop.get("anyOf", ())):
            if variant.get("type") == "string" and not {"pattern", "enum", "const"} & set(variant):
                variant["pattern"] = NO_CONTROL_CHARACTERS


class Body(BaseModel):
    """Base of request bodies: unknown fields are refused (a typo is an error, not a silent
    no-op), and so are control characters in text (PostgreSQL cannot store NUL; none belongs in
    a command) — and the schema says both, so a schema-valid body is never refused for its
    shape."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_printable_in_schema)
    ANY_OF: ClassVar[list[dict[str, Any]]] = []
    """Shapes one of which the body must also have (JSON Schema ``anyOf``), when a field is
    required only with another's value (its validator refuses the others): said in the
    schema, so that a schema-valid body is never refused for its shape."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        if cls.ANY_OF:
            handler.resolve_ref_schema(schema)["anyOf"] = cls.ANY_OF
        return schema

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: object) -> object:
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value


@dataclass
class ProblemError(Exception):
    """An RFC 9457 problem to return to the client; nothing was recorded."""

    status: int
    kind: str
    title: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> JSONResponse:
        """The ``application/problem+json`` response for this problem."""
        body: dict[str, Any] = {"type": PROBLEM_TYPE + self.kind, "title": self.title,
                                "status": self.status, "detail": self.detail or self.title}
        if self.errors:
            body["errors"] = [{"field": e.field, "reason": e.reason} for e in self.errors]
        return JSONResponse(body, status_code=self.status, media_type="application/problem+json",
                            headers=self.headers or None)


def field_path(location: tuple[Any, ...]) -> str:
    """``("body", "lines", 0, "sku")`` → ``lines[0].sku``."""
    path = ""
    for part in location[1:] if location and location[0] in {"body", "query", "path",
                                                             "header"} else location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path or "(body)"


@dataclass(frozen=True)
class Refusal:
    """How a domain error is answered: status, problem type and title. The error's message is
    the detail; an error with ``field`` and ``reason`` attributes names them in ``errors``."""

    status: int
    kind: str
    title: str

    def problem(self, error: Exception) -> ProblemError:
        """The problem answering ``error``."""
        field_name, reason = getattr(error, "field", None), getattr(error, "reason", None)
        errors = [FieldError(field_name, reason)] if field_name and reason else []
        return ProblemError(self.status, self.kind, self.title, str(error), errors)


Refusals = Mapping[type[Exception], Refusal]


def _methods_of(request: Request) -> list[str]:
    path = request.url.path
    return sorted({method for route in request.app.routes
                   if isinstance(route, Route) and route.path_regex.fullmatch(path)
                   for method in route.methods or ()})


def install_problem_handlers(app: FastAPI, refusals: Refusals | None = None) -> None:
    """Turn domain errors (by ``refusals``), validation errors, HTTP errors and unexpected errors
    into problem details."""
    for error_type, refusal in (refusals or {}).items():
        app.add_exception_handler(error_type, _refuse_with(refusal))

    @app.exception_handler(ProblemError)
    async def on_problem(_: Request, error: ProblemError) -> JSONResponse:
        return error.response()

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [FieldError(field_path(tuple(e["loc"])), e["msg"]) for e in error.errors()]
        return ProblemError(422, "invalid-request", "The request is invalid",
                            "; ".join(f"{e.field}: {e.reason}" for e in errors), errors).response()

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers or {})
        if error.status_code == 405:  # every method of the path, across its routes (RFC 9110)
            headers["Allow"] = ", ".join(_methods_of(request))
        return ProblemError(error.status_code, "http-error", str(error.detail),
                            headers=headers).response()

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return ProblemError(500, "internal-error", "Internal error",
                            "The request failed and its outcome is unknown; retry it with the "
                            "same Idempotency-Key to get its result exactly once.").response()


def _refuse_with(refusal: Refusal) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def refuse(_: Request, error: Exception) -> JSONResponse:
        return refusal.problem(error).response()
    return refuse


def install_request_metrics(app: FastAPI, service: str) -> None:
    """Count every answered request by method and status (``http_requests_total``)."""
    app.add_middleware(_CountRequests, service=service)


class _CountRequests:
    """Plain ASGI, reading the status as the answer starts: ``@app.middleware("http")``
    (Starlette's ``BaseHTTPMiddleware``) ran every request through a task group and a streamed
    copy of its response, a tenth of a command's CPU (make bench, py-spy)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                REQUESTS.labels(self.service, scope["method"], str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counted)


def metrics_response() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class Problem(BaseModel):
    """RFC 9457 problem details, as every error is answered."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


_MEANINGS = {400: "a body that cannot be parsed, or a message that cannot be attributed; "
                  "nothing was recorded",
             401: "no valid bearer token", 403: "the token's role is not admitted here",
             404: "not found (or not yours)", 409: "conflicts with the order's current state",
             422: "invalid or refused request; nothing was recorded",
             503: "overloaded (too many requests in flight, or no database connection in "
                  "time): retry after the seconds of Retry-After, with the same "
                  "Idempotency-Key for a command"}
_HEADERS = {503: {"Retry-After": {"description": "seconds to wait before retrying",
                                  "required": True, "schema": {"type": "integer"}}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problem details a route may answer."""
    return {status: {"description": _MEANINGS[status], "model": Problem,
                     "content": {"application/problem+json": {}},
                     **({"headers": _HEADERS[status]} if status in _HEADERS else {})}
            for status in statuses}
