"""Position tokens (read your writes): their format, what a request's token names, and how a
query waits for one."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.registry import EVENT_TYPES
from contracts.topics import SERVICES
from services.platform import positions
from services.platform.agents import Subscription
from services.platform.auth import Allow, Principal, generate_keys, mint
from services.platform.clock import SystemClock
from services.platform.positions import (
    MAX_EVENTS,
    TOKEN_MAX_LENGTH,
    TOKEN_PATTERN,
    InvalidPositionError,
    Position,
    Recorded,
    decode,
    encode,
)
from services.platform.read_your_writes import Consumers, InboxWatch, Mark, ReadYourWrites
from services.platform.service_app import service_app
from services.platform.settings import ServiceSettings

PLACED, BLOCKED = uuid.uuid4(), uuid.uuid4()


# --- the token --------------------------------------------------------------------------------

def test_a_token_reads_back_as_the_position_it_names() -> None:
    position = Position("orders", (("OrderPlaced", PLACED), ("OrderBlocked", BLOCKED)))
    token = encode(position)
    assert token == f"ordersOrderPlaced{PLACED.hex}OrderBlocked{BLOCKED.hex}"
    assert decode(token) == position
    assert re.fullmatch(TOKEN_PATTERN, token)


def test_the_longest_token_fits_its_documented_bound() -> None:
    longest = Position("s" * 32, tuple(("T" * 64, uuid.uuid4()) for _ in range(MAX_EVENTS)))
    assert len(encode(longest)) == TOKEN_MAX_LENGTH


def test_an_id_whose_first_digits_are_letters_stays_apart_from_its_type() -> None:
    """A type ends in lowercase letters and an id may begin with a–f: the id is the 32 hex
    digits before the next type's capital (or the end)."""
    fade = uuid.UUID(hex="fade" + "0" * 28)
    position = Position("orders", (("Fade", fade), ("Cafe", uuid.UUID(hex="cafe" + "1" * 28))))
    assert decode(encode(position)) == position


def test_every_service_and_event_type_of_the_contracts_fits_in_a_token() -> None:
    for service in SERVICES:
        for kind in EVENT_TYPES:
            assert decode(encode(Position(service, ((kind, PLACED),)))).events[0][0] == kind


@pytest.mark.parametrize("events", [(), tuple(("OrderPlaced", uuid.uuid4())
                                              for _ in range(MAX_EVENTS + 1))])
def test_a_token_names_one_to_max_events(events: tuple[tuple[str, uuid.UUID], ...]) -> None:
    with pytest.raises(ValueError, match="1 to"):
        encode(Position("orders", events))


@pytest.mark.parametrize("token", [
    "",
    "0",
    "orders",
    "ordersOrderPlaced",
    f"orders.OrderPlaced.{PLACED}",  # with separators
    f"ordersOrderPlaced{PLACED}",  # the id with dashes
    f"ordersOrderPlaced{PLACED.hex.upper()}",
    "ordersOrderPlacex" + "0" * 31,  # an id one digit short
    f"orders1OrderPlaced{PLACED.hex}",
    f"OrdersOrderPlaced{PLACED.hex}",
    f"ordersOrder2Placed{PLACED.hex}",
    f"ordersOrderPlaced{PLACED.hex}\n",
    f"ordersOrderPlaced{PLACED.hex}OrderBlocked",
    f" ordersOrderPlaced{PLACED.hex}",
    "b3JkZXJzLk9yZGVyUGxhY2Vk",  # base64 of something: not a token
    "orders" + f"OrderPlaced{PLACED.hex}" * (MAX_EVENTS + 1),
])
def test_anything_else_is_refused_with_a_reason(token: str) -> None:
    with pytest.raises(InvalidPositionError) as refused:
        decode(token)
    assert "X-Position" in refused.value.reason


@settings(max_examples=10, deadline=None)  # long strings: some 100 ms an example
@given(st.from_regex(TOKEN_PATTERN, fullmatch=True))
def test_every_string_the_schema_admits_is_a_token(token: str) -> None:
    """The OpenAPI pattern is exact: a schema-valid ``after`` is never refused for its shape."""
    position = decode(token)
    assert encode(position) == token


# --- what a request's token names ----------------------------------------------------------

