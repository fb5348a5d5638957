"""The refunds escalation sweep over many open refunds: ``python -m bench.sweep``.

``measure_sweep`` creates a scratch database (a random name, dropped at the end) on a PostgreSQL
server, applies the refunds service's migrations with the product's runner, seeds ``refunds``
open refunds as a year of daily sweeps would have left them, then times ONE pass of the
product's sweep (``services.refunds.subscriptions.escalate_refunds``) at the sweep date, and a
second pass the same day (it records nothing). Prints JSON.

The seed, one refund per order, its deadline 1 to 365 days before the sweep date (uniformly),
a wine shop's mix of situations and amounts (``MIX``):

* each (situation, amounts, deadline) is decided once by the real domain: ``RefundDue``, then
  the sweep's ``Escalate`` on every day the read model makes the refund a candidate, until the
  day before the sweep; the read-model rows are those ``services.refunds.projections`` folds
  from these events, and the stream's state is the domain's fold of them;
* every refund is such a history with its own ids and hash chain: an envelope's ``hash`` is
  SHA-256 over its RFC 8785 canonical JSON, which for these documents (ASCII, integers and
  strings without escapes) is ``json.dumps`` with sorted keys and no spaces; the first refund
  of every chunk is held against ``contracts.envelope`` (``Envelope``, ``envelope_hash``);
* rows go in with COPY (text, ``FREEZE``) into ``events`` (published), ``streams``,
  ``refund_view`` and ``refund_escalation_view``, one transaction per table, chunks built in a
  thread while the previous chunk is copied; the tables' indexes (and the keys they back) are
  dropped after the migrations and built again after the load, from their own definitions,
  and the result is held to what the migrations made;
* before measuring, a sample of orders is checked: its chains verify, its streams' states are
  the fold of its events, and its read-model rows are what the projection gives when its
  events are replayed (in a transaction rolled back).

The JSON: what was seeded (``seed_seconds``, of which ``histories_seconds`` deciding the
distinct histories and ``index_seconds`` building the indexes), ``refunds_open``,
``candidates_selected`` (and the query's seconds), ``refunds_escalated``, ``events_recorded``,
and for each pass its ``seconds`` with the CPU seconds it took in this process and in the
database's server processes (read from ``/proc`` when the server runs on this machine, else
null): on a shared machine the load stretches the seconds, not the CPU seconds.
``load_average_1min`` says how shared the machine was.

CI smoke: ``python -m bench.sweep --server-url URL --refunds 2000`` (a few seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import io
import json
import os
import random
import secrets
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg

from contracts.base import Event
from contracts.envelope import EmittingService, Envelope
from contracts.hashing import GENESIS_HASH, envelope_hash, verify_chain
from contracts.policies import Policy, load_policy
from contracts.refunds import RefundDue, RefundPenaltyEscalated
from services.platform.clock import ControllableClock
from services.platform.db import PLATFORM_MIGRATIONS, create_pool, migrate
from services.platform.eventloop import run_on_uvloop
from services.platform.runtime import Context
from services.refunds import domain
from services.refunds.handlers import REFUNDS
from services.refunds.main import SERVICE
from services.refunds.next_escalation import Owed, next_escalation_on
from services.refunds.projections import project
from services.refunds.subscriptions import escalate_refunds
from services.refunds.views import escalation_candidates

__all__ = ["DEFAULT_SWEEP_DATE", "MIX", "main", "measure_sweep"]

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_SWEEP_DATE = dt.date(2026, 6, 15)
"""Every legal-interest rate of the past year is in the shipped table: no provisional figure."""
YEAR = 365
CHUNK = 20_000
SAMPLE = 200
MIX: dict[str, tuple[float, tuple[tuple[int, int], ...]]] = {
    # situation: (share, ((base, products) in cents, ...)): products and the initial delivery
    # for withdrawals and terminations, a cancelled line's price for the others
    "withdrawal": (0.45, ((8710, 7720), (15890, 14900), (5330, 4340))),
    "unavailable": (0.33, ((890, 890), (2380, 2380), (5340, 5340))),
    "late_delivery": (0.12, ((15890, 14900), (32890, 31900))),
    "blocked": (0.10, ((2380, 2380), (14900, 14900))),
}
PRODUCER = '{"build":"bench-seed","service":"refunds"}'
REFUND, ORDER, CAUSE = "@refund@", "@order@", "@cause@"
TABLES = {
    "events": ("event_id", "order_id", "version", "type", "envelope", "recorded_at",
               "published_at"),
    "streams": ("order_id", "version", "last_hash", "state"),
    "refund_view": ("refund_id", "order_id", "version", "situation", "base_cents",
                    "products_cents", "deadline", "rule", "cause_type", "cause_event_id",
                    "owed_since", "notice_on", "missing_half_years", "last_escalated_on",
                    "updated_at", "next_escalation_on"),
    "refund_escalation_view": ("refund_id", "escalated_on", "delay_days", "schedule", "tier",
                               "rate", "surcharge_cents", "total_cents", "policy_version",
                               "provisional", "missing_half_years", "recorded_at"),
}


@dataclass(frozen=True)
class Key:
    """What a refund's history depends on."""

    situation: str
    base_cents: int
    products_cents: int
    deadline: dt.date


