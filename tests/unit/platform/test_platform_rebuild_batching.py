"""The rebuild's fast path without a database: statements batched only when that cannot change
their effect, each order's events in their order."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from contracts.base import Event
from contracts.envelope import (
    EmittingService,
    Envelope,
    PoisonEventError,
    seal,
)
from contracts.hashing import GENESIS_HASH
from contracts.orders import OrderBlocked, OrderUnblocked
from services.platform import rebuild as rebuild_module
from services.platform.kafka_io import Record
from services.platform.rebuild import (
    DeferredConnection,
    Observer,
    ReadModel,
    batch_verb,
    counting,
    project_together,
    update_view,
)
from services.platform.rebuild import _producer as producer_header
from services.platform.relay import published_by


def sealed(event: Event, order_id: str = "o-1", version: int = 1) -> Envelope:
    return seal(event, order_id=order_id, version=version, prev_hash=GENESIS_HASH,
                occurred_at=dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC),
                producer=EmittingService(service="orders", build="t"),
                correlation_id=uuid.uuid4())


def raw() -> bytes:
    return json.dumps(sealed(OrderBlocked(reason="non_payment")).to_json()).encode()


@pytest.mark.parametrize("headers", [
    (), (("producer", b"orders"),), (("producer", b"payments"),), (("producer", b""),),
    (("position", b"1"), ("producer", b"orders")), (("producer", b"\xff"),),
    (("producer", b"payments"), ("producer", b"orders")),
    (("producer", b"orders"), ("producer", b"payments")),
])
def test_a_record_is_the_relays_exactly_when_relay_published_by_says_so(headers) -> None:
    record = Record("orders.events", 0, 0, b"k", b"{}", tuple(headers))
    assert (producer_header(headers) == b"orders") == (published_by(record) == "orders")


@pytest.mark.parametrize(("query", "args", "verb"), [
    ("UPDATE t SET a = $2 WHERE k = $1", (1, 2), "UPDATE"),
    ("  insert into t VALUES ($1) ON CONFLICT DO NOTHING;", (1,), "INSERT"),
    ("DELETE FROM t WHERE k = $1", (1,), "DELETE"),
    ("UPDATE t SET a = 1", (), None),  # no parameters: sent as it is
    ("UPDATE t SET a = $1 RETURNING a", (1,), None),
    ("UPDATE t SET a = $1 -- a note", (1,), None),
    ("UPDATE t SET a = $1; DELETE FROM u", (1,), None),
    ("SELECT $1::int", (1,), None),
    ("WITH x AS (SELECT 1) UPDATE t SET a = $1", (1,), None),
])
def test_only_plain_parameterised_writes_are_batched(query, args, verb) -> None:
    assert batch_verb(query, args) == verb


def test_a_batched_write_is_counted_in_a_single_row() -> None:
    assert counting("UPDATE t SET a = $1 WHERE k = $2;") == (
        "WITH rebuild_batch AS (UPDATE t SET a = $1 WHERE k = $2 RETURNING 1) "
        "SELECT count(*) FROM rebuild_batch")


class Recorder:
    """A connection that logs what it is sent: an UPDATE changes a row when its first
    argument is in ``present``; fetchval answers its first argument."""

    def __init__(self, present: set[str]) -> None:
        self.present, self.sent = present, []  # type: ignore[var-annotated]

    async def execute(self, query: str, *args: Any) -> str:
        self.sent.append(("execute", query, args))
        return f"UPDATE {int(args[0] in self.present)}"

    async def fetchmany(self, query: str, args: list[tuple[Any, ...]]) -> list[tuple[int]]:
        self.sent.append(("fetchmany", query, tuple(args)))
        return [(int(row[0] in self.present),) for row in args]

    async def fetchval(self, query: str, *args: Any) -> Any:
        self.sent.append(("fetchval", query, args))
        return args[0]


def connection(recorder: Recorder) -> asyncpg.Connection:
    return recorder  # type: ignore[return-value]


async def test_alike_statements_of_many_orders_go_together_each_order_in_its_order() -> None:
    seen: list[tuple[str, int, bool]] = []

    async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        changed = await update_view(conn, "v", envelope, blocked=isinstance(event, OrderBlocked))
        seen.append((envelope.order_id, envelope.version, changed))

    events = [(e, e.event()) for e in (
        sealed(OrderBlocked(reason="non_payment"), "a", 1),
        sealed(OrderBlocked(reason="non_payment"), "b", 1),
        sealed(OrderUnblocked(resolution="paid"), "a", 2),
        sealed(OrderBlocked(reason="non_payment"), "c", 1))]
    recorder = Recorder(present={"a", "c"})

    await project_together(connection(recorder), project, events)

    assert [kind for kind, _, _ in recorder.sent] == ["fetchmany", "execute"]
    _, query, batched = recorder.sent[0]
    assert query.startswith("WITH rebuild_batch AS (UPDATE v SET blocked = $4")
    assert [row[:2] for row in batched] == [("a", 1), ("b", 1), ("c", 1)]
    assert recorder.sent[1][2][:2] == ("a", 2)  # a's second event, after its first
    assert sorted(seen) == [("a", 1, True), ("a", 2, True), ("b", 1, False), ("c", 1, True)]


async def test_a_query_is_sent_alone_and_answers_the_projection() -> None:
    answers: list[Any] = []

    async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        answers.append(await conn.fetchval("SELECT $1::text", envelope.order_id))

    events = [(e, e.event()) for e in (sealed(OrderBlocked(reason="non_payment"), "a"),
                                       sealed(OrderBlocked(reason="non_payment"), "b"))]
    recorder = Recorder(present=set())
    await project_together(connection(recorder), project, events)
    assert sorted(answers) == ["a", "b"]
    assert [kind for kind, _, _ in recorder.sent] == ["fetchval", "fetchval"]


async def test_a_projection_awaiting_anything_else_stops_the_rebuild() -> None:
    async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
        await asyncio.sleep(0.01)

    events = [(e, e.event()) for e in (sealed(OrderBlocked(reason="non_payment")),)]
    with pytest.raises(TypeError, match="during a rebuild"):
        await project_together(connection(Recorder(set())), project, events)


def test_the_deferred_connection_offers_only_query_methods() -> None:
    deferred = DeferredConnection()
    with pytest.raises(AttributeError):
        deferred.transaction  # type: ignore[attr-defined]  # noqa: B018


@dataclass(frozen=True)
class Message:
    """What the rebuild reads of a Kafka record."""

    partition: int
    offset: int
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = (("producer", b"orders"),)
    topic: str = "orders.events"
    key: bytes | None = b"o-1"


def topic_of(monkeypatch: pytest.MonkeyPatch, *batches: list[Message]) -> None:
    async def fetched(bootstrap: str, topic: str) -> AsyncIterator[list[Message]]:
        for batch in batches:
            yield batch

    monkeypatch.setattr(rebuild_module, "_fetched", fetched)


async def block(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    await update_view(conn, "v", envelope, blocked=True)


MODEL = ReadModel(service="orders", project=block, tables=("v",))


async def test_the_relays_records_are_replayed_the_rest_skipped_and_all_watched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    valid = raw()
    topic_of(monkeypatch, [Message(0, 0, valid), Message(0, 1, b"forged", headers=())],
             [Message(1, 0, valid, headers=(("producer", b"payments"),)), Message(1, 1, valid)])
    watched: list[tuple[int, int]] = []
    recorder = Recorder(present={"o-1"})

    replay = await rebuild_module._replay_topic(
        connection(recorder), "unused", MODEL,
        Observer(record=lambda record: watched.append((record.partition, record.offset))))

    assert replay.replayed_events == 2 and replay.skipped_records == ["0/1", "1/0"]
    assert watched == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert len(recorder.sent) == 2  # the same order's two events, one after the other


async def test_a_record_of_the_relays_that_does_not_decode_stops_the_replay(
        monkeypatch: pytest.MonkeyPatch) -> None:
    topic_of(monkeypatch, [Message(0, 0, raw())], [Message(0, 1, b"{not json")])
    with pytest.raises(PoisonEventError, match="undecodable JSON"):
        await rebuild_module._replay_topic(connection(Recorder(set())), "unused", MODEL,
                                           Observer())