def _envelope(order_id: str, kind: str, service: str = "orders") -> Any:
    class Producer:
        pass

    class Envelope:
        pass

    envelope, producer = Envelope(), Producer()
    producer.service = service  # type: ignore[attr-defined]
    envelope.producer, envelope.order_id = producer, order_id  # type: ignore[attr-defined]
    envelope.type, envelope.event_id = kind, uuid.uuid4()  # type: ignore[attr-defined]
    return envelope


def test_the_token_names_the_last_event_of_each_type_of_each_order() -> None:
    first, second, other = (_envelope("o-1", "LineCancelled"), _envelope("o-1", "LineCancelled"),
                            _envelope("o-2", "LineCancelled"))
    placed = _envelope("o-1", "OrderPlaced")
    with positions.recording() as recorded:
        positions.note([placed, first, second])
        positions.note([other])
    assert decode(recorded.token() or "") == Position("orders", (
        ("OrderPlaced", placed.event_id), ("LineCancelled", second.event_id),
        ("LineCancelled", other.event_id)))


def test_nothing_recorded_or_more_than_a_token_holds_gives_no_token() -> None:
    assert Recorded().token() is None
    with positions.recording() as recorded:
        positions.note([_envelope(f"o-{n}", "BuyerDataErased") for n in range(MAX_EVENTS + 1)])
    assert recorded.token() is None


def test_a_type_the_format_cannot_carry_gives_no_token_rather_than_a_failure() -> None:
    with positions.recording() as recorded:
        positions.note([_envelope("o-1", "Order2Placed")])
    assert recorded.token() is None


def test_outside_a_request_nothing_is_noted() -> None:
    positions.note([_envelope("o-1", "OrderPlaced")])  # a worker: nobody to answer
    assert positions.current_token() is None


def test_a_rolled_back_transaction_leaves_nothing_in_the_token() -> None:
    kept = _envelope("o-1", "OrderPlaced")
    with positions.recording() as recorded:
        positions.note([kept])
        with pytest.raises(RuntimeError), positions.tentative():
            positions.note([_envelope("o-1", "OrderBlocked")])
            raise RuntimeError("rolled back")
    assert decode(recorded.token() or "").events == (("OrderPlaced", kept.event_id),)


def test_a_replayed_answer_carries_the_first_answers_token() -> None:
    first = encode(Position("orders", (("OrderPlaced", PLACED),)))
    with positions.recording() as recorded:
        positions.replayed(first)
    assert recorded.token() == first


# --- what a service waits for ------------------------------------------------------------------

async def _ignore(*_: object) -> None:
    return None


FULFILMENT = Consumers.of("fulfilment", [
    Subscription("reserve-stock", "orders.events", {"OrderPlaced": _ignore,
                                                     "OrderBlocked": _ignore}),
    Subscription("own", "fulfilment.events", {"StockReserved": _ignore})])


def test_a_service_waits_for_its_consumers_of_the_types_they_apply() -> None:
    position = Position("orders", (("OrderPlaced", PLACED), ("ConfirmationSent", BLOCKED)))
    assert FULFILMENT.needs(position) == {("fulfilment.reserve-stock", PLACED)}


def test_its_own_events_are_read_in_its_events_and_in_its_own_topics_consumers() -> None:
    reserved, shipped = uuid.uuid4(), uuid.uuid4()
    position = Position("fulfilment", (("StockReserved", reserved), ("Shipped", shipped)))
    assert FULFILMENT.needs(position) == {(None, reserved), (None, shipped),
                                          ("fulfilment.own", reserved)}


@pytest.mark.parametrize("position", [Position("orders", (("OrderShipped", PLACED),)),
                                      Position("nosuchservice", (("OrderPlaced", PLACED),))])
def test_what_no_consumer_applies_has_nothing_to_wait_for(position: Position) -> None:
    assert FULFILMENT.needs(position) == frozenset()


class FakeInbox:
    """``applied`` over a set of marks the test makes applied; counts the looks."""

    def __init__(self) -> None:
        self.applied: set[Mark] = set()
        self.looks = 0
        self.failing = False

    async def __call__(self, marks: frozenset[Mark]) -> frozenset[Mark]:
        self.looks += 1
        if self.failing:
            raise OSError("connection lost")
        return marks & self.applied