@dataclass(frozen=True)
class Template:
    """One key's history, ids left as placeholders: its events (type, canonical payload,
    the time part of its ids, occurred_at as the envelope and as COPY text write it) and its
    rows as COPY text."""

    events: tuple[tuple[str, str, str, str, str], ...]
    state: str
    view: str
    escalations: str


async def measure_sweep(server_url: str, refunds: int = 1_000_000,
                        sweep_date: dt.date = DEFAULT_SWEEP_DATE,
                        seed: int | None = None) -> dict[str, Any]:
    """Seed ``refunds`` open refunds in a scratch database of ``server_url``, then time a pass
    of the escalation sweep at ``sweep_date`` and a second one the same day."""
    name = f"bench_sweep_{secrets.token_hex(6)}"
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        seeded = await _seeded(url, refunds, sweep_date, seed)
        return {**seeded, **await _measured(url, sweep_date)}
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server_url: str, statement: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def _seeded(url: str, refunds: int, sweep_date: dt.date,
                  seed: int | None) -> dict[str, Any]:
    """Migrate, seed and check the scratch database; what was seeded, how fast."""
    rng = random.Random(seed)
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn, [PLATFORM_MIGRATIONS, SERVICE.migrations])
        indexes = await _indexes(conn)
        await _drop(conn, indexes)
    finally:
        await conn.close()
    started = time.perf_counter()
    chosen = _choose_keys(rng, refunds, sweep_date)
    templates = _templates(sorted(set(chosen), key=_key_order), sweep_date)
    histories = time.perf_counter() - started
    await _copy_all(url, chosen, templates, rng.getrandbits(64))
    copied = time.perf_counter()
    await _build(url, indexes)
    return {"refunds": refunds, "sweep_date": sweep_date.isoformat(),
            "distinct_histories": len(templates), "histories_seconds": round(histories, 2),
            "seed_seconds": round(time.perf_counter() - started, 2),
            "index_seconds": round(time.perf_counter() - copied, 2),
            **await _checked(url, SAMPLE)}


@dataclass(frozen=True)
class Index:
    """An index of a seeded table as the migrations made it, and the constraint it backs."""

    table: str
    name: str
    definition: str
    constraint: str | None


async def _indexes(conn: asyncpg.Connection) -> list[Index]:
    rows = await conn.fetch(
        "SELECT x.indrelid::regclass::text AS \"table\", i.relname AS name, "
        "pg_get_indexdef(i.oid) AS definition, pg_get_constraintdef(c.oid) AS \"constraint\" "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.contype IN ('p', 'u') "
        "WHERE x.indrelid = ANY($1::regclass[]) ORDER BY 1, 2", list(TABLES))
    return [Index(**dict(row)) for row in rows]


async def _drop(conn: asyncpg.Connection, indexes: Sequence[Index]) -> None:
    """Drop the seeded tables' indexes (and the keys they back): a bulk load then builds each
    index once from sorted rows instead of inserting every row into every index (a million
    refunds: 213 s → 154 s)."""
    for index in indexes:
        await conn.execute(f'ALTER TABLE {index.table} DROP CONSTRAINT "{index.name}"'
                           if index.constraint else f'DROP INDEX "{index.name}"')


