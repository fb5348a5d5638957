"""Position tokens: what a command recorded, named so that any service can wait for it.

A command's 2xx response carries ``X-Position``; a query of any service given that token
(``?after=`` or ``X-After-Position``) answers once its read model has applied those events
(``services.platform.read_your_writes``). The token names the service that recorded the events
and, for each order the command touched, the last event of each type (its type, then its id in
32 hex digits)::

    ordersOrderPlaced0196b1f63c4e7a1d9e527d1c0f5b2a10OrderBlocked0196b1f6…

The last event of a type suffices: a consumer applies one order's events in stream order (one
partition, one agent per topic), so once it has applied that event it has applied every earlier
one of the order that it handles. Event types travel with the ids because the reader decides
from the types alone which of its consumers must have applied them (it cannot read the issuing
service's database). The format is a regular language (``TOKEN_PATTERN``), so the OpenAPI
schema says exactly which strings are tokens: a schema-valid token is never refused for its
shape. Letters and digits only, so that it travels in a URL or a header without escaping (and
schemathesis, which sends only those in headers, can send it): the service is lowercase, a type
starts with a capital and has no digit, an id is 32 lowercase hex digits, so each part ends where
the next begins. Clients treat it as opaque.

The write path notes what it appends (``note``) into the request's ``Recorded`` (``recording``,
set by ``PositionHeader``); a transaction that rolls back drops its notes (``tentative``), so a
token only names committed events.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts.envelope import Envelope

__all__ = [
    "MAX_EVENTS",
    "POSITION_HEADER",
    "TOKEN_MAX_LENGTH",
    "TOKEN_PATTERN",
    "InvalidPositionError",
    "Position",
    "PositionHeader",
    "Recorded",
    "current_token",
    "decode",
    "encode",
    "note",
    "recording",
    "replayed",
    "tentative",
]

log = logging.getLogger(__name__)
POSITION_HEADER = "X-Position"
MAX_EVENTS = 32
"""Events one token names at most; a command that records more (an erasure across more orders)
gets no token rather than one that would not fit in a URL."""
_SERVICE = r"[a-z]{1,32}"
_TYPE = r"[A-Z][A-Za-z]{0,63}"
_ID = r"[0-9a-f]{32}"
TOKEN_PATTERN = rf"^{_SERVICE}(?:{_TYPE}{_ID}){{1,{MAX_EVENTS}}}$"
"""Exactly the well-formed tokens (the OpenAPI ``pattern`` of ``after``)."""
TOKEN_MAX_LENGTH = 32 + MAX_EVENTS * (64 + 32)
_TOKEN = re.compile(TOKEN_PATTERN.removeprefix("^").removesuffix("$"))
# one event: the shortest type whose id ends where the next type (a capital) or the token ends
_EVENT = re.compile(rf"([A-Z][A-Za-z]{{0,63}}?)({_ID})(?=[A-Z]|$)")


class InvalidPositionError(ValueError):
    """A string that is not a position token; ``reason`` says why, for problem details."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Position:
    """Events recorded by one service: (type, event id) pairs, in the order recorded."""

    service: str
    events: tuple[tuple[str, uuid.UUID], ...]


def encode(position: Position) -> str:
    """The token of ``position`` (at least one, at most ``MAX_EVENTS`` events)."""
    if not 1 <= len(position.events) <= MAX_EVENTS:
        raise ValueError(f"a token names 1 to {MAX_EVENTS} events, not {len(position.events)}")
    token = position.service + "".join(f"{kind}{event_id.hex}"
                                       for kind, event_id in position.events)
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"not a position: {position!r}")
    return token


def decode(token: str) -> Position:
    """The position a token names; ``InvalidPositionError`` for anything else."""
    if not _TOKEN.fullmatch(token):
        raise InvalidPositionError(
            "not a position token: give the X-Position header of a command's answer, as is")
    service = token[:len(token) - len(token.lstrip("abcdefghijklmnopqrstuvwxyz"))]
    events = _EVENT.finditer(token, len(service))
    return Position(service, tuple((m[1], uuid.UUID(hex=m[2])) for m in events))


class Recorded:
    """What the current request recorded: the last event of each type in each order's stream
    of one service (see the module's docstring for why the last one suffices)."""

    def __init__(self) -> None:
        self.service: str | None = None
        self._last: dict[tuple[str, str], uuid.UUID] = {}

    def add(self, service: str, stream: str, kind: str, event_id: uuid.UUID) -> None:
        """Note one event of ``service`` appended to ``stream`` (an order id)."""
        self.service = service
        self._last.pop((stream, kind), None)  # re-inserted last: the dict keeps recording order
        self._last[(stream, kind)] = event_id

    def token(self) -> str | None:
        """The token of what was recorded, or None (nothing, more than a token names, or a
        name the format cannot carry: the answer goes out without a position, never fails)."""
        if self.service is None or not 1 <= len(self._last) <= MAX_EVENTS:
            return None
        events = tuple((kind, event_id) for (_, kind), event_id in self._last.items())
        try:
            return encode(Position(self.service, events))
        except ValueError:
            log.warning("no position token for %s %s", self.service, [k for k, _ in events])
            return None

    def snapshot(self) -> tuple[str | None, dict[tuple[str, str], uuid.UUID]]:
        """The notes so far, to restore if a transaction rolls back."""
        return self.service, dict(self._last)

    def restore(self, snapshot: tuple[str | None, dict[tuple[str, str], uuid.UUID]]) -> None:
        """Forget what was noted since ``snapshot``."""
        self.service, self._last = snapshot[0], dict(snapshot[1])


_RECORDED: contextvars.ContextVar[Recorded | None] = contextvars.ContextVar(
    "recorded_positions", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Recorded]:
    """Collect what the write path records in this context (one HTTP request)."""
    recorded = Recorded()
    reset = _RECORDED.set(recorded)
    try:
        yield recorded
    finally:
        _RECORDED.reset(reset)


def note(envelopes: Sequence[Envelope]) -> None:
    """Note appended events for the current request's token (nothing outside a request: the
    workers and sweeps record without anyone to answer)."""
    recorded = _RECORDED.get()
    if recorded is None:
        return
    for envelope in envelopes:
        recorded.add(envelope.producer.service, envelope.order_id, envelope.type,
                     envelope.event_id)


@contextlib.contextmanager
def tentative() -> Iterator[None]:
    """Wrap a transaction (commit included): if it raises, what it noted is forgotten."""
    recorded = _RECORDED.get()
    snapshot = recorded.snapshot() if recorded else None
    try:
        yield
    except BaseException:
        if recorded is not None and snapshot is not None:
            recorded.restore(snapshot)
        raise


def current_token() -> str | None:
    """The token of what the current request has recorded so far (None outside a request)."""
    recorded = _RECORDED.get()
    return recorded.token() if recorded else None


def replayed(token: str | None) -> None:
    """An earlier answer is replayed (an idempotent retry): its token is this answer's."""
    recorded = _RECORDED.get()
    if recorded is None or token is None:
        return
    position = decode(token)
    for kind, event_id in position.events:
        recorded.add(position.service, f"replayed {event_id}", kind, event_id)


class PositionHeader:
    """ASGI middleware: a request's 2xx answer carries ``X-Position`` when it recorded events."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        with recording() as recorded:
            async def send_with_position(message: Message) -> None:
                if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                    _add_header(message, recorded.token())
                await send(message)

            await self._app(scope, receive, send_with_position)


def _add_header(message: Message, token: str | None) -> None:
    if token is not None:
        MutableHeaders(scope=message).append(POSITION_HEADER, token)