MARK_A: Mark = ("fulfilment.reserve-stock", PLACED)
MARK_B: Mark = ("fulfilment.reserve-stock", BLOCKED)


async def _later(delay: float, action: Callable[[], object]) -> None:
    await asyncio.sleep(delay)
    action()


async def test_what_is_applied_already_is_answered_after_one_look() -> None:
    inbox = FakeInbox()
    inbox.applied.add(MARK_A)
    watch = InboxWatch(inbox, interval=0.01)
    assert await watch.reached(frozenset({MARK_A}), timeout=1)
    assert inbox.looks == 1


async def test_waiting_queries_share_one_look_per_interval() -> None:
    inbox = FakeInbox()
    watch = InboxWatch(inbox, interval=0.02)
    waiting = [asyncio.create_task(watch.reached(frozenset({mark}), timeout=2))
               for mark in (MARK_A, MARK_B) for _ in range(10)]
    await _later(0.2, lambda: inbox.applied.update({MARK_A, MARK_B}))
    assert all(await asyncio.gather(*waiting))
    assert inbox.looks <= 20 + 0.3 / 0.02  # one each at first, then one per interval for all
    await watch.close()


async def test_a_position_not_applied_in_time_is_not_reached() -> None:
    inbox = FakeInbox()
    watch = InboxWatch(inbox, interval=0.01)
    started = asyncio.get_running_loop().time()
    assert not await watch.reached(frozenset({MARK_A}), timeout=0.1)
    assert 0.1 <= asyncio.get_running_loop().time() - started < 0.5
    await watch.close()


async def test_the_watch_outlives_a_failing_inbox() -> None:
    inbox = FakeInbox()
    watch = InboxWatch(inbox, interval=0.01)
    waiting = asyncio.create_task(watch.reached(frozenset({MARK_A}), timeout=2))
    await _later(0.02, lambda: setattr(inbox, "failing", True))
    await _later(0.05, lambda: inbox.applied.add(MARK_A))
    inbox.failing = False
    assert await waiting
    await watch.close()


# --- through the app every service serves ------------------------------------------------

class Waits:
    """A ``ReadYourWrites`` whose inbox the test controls."""

    def __init__(self) -> None:
        self.inbox = FakeInbox()
        self.read_your_writes = ReadYourWrites(FULFILMENT, InboxWatch(self.inbox, 0.01), 0.3)


def _app(tmp_path: Path, waits: Waits, record: Callable[[], Awaitable[None]]) -> FastAPI:
    router = APIRouter()

    @router.get("/reservations/{order_id}")
    async def get_reservation(order_id: str, caller: Annotated[Principal, Allow("ops")],
                              sku: str | None = None) -> dict[str, str]:
        return {"order_id": order_id}

    @router.post("/reservations", status_code=201)
    async def post_reservation(caller: Annotated[Principal, Allow("ops")]) -> dict[str, str]:
        await record()
        return {}

    app = service_app(_settings(tmp_path), SystemClock(), title="unit", migrations=tmp_path,
                      routers=[router], refusals={})
    app.state.read_your_writes = waits.read_your_writes
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://unit")


async def _records_placed() -> None:
    positions.note([_envelope("o-1", "StockReserved", service="fulfilment")])


def _settings(tmp_path: Path) -> ServiceSettings:
    private, public = generate_keys(tmp_path / "issuer")
    return ServiceSettings(service="fulfilment", auth_public_key_file=public,
                           auth_private_key_file=private)


@pytest.fixture
def ops(tmp_path: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(_settings(tmp_path), 'ops')}"}


async def test_a_command_answers_with_the_position_it_recorded(
        tmp_path: Path, ops: dict[str, str]) -> None:
    async with _client(_app(tmp_path, Waits(), _records_placed)) as client:
        answer = await client.post("/reservations", headers=ops)
    assert answer.status_code == 201
    assert decode(answer.headers["X-Position"]).events[0][0] == "StockReserved"


async def test_a_refused_command_or_one_that_recorded_nothing_has_no_position(
        tmp_path: Path, ops: dict[str, str]) -> None:
    async with _client(_app(tmp_path, Waits(), _records_placed)) as client:
        refused = await client.post("/reservations")  # no token: 401
    async with _client(_app(tmp_path, Waits(), lambda: asyncio.sleep(0))) as client:
        nothing = await client.post("/reservations", headers=ops)
    assert refused.status_code == 401 and "X-Position" not in refused.headers
    assert nothing.status_code == 201 and "X-Position" not in nothing.headers