async def _build(url: str, indexes: Sequence[Index]) -> None:
    """Build the indexes again as the migrations defined them, one connection per table, and
    hold the result to what the migrations made."""
    async def build_on(table: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SET maintenance_work_mem = '256MB'")
            for index in indexes:
                if index.table == table:
                    await conn.execute(
                        f'ALTER TABLE {table} ADD CONSTRAINT "{index.name}" {index.constraint}'
                        if index.constraint else index.definition)
        finally:
            await conn.close()

    await asyncio.gather(*(build_on(table) for table in TABLES))
    conn = await asyncpg.connect(url)
    try:
        rebuilt = await _indexes(conn)
    finally:
        await conn.close()
    if rebuilt != list(indexes):
        raise AssertionError(f"indexes after seeding {rebuilt} differ from {indexes}")


def _key_order(key: Key) -> tuple[str, int, dt.date]:
    return key.situation, key.base_cents, key.deadline


def _choose_keys(rng: random.Random, refunds: int, sweep_date: dt.date) -> list[Key]:
    """Each refund's situation, amounts and deadline (1 to 365 days before the sweep)."""
    keys = [Key(situation, base, products, sweep_date - dt.timedelta(days=late))
            for situation, (_, amounts) in MIX.items() for base, products in amounts
            for late in range(1, YEAR + 1)]
    weights = [MIX[key.situation][0] / len(MIX[key.situation][1]) for key in keys]
    return rng.choices(keys, weights, k=refunds)


def _templates(keys: Sequence[Key], sweep_date: dt.date) -> dict[Key, Template]:
    """The histories of ``keys``, decided on two processes (the engine is pure Python)."""
    if len(keys) < 200:
        return {key: _template(key, sweep_date) for key in keys}
    with ProcessPoolExecutor(max_workers=2) as pool:
        built = pool.map(_template, keys, [sweep_date] * len(keys), chunksize=50)
        return dict(zip(keys, built, strict=True))


def _template(key: Key, sweep_date: dt.date) -> Template:
    """One key's history as the domain decides it and the read model folds it."""
    policy = load_policy()
    recorded, state = _history(key, sweep_date, policy)
    events = tuple((type(event).__name__, _canonical(event.model_dump(mode="json")),
                    _uuid7_prefix(at), at.isoformat().replace("+00:00", "Z"), str(at))
                   for event, at in recorded)
    steps = [(event, at) for event, at in recorded if isinstance(event, RefundPenaltyEscalated)]
    due = recorded[0][0]
    assert isinstance(due, RefundDue)
    return Template(events, json.dumps(state.model_dump(mode="json"), separators=(",", ":")),
                    _view_row(due, steps, len(recorded), recorded[-1][1], policy),
                    "".join(_escalation_row(step, at) for step, at in steps))


def _history(key: Key, sweep_date: dt.date,
             policy: Policy) -> tuple[list[tuple[Event, dt.datetime]], domain.RefundsState]:
    """``RefundDue`` 14 days before the deadline, then what the sweep recorded on every day
    the refund was a candidate, until the day before ``sweep_date``."""
    owed_since = key.deadline - dt.timedelta(days=14)
    owe = domain.OweRefund(
        REFUND, key.situation, key.base_cents, key.products_cents,  # type: ignore[arg-type]
        key.deadline, f"bench: {key.situation} refund within 14 days", "BenchCause", CAUSE,
        notice_on=owed_since if key.situation == "withdrawal" else None)
    recorded: list[tuple[Event, dt.datetime]] = [
        (event, _at(owed_since, 10)) for event in domain.decide(None, owe, _at(owed_since, 10))]
    state = REFUNDS.fold(None, [event for event, _ in recorded])
    assert state is not None
    day: dt.date | None = key.deadline + dt.timedelta(days=1)
    while day is not None and day < sweep_date:
        steps = domain.decide(state, domain.Escalate(policy), _at(day))
        recorded += [(step, _at(day)) for step in steps]
        state = REFUNDS.fold(state, steps) or state
        day = _next_candidate_day(state, day, policy)
    return recorded, state


def _next_candidate_day(state: domain.RefundsState, today: dt.date,
                        policy: Policy) -> dt.date | None:
    """The next day the sweep reads the refund: its next escalation day, or every day once
    that day has come and nothing was recorded."""
    [refund] = state.refunds.values()
    last = refund.steps[-1] if refund.steps else None
    owed = Owed(refund.situation, refund.base_cents, refund.products_cents, refund.deadline)
    following = next_escalation_on(owed, last.on if last else None,
                                   last.tier if last else None, policy)
    return None if following is None else max(following, today + dt.timedelta(days=1))


def _at(day: dt.date, hour: int = 0) -> dt.datetime:
    """Five past ``hour`` on ``day`` in Paris, as UTC (a sweep's first pass of the day)."""
    return dt.datetime.combine(day, dt.time(hour, 5), PARIS).astimezone(dt.UTC)


def _canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _view_row(due: RefundDue, steps: list[tuple[RefundPenaltyEscalated, dt.datetime]],
              version: int, updated_at: dt.datetime, policy: Policy) -> str:
    """The refund's ``refund_view`` row as the projection folds it (COPY text)."""
    last = steps[-1][0] if steps else None
    owed = Owed(due.situation, due.base_cents, due.products_cents, due.deadline)
    following = next_escalation_on(owed, last.escalated_on if last else None,
                                   last.tier if last else None, policy)
    missing = sorted({half for step, _ in steps if step.provisional
                      for half in step.missing_half_years})
    return _line(REFUND, ORDER, version, due.situation, due.base_cents, due.products_cents,
                 due.deadline, due.rule, due.cause_type, CAUSE, due.owed_since, due.notice_on,
                 _array(missing), last.escalated_on if last else None, updated_at, following)


def _escalation_row(step: RefundPenaltyEscalated, at: dt.datetime) -> str:
    return _line(REFUND, step.escalated_on, step.delay_days, step.schedule, step.tier,
                 str(step.rate), step.surcharge_cents, step.total_cents, step.policy_version,
                 "t" if step.provisional else "f", _array(step.missing_half_years), at)


def _line(*values: object) -> str:
    """A COPY text line; values are ASCII without tabs, newlines or backslashes."""
    return "\t".join(r"\N" if value is None else str(value) for value in values) + "\n"


def _array(values: Iterable[str]) -> str:
    return "{" + ",".join(values) + "}"


async def _copy_all(url: str, chosen: list[Key], templates: dict[Key, Template],
                    seed: int) -> None:
    """COPY every chunk into the four tables, one transaction per table; the next chunk is
    built in a thread while the previous one is copied."""
    conns = {table: await asyncpg.connect(url) for table in TABLES}
    try:
        for table, conn in conns.items():
            await conn.execute(f"BEGIN; TRUNCATE {table}")
        copying: asyncio.Future[Any] | None = None
        for start in range(0, len(chosen), CHUNK):
            keys = chosen[start:start + CHUNK]
            chunk = await asyncio.to_thread(_chunk, keys, templates, seed + start)
            if copying is not None:
                await copying
            copying = asyncio.gather(*(_copy(conns[table], table, data)
                                       for table, data in chunk.items()))
        if copying is not None:
            await copying
        await asyncio.gather(*(conn.execute("COMMIT") for conn in conns.values()))
    finally:
        await asyncio.gather(*(conn.close() for conn in conns.values()))


async def _copy(conn: asyncpg.Connection, table: str, data: bytes) -> None:
    await conn.copy_to_table(table, source=io.BytesIO(data), columns=list(TABLES[table]),
                             format="text", freeze=True)


def _chunk(keys: list[Key], templates: dict[Key, Template], seed: int) -> dict[str, bytes]:
    """The COPY text of a chunk of refunds, one per new order, each with its own ids."""
    rng = random.Random(seed)
    lines: dict[str, list[str]] = {table: [] for table in TABLES}
    for index, key in enumerate(keys):
        _refund_rows(templates[key], rng, lines)
        if index == 0:
            _hold_against_contracts(lines["events"])
    return {table: "".join(rows).encode() for table, rows in lines.items()}


def _refund_rows(template: Template, rng: random.Random, lines: dict[str, list[str]]) -> None:
    """One refund's rows: its events (hash-chained), its stream and its read-model rows."""
    owed_at = template.events[0][2]
    order_id, cause_id, refund_id = _uuid7(owed_at, rng), _uuid7(owed_at, rng), _uuid4(rng)
    previous = GENESIS_HASH
    for version, (event_type, payload, at, occurred, text) in enumerate(template.events, 1):
        payload = payload.replace(REFUND, refund_id).replace(CAUSE, cause_id)
        event_id, causation = _uuid7(at, rng), f'"{cause_id}"' if version == 1 else "null"
        head = (f'{{"causation_id":{causation},"correlation_id":"{_uuid4(rng)}",'
                f'"event_id":"{event_id}"')
        previous, envelope = _sealed(head, order_id, version, event_type, payload, occurred,
                                     previous)
        lines["events"].append(f"{event_id}\t{order_id}\t{version}\t{event_type}\t"
                               f"{envelope}\t{text}\t{text}\n")
    lines["streams"].append(_line(order_id, len(template.events), previous,
                                  template.state.replace(REFUND, refund_id)))
    lines["refund_view"].append(template.view.replace(REFUND, refund_id)
                                .replace(ORDER, order_id).replace(CAUSE, cause_id))
    lines["refund_escalation_view"].append(template.escalations.replace(REFUND, refund_id))


def _sealed(head: str, order_id: str, version: int, event_type: str, payload: str,
            occurred: str, previous: str) -> tuple[str, str]:
    """An event's hash and its envelope's JSON, as ``seal`` makes them (``head``: its
    causation, correlation and event ids, in canonical order)."""
    tail = (f',"idempotency_key":null,"occurred_at":"{occurred}","order_id":"{order_id}",'
            f'"payload":{payload},"prev_hash":"{previous}","producer":{PRODUCER},'
            f'"schema_version":1,"type":"{event_type}","version":{version}}}')
    digest = hashlib.sha256((head + tail).encode()).hexdigest()
    return digest, f'{head},"hash":"{digest}"{tail}'


def _uuid7_prefix(at: dt.datetime) -> str:
    """The time part of the time-ordered UUIDs (v7) made at ``at``, and their version."""
    text = f"{int(at.timestamp() * 1000):012x}"
    return f"{text[:8]}-{text[8:]}-7"


def _uuid7(prefix: str, rng: random.Random) -> str:
    """A time-ordered UUID (v7), as ``contracts.identifiers`` makes event and order ids."""
    return (f"{prefix}{rng.getrandbits(12):03x}-{0x8000 | rng.getrandbits(14):04x}-"
            f"{rng.getrandbits(48):012x}")


def _uuid4(rng: random.Random) -> str:
    """A random UUID (v4)."""
    return (f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"{0x8000 | rng.getrandbits(14):04x}-{rng.getrandbits(48):012x}")


def _hold_against_contracts(event_lines: list[str]) -> None:
    """The last refund's envelopes are what ``contracts.envelope`` validates, hashes and
    chains (RFC 8785 by the real canonicaliser)."""
    envelopes: list[dict[str, Any]] = []
    for line in reversed(event_lines):
        envelopes.insert(0, json.loads(line.split("\t")[4]))
        if envelopes[0]["version"] == 1:
            break
    for envelope in envelopes:
        Envelope.model_validate(envelope).event()
        assert envelope_hash(envelope) == envelope["hash"], envelope
    verify_chain(envelopes)


async def _checked(url: str, sample: int) -> dict[str, Any]:
    """ANALYZE the seeded tables and CHECKPOINT (the seed's pages are written out before the
    timed pass, not by the checkpointer during it, as a year of sweeps would have left them),
    then hold a sample of orders against the contracts, the domain's fold and the projection;
    the seeded volumes."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE events, streams, refund_view, refund_escalation_view")
        await conn.execute("CHECKPOINT")
        orders = [row["order_id"] for row in await conn.fetch(
            "SELECT order_id FROM streams ORDER BY random() LIMIT $1", sample)]
        for order_id in orders:
            await _check_order(conn, order_id)
        return {"checked_orders": len(orders), **await _volumes(conn)}
    finally:
        await conn.close()


async def _check_order(conn: asyncpg.Connection, order_id: str) -> None:
    """The order's chain verifies, its state is its events' fold, and replaying its events
    through the projection gives back its read-model rows."""
    envelopes = await _chained(conn, order_id)
    seeded = await _rows_of(conn, order_id)
    replay = conn.transaction()
    await replay.start()
    try:
        await conn.execute("DELETE FROM refund_escalation_view WHERE refund_id IN (SELECT "
                           "refund_id FROM refund_view WHERE order_id = $1)", order_id)
        await conn.execute("DELETE FROM refund_view WHERE order_id = $1", order_id)
        for envelope in envelopes:
            await project(conn, envelope, envelope.event())
        assert await _rows_of(conn, order_id) == seeded, order_id
    finally:
        await replay.rollback()


async def _chained(conn: asyncpg.Connection, order_id: str) -> list[Envelope]:
    """The order's envelopes, once its chain verifies and its stream (version, last hash,
    decision state) is the one its events give."""
    rows = await conn.fetch("SELECT envelope FROM events WHERE order_id = $1 ORDER BY version",
                            order_id)
    documents = [json.loads(row["envelope"]) for row in rows]
    verify_chain(documents)
    envelopes = [Envelope.model_validate(document) for document in documents]
    stream = await conn.fetchrow("SELECT version, last_hash, state FROM streams "
                                 "WHERE order_id = $1", order_id)
    folded = REFUNDS.fold(None, [envelope.event() for envelope in envelopes])
    assert (stream["version"], stream["last_hash"]) == (len(documents),
                                                        documents[-1]["hash"]), order_id
    assert folded == REFUNDS.state_type.model_validate(json.loads(stream["state"])), order_id
    return envelopes


async def _rows_of(conn: asyncpg.Connection, order_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT v::text FROM refund_view v WHERE order_id = $1 UNION ALL SELECT e::text FROM "
        "refund_escalation_view e JOIN refund_view v USING (refund_id) WHERE v.order_id = $1 "
        "ORDER BY 1", order_id)
    return [row[0] for row in rows]


async def _volumes(conn: asyncpg.Connection) -> dict[str, Any]:
    counts = {table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES}
    size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    return {"seeded_rows": counts, "database_size": size}


async def _measured(url: str, sweep_date: dt.date) -> dict[str, Any]:
    """Two passes of the product's sweep at five past midnight on ``sweep_date``."""
    clock = ControllableClock(dt.datetime.combine(sweep_date, dt.time(0, 5), PARIS))
    ctx = Context(clock, EmittingService(service="refunds", build="bench-sweep"))
    pool = await create_pool(url, max_size=4)
    try:
        open_refunds = await pool.fetchval("SELECT count(*) FROM refund_view "
                                           "WHERE paid_on IS NULL")
        candidates, candidates_seconds = await _timed(_candidates(pool, sweep_date), pool)
        before = await pool.fetchval("SELECT max(position) FROM events")
        first = await _timed(escalate_refunds(pool, ctx), pool)
        escalated = await pool.fetchval(
            "SELECT count(DISTINCT order_id) FROM events WHERE position > $1", before)
        await _check_escalated(url, before, SAMPLE)
        second = await _timed(escalate_refunds(pool, ctx), pool)
    finally:
        await pool.close()
    return {"load_average_1min": round(os.getloadavg()[0], 2),
            "refunds_open": open_refunds, "candidates_selected": candidates,
            "candidates_query_seconds": candidates_seconds["seconds"],
            "refunds_escalated": escalated, "events_recorded": first[0],
            "pass": first[1], "second_pass_events_recorded": second[0],
            "second_pass": second[1]}


