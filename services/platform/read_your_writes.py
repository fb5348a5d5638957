"""Read your writes: a query given a position token answers once its read model has applied it.

A command's answer names what it recorded (``X-Position``, ``services.platform.positions``). Any
query of any service accepts that token (``?after=``, or the ``X-After-Position`` header) and
waits, ``POSITION_WAIT_MS`` at most, until this service has applied every event of the token that
it applies at all:

* its own events (the token's service is this one): they are projected in the transaction that
  records them (``services.platform.write_path``), so the row in ``events`` is the proof;
* another service's events, or its own topic read back: each consumer (``Subscription``) of that
  topic whose handlers take the event's type has it in its inbox (``processed_events``), written
  in the transaction that applies it.

An event type no consumer of this service handles has nothing to wait for. Past the bound the
query is answered 503 ``position-not-reached`` with ``Retry-After``: the service cannot tell an
event still on its way from one that will never come (docs/decisions/0015-read-your-writes.md).

One poller per process looks for what every waiting query still misses, in one query per
``POSITION_POLL_MS``, so waiting readers cost the database next to nothing.
"""

# no ``from __future__ import annotations``: FastAPI must see the route-bound ``Allow`` of the
# dependency's signature as an object, not as a name it cannot resolve
import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from starlette.routing import BaseRoute

from contracts.topics import events_topic
from services.platform.agents import Subscription
from services.platform.auth import Allow, Principal
from services.platform.http import FieldError, ProblemError
from services.platform.positions import (
    POSITION_HEADER,
    TOKEN_MAX_LENGTH,
    TOKEN_PATTERN,
    InvalidPositionError,
    Position,
    decode,
)

__all__ = [
    "AFTER_HEADER",
    "Consumers",
    "InboxWatch",
    "Mark",
    "ReadYourWrites",
    "applied_in",
    "include_routes",
    "position_not_reached",
]

log = logging.getLogger(__name__)
AFTER_HEADER = "X-After-Position"
RETRY_AFTER_SECONDS = 1
Mark = tuple[str | None, uuid.UUID]
"""An event applied by a consumer (its name), or recorded by this service itself (None)."""