async def test_a_query_waits_until_its_consumer_applied_the_position(
        tmp_path: Path, ops: dict[str, str]) -> None:
    waits = Waits()
    token = encode(Position("orders", (("OrderPlaced", PLACED),)))
    async with _client(_app(tmp_path, waits, _records_placed)) as client:
        query = asyncio.create_task(client.get(f"/reservations/o-1?after={token}", headers=ops))
        await asyncio.sleep(0.1)
        assert not query.done()
        waits.inbox.applied.add(("fulfilment.reserve-stock", PLACED))
        assert (await query).status_code == 200


async def test_the_header_is_waited_for_like_the_parameter(
        tmp_path: Path, ops: dict[str, str]) -> None:
    waits = Waits()
    token = encode(Position("orders", (("OrderPlaced", PLACED),)))
    async with _client(_app(tmp_path, waits, _records_placed)) as client:
        answer = await client.get("/reservations/o-1",
                                  headers={**ops, "X-After-Position": token})
    assert answer.status_code == 503
    assert answer.json()["type"].endswith("/position-not-reached")


async def test_an_unreached_position_is_a_503_with_retry_after(
        tmp_path: Path, ops: dict[str, str]) -> None:
    token = encode(Position("orders", (("OrderPlaced", PLACED),)))
    async with _client(_app(tmp_path, Waits(), _records_placed)) as client:
        answer = await client.get(f"/reservations/o-1?after={token}", headers=ops)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/position-not-reached")


async def test_a_position_of_events_not_consumed_here_is_answered_at_once(
        tmp_path: Path, ops: dict[str, str]) -> None:
    waits = Waits()
    token = encode(Position("orders", (("ConfirmationSent", PLACED),)))
    async with _client(_app(tmp_path, waits, _records_placed)) as client:
        answer = await client.get(f"/reservations/o-1?after={token}", headers=ops)
    assert answer.status_code == 200
    assert waits.inbox.looks == 0


async def test_a_malformed_token_is_a_422_naming_after(
        tmp_path: Path, ops: dict[str, str]) -> None:
    async with _client(_app(tmp_path, Waits(), _records_placed)) as client:
        answer = await client.get("/reservations/o-1?after=not-a-token", headers=ops)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "after" and "X-Position" in error["reason"]


async def test_a_misspelled_after_is_refused_not_ignored(
        tmp_path: Path, ops: dict[str, str]) -> None:
    token = encode(Position("orders", (("OrderPlaced", PLACED),)))
    async with _client(_app(tmp_path, Waits(), _records_placed)) as client:
        misspelled = await client.get(f"/reservations/o-1?aftr={token}", headers=ops)
        its_own = await client.get("/reservations/o-1?sku=X", headers=ops)
    assert misspelled.status_code == 422
    assert misspelled.json()["errors"] == [{"field": "aftr",
                                            "reason": "not a parameter of this query"}]
    assert its_own.status_code == 200


async def test_the_caller_is_authenticated_before_anything_is_waited_for(
        tmp_path: Path) -> None:
    waits = Waits()
    token = encode(Position("orders", (("OrderPlaced", PLACED),)))
    async with _client(_app(tmp_path, waits, _records_placed)) as client:
        answer = await client.get(f"/reservations/o-1?after={token}")
    assert answer.status_code == 401
    assert waits.inbox.looks == 0


def test_every_query_documents_after_and_every_command_x_position(tmp_path: Path) -> None:
    spec = _app(tmp_path, Waits(), _records_placed).openapi()
    query = spec["paths"]["/reservations/{order_id}"]["get"]
    after = next(p for p in query["parameters"] if p["name"] == "after")
    assert after["schema"]["pattern"] == TOKEN_PATTERN and after["in"] == "query"
    assert any(p["name"] == "X-After-Position" for p in query["parameters"])
    assert "position-not-reached" in query["responses"]["503"]["description"]
    command = spec["paths"]["/reservations"]["post"]["responses"]["201"]
    assert command["headers"]["X-Position"]["schema"]["pattern"] == TOKEN_PATTERN
    assert "after" not in str(spec["paths"]["/metrics"])