async def _check_escalated(url: str, before: int, sample: int) -> None:
    """A sample of the orders the pass escalated: their new events chain onto the seeded ones,
    and their streams are their events' fold."""
    conn = await asyncpg.connect(url)
    try:
        for row in await conn.fetch("SELECT DISTINCT order_id FROM events WHERE position > $1 "
                                    "LIMIT $2", before, sample):
            await _chained(conn, row["order_id"])
    finally:
        await conn.close()


async def _candidates(pool: asyncpg.Pool, sweep_date: dt.date) -> int:
    known = sorted(load_policy().rates.percent_by_half_year)
    return len(await escalation_candidates(pool, sweep_date, known))


async def _timed(work: Any, pool: asyncpg.Pool) -> tuple[Any, dict[str, float | None]]:
    """``work``'s result; its seconds, and the CPU seconds it took in this process and in the
    database's server processes (when they run on this machine: a shared machine's load
    stretches the seconds, not the CPU seconds)."""
    server_before = await _server_cpu(pool)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = await work
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server_after = await _server_cpu(pool)
    server = (None if server_before is None or server_after is None else
              sum(after - server_before.get(pid, 0.0) for pid, after in server_after.items()))
    return result, {"seconds": round(seconds, 3), "python_cpu_seconds": round(cpu, 3),
                    "server_cpu_seconds": None if server is None else round(server, 3)}


async def _server_cpu(pool: asyncpg.Pool) -> dict[int, float] | None:
    """CPU seconds so far of each server process of the database (None: not readable)."""
    pids = [row[0] for row in await pool.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        stats = {pid: Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                 for pid in pids}
    except OSError:
        return None
    return {pid: (int(fields[11]) + int(fields[12])) / ticks for pid, fields in stats.items()}


def main() -> None:
    """Entry point: ``python -m bench.sweep --server-url URL [--refunds N]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.sweep")
    parser.add_argument("--server-url", required=True,
                        help="a PostgreSQL server (the scratch database is made and dropped)")
    parser.add_argument("--refunds", type=int, default=1_000_000)
    parser.add_argument("--sweep-date", type=dt.date.fromisoformat, default=DEFAULT_SWEEP_DATE)
    parser.add_argument("--seed", type=int, default=None, help="random seed of the data")
    args = parser.parse_args()
    started = time.perf_counter()
    result = run_on_uvloop(measure_sweep(args.server_url, args.refunds, args.sweep_date,
                                       args.seed))
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