@dataclass(frozen=True)
class Consumers:
    """A service and, for each topic it consumes, its consumers and the event types each applies."""

    service: str
    by_topic: Mapping[str, tuple[tuple[str, frozenset[str]], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, service: str, subscriptions: Iterable[Subscription]) -> "Consumers":
        """The consumers of ``service``'s worker, as its subscriptions declare them."""
        by_topic: dict[str, list[tuple[str, frozenset[str]]]] = {}
        for subscription in subscriptions:
            by_topic.setdefault(subscription.topic, []).append(
                (subscription.consumer(service), frozenset(subscription.handlers)))
        return cls(service, {topic: tuple(found) for topic, found in by_topic.items()})

    def needs(self, position: Position) -> frozenset[Mark]:
        """What must be applied here before a query may answer after ``position``."""
        marks: set[Mark] = set()
        if position.service == self.service:
            marks.update((None, event_id) for _, event_id in position.events)
        for consumer, types in self.by_topic.get(_topic_of(position.service) or "", ()):
            marks.update((consumer, event_id) for kind, event_id in position.events
                         if kind in types)
        return frozenset(marks)


def _topic_of(service: str) -> str | None:
    try:
        return events_topic(service)
    except ValueError:  # no such service: none of its events can be consumed here
        return None


_APPLIED = """
SELECT NULL::text AS consumer, event_id FROM events WHERE event_id = ANY($1::uuid[])
UNION ALL
SELECT consumer, event_id FROM processed_events
  JOIN unnest($2::text[], $3::uuid[]) AS wanted (consumer, event_id) USING (consumer, event_id)
"""


async def applied_in(pool: asyncpg.Pool, marks: frozenset[Mark]) -> frozenset[Mark]:
    """Which of ``marks`` are applied: recorded in ``events``, or in the consumer's inbox."""
    own = [event_id for consumer, event_id in marks if consumer is None]
    inbox = [(consumer, event_id) for consumer, event_id in marks if consumer is not None]
    rows = await pool.fetch(_APPLIED, own, [c for c, _ in inbox], [e for _, e in inbox])
    return frozenset((row["consumer"], row["event_id"]) for row in rows)


Applied = Callable[[frozenset[Mark]], Awaitable[frozenset[Mark]]]


@dataclass(eq=False)
class _Waiter:
    missing: set[Mark]
    done: asyncio.Event = field(default_factory=asyncio.Event)


class InboxWatch:
    """Waits for marks to be applied, for every query of the process with one poll per
    ``interval`` seconds (``applied`` says which of a set of marks are applied)."""

    def __init__(self, applied: Applied, interval: float) -> None:
        self._applied, self._interval = applied, interval
        self._waiters: set[_Waiter] = set()
        self._task: asyncio.Task[None] | None = None

    async def reached(self, marks: frozenset[Mark], timeout: float) -> bool:
        """True once every mark is applied; False if ``timeout`` seconds pass first."""
        # looked at once at once: an own event is always there, a consumer often already is
        missing = set(marks - await self._applied(marks))
        if not missing:
            return True
        waiter = _Waiter(missing)
        self._waiters.add(waiter)
        self._start()
        try:
            async with asyncio.timeout(timeout):
                await waiter.done.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters.discard(waiter)

    async def close(self) -> None:
        """Stop polling (the app is shutting down)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="inbox-watch")

    async def _poll(self) -> None:
        while self._waiters:  # ends with the last waiter; the next one starts it again
            await asyncio.sleep(self._interval)
            await self._poll_once()

    async def _poll_once(self) -> None:
        wanted = frozenset(mark for waiter in self._waiters for mark in waiter.missing)
        if not wanted:
            return
        try:
            found = await self._applied(wanted)
        except (OSError, TimeoutError, asyncpg.PostgresError) as error:
            # the waiters time out if this persists; the poller must not die of it
            log.warning("read-your-writes: could not look at the inbox (%s)", error)
            return
        for waiter in list(self._waiters):
            waiter.missing -= found
            if not waiter.missing:
                waiter.done.set()


class ReadYourWrites:
    """What a service's queries wait for, and how long at most."""

    def __init__(self, consumers: Consumers, watch: InboxWatch, wait_seconds: float) -> None:
        self.consumers, self.watch, self.wait_seconds = consumers, watch, wait_seconds

    async def wait(self, positions: Sequence[Position]) -> None:
        """Return once this service has applied ``positions``; else raise the 503 problem."""
        marks = frozenset(mark for position in positions
                          for mark in self.consumers.needs(position))
        if marks and not await self.watch.reached(marks, self.wait_seconds):
            raise position_not_reached(self.consumers.service, self.wait_seconds)


def position_not_reached(service: str, waited: float) -> ProblemError:
    """The answer of a query whose position was not applied within the bound."""
    return ProblemError(
        503, "position-not-reached", "The read model has not reached the position yet",
        f"{service} has not applied the events of the position within {waited:g} s; retry "
        f"after Retry-After seconds with the same token (nothing is wrong with the request)",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


# --- the routes: queries wait, commands say what they recorded ---------------------------------

_DESCRIPTION = (
    f"A position token: the `{POSITION_HEADER}` header of a command's answer, from any service, "
    "as is. The query answers once this service's read model has applied the events it names "
    "(at once when it applies none of them), waiting `POSITION_WAIT_MS` (5 s) at most, else "
    f"503 `position-not-reached`. Also accepted as the `{AFTER_HEADER}` header (both: both are "
    "waited for). A string that is not a token: 422; so is a query parameter the query does "
    "not take (a misspelled `after` must not silently skip the wait).")


def _token_schema(schema: dict[str, Any]) -> None:
    """The parameter's schema is exactly the tokens (not ``anyOf`` with null)."""
    schema.clear()
    schema.update({"type": "string", "pattern": TOKEN_PATTERN, "maxLength": TOKEN_MAX_LENGTH})


def _valid_token(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        decode(value)
    except InvalidPositionError as error:
        raise PydanticCustomError("position_token", error.reason) from None
    return value


Token = Annotated[str | None, AfterValidator(_valid_token)]
_QUERY_ANSWERS = {
    "description": "overloaded (too many requests in flight, or no database connection in "
                   "time), or `position-not-reached`: the position given in `after` was not "
                   "applied within `POSITION_WAIT_MS`. Retry after the seconds of Retry-After.",
}
_POSITION_DOC = {"headers": {POSITION_HEADER: {
    "description": "what the command recorded, as a position token: pass it as `after` to a "
                   "query of any service to read this write (absent when nothing was recorded)",
    "required": False, "schema": {"type": "string", "pattern": TOKEN_PATTERN}}}}


def _waiting_for_positions(allow: Allow, known: frozenset[str]) -> Callable[..., Awaitable[None]]:
    """The dependency of a query admitting ``allow``'s roles: the caller is authenticated and
    admitted first (the same dependency as the route's, resolved once); a query parameter not in
    ``known`` is refused; then it waits."""

    async def wait_for_positions(
            request: Request, caller: Annotated[Principal, allow],
            after: Annotated[Token, Query(description=_DESCRIPTION,
                                          json_schema_extra=_token_schema)] = None,
            after_header: Annotated[Token, Header(alias=AFTER_HEADER, description=_DESCRIPTION,
                                                  json_schema_extra=_token_schema)] = None,
    ) -> None:
        del caller
        _refuse_unknown_parameters(request, known)
        given = [decode(token) for token in (after, after_header) if token]
        if given:
            read_your_writes: ReadYourWrites = request.app.state.read_your_writes
            await read_your_writes.wait(given)

    return wait_for_positions


def _refuse_unknown_parameters(request: Request, known: frozenset[str]) -> None:
    """A query parameter the route does not take is refused, as an unknown body field is: a
    misspelled ``after`` must not silently skip the wait."""
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        errors = [FieldError(name, "not a parameter of this query") for name in unknown]
        raise ProblemError(422, "invalid-request", "The request is invalid",
                           "; ".join(f"{e.field}: {e.reason}" for e in errors), errors)


def include_routes(app: FastAPI, routers: Sequence[APIRouter],
                   responses: dict[int | str, dict[str, Any]]) -> None:
    """Include the routers' routes in order, each with ``responses``; a query (a GET whose
    caller is authenticated) also takes ``after``, a command documents ``X-Position``."""
    for router in routers:
        for route in router.routes:
            single = APIRouter()
            single.routes.append(route)
            app.include_router(single, **_extras(route, responses))


def _extras(route: BaseRoute, responses: dict[int | str, dict[str, Any]]) -> dict[str, Any]:
    if not isinstance(route, APIRoute):
        return {"responses": responses}
    allow = _allow_of(route)
    if "GET" in (route.methods or ()) and allow is not None:
        known = _query_parameters(route.dependant) | {"after"}
        return {"responses": {**responses, 503: {**responses.get(503, {}), **_QUERY_ANSWERS}},
                "dependencies": [Depends(_waiting_for_positions(allow, known))]}
    if set(route.methods or ()) - {"GET", "HEAD", "OPTIONS"}:
        return {"responses": {**responses, route.status_code or 200: _POSITION_DOC}}
    return {"responses": responses}


def _query_parameters(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route takes, its dependencies' included (their names on the wire)."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_parameters(sub)
    return frozenset(names)


def _allow_of(route: APIRoute) -> Allow | None:
    """The roles a route admits (its caller parameter), or None for an open route."""
    found = (getattr(d.call, "__self__", None) for d in route.dependant.dependencies)
    return next((allow for allow in found if isinstance(allow, Allow)), None)
