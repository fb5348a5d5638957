"""Replay and verify the log: ``python -m services.platform.verify [--order ID ...]``.

For each service, every record of its topic is read back from Kafka and each (service, order)
stream's hash chain is recomputed. The topic is then held against the service's ``events``
table, without false alarms while the system runs: the events marked published *before* the
topic is read must all be on it, and every event on the topic must be in the table (read
*after* the topic), identical. Then every signed checkpoint of those services' topics (and of
their dead-letter twins) is held against them (``services.platform.checkpoints``): a deleted or
rewritten tail, or a stream rewritten with a consistent new chain, is found there. Prints a
JSON report (``services`` and ``checkpoints``); exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from contracts.hashing import ChainBrokenError, verify_chain
from contracts.topics import SERVICES, dead_letter_topic, events_topic
from services.platform.checkpoints import CheckpointReport, verify_checkpoints
from services.platform.db import use_json_codec
from services.platform.kafka_io import read_topic
from services.platform.settings import CheckpointSettings, LogSettings

__all__ = [
    "Replay",
    "ServiceReport",
    "check",
    "checkpoint_settings",
    "main",
    "replay_service",
    "stored",
    "summary",
    "topic_streams",
    "verify",
    "verify_service",
    "with_checkpoints",
]

Envelopes = dict[str, dict[str, Any]]  # by event id
REDRIVEN_FROM = "redriven-from"
"""The header of a record put back from a dead-letter topic by ``services.ops dlq redrive``."""
COPY = "__redriven_copy__"


@dataclass
class ServiceReport:
    """What the replay of one service's topic found."""

    orders: int = 0
    events: int = 0
    broken_chains: dict[str, str] = field(default_factory=dict)
    published_but_not_on_topic: list[str] = field(default_factory=list)
    on_topic_but_not_in_store: list[str] = field(default_factory=list)
    differs_from_store: list[str] = field(default_factory=list)
    undecodable_records: list[str] = field(default_factory=list)
    redriven_copies: int = 0
    """Records an operator put back from a dead-letter topic (``redriven-from`` header): copies
    of an event already on the topic, held against the store but not chained a second time."""
    published_twice: list[str] = field(default_factory=list)
    """Events the relay published twice, the same bytes both times (a relay that lost its lock
    mid-batch, decision 0003): shown, held against the store, not chained a second time, and
    no finding (consumers apply an event once)."""

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not any((self.broken_chains, self.published_but_not_on_topic,
                        self.on_topic_but_not_in_store, self.differs_from_store,
                        self.undecodable_records))


async def topic_streams(bootstrap: str, service: str, report: ServiceReport,
                        orders: set[str] | None) -> dict[str, list[dict[str, Any]]]:
    """The service's topic grouped by order, in topic order (one order = one partition)."""
    streams: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async for record in read_topic(bootstrap, events_topic(service)):
        key = (record.key or b"").decode(errors="replace")
        if orders is not None and key not in orders:
            continue
        try:
            envelope = json.loads(record.value or b"")
            if REDRIVEN_FROM in dict(record.headers):
                report.redriven_copies += 1
                envelope = {**envelope, COPY: True}
            streams[str(envelope["order_id"])].append(envelope)
        except (ValueError, KeyError, TypeError):
            report.undecodable_records.append(f"{record.partition}/{record.offset}")
    return streams


async def stored(db: asyncpg.Connection, orders: set[str] | None,
                 published_only: bool) -> Envelopes:
    """The service's stored envelopes by event id (only the published ones if asked)."""
    if not await db.fetchval("SELECT to_regclass('events') IS NOT NULL"):
        return {}  # the service never ran here: whatever its topic holds has no store behind it
    rows = await db.fetch(
        "SELECT envelope FROM events WHERE ($2 = false OR published_at IS NOT NULL) "
        "AND ($1::text[] IS NULL OR order_id = ANY($1::text[]))",
        sorted(orders) if orders is not None else None, published_only)
    return {str(row["envelope"]["event_id"]): row["envelope"] for row in rows}


def check(topic: dict[str, list[dict[str, Any]]], published_before: Envelopes,
          store_after: Envelopes, report: ServiceReport) -> None:
    """Chains on the topic, and topic against store (see the module's docstring)."""
    on_topic: set[str] = set()
    differs: set[str] = set()
    for order_id, records in topic.items():
        report.orders += 1
        stream = _chained(records, report)
        report.events += len(stream)
        _hold_against_store(records, store_after, on_topic, differs)
        try:
            verify_chain(stream)
        except ChainBrokenError as error:
            report.broken_chains[order_id] = str(error)
    report.published_but_not_on_topic = sorted(set(published_before) - on_topic)
    report.on_topic_but_not_in_store = sorted(on_topic - set(store_after))
    report.differs_from_store = sorted(differs)


def _chained(records: list[dict[str, Any]], report: ServiceReport) -> list[dict[str, Any]]:
    """The records the order's chain is made of: neither re-driven copies nor a second
    identical record of an event (a record differing from the first under the same id stays,
    and breaks the chain)."""
    first: dict[str, dict[str, Any]] = {}
    stream = []
    for envelope in records:
        if envelope.get(COPY):
            continue
        event_id = str(envelope.get("event_id"))
        if first.get(event_id) == envelope:
            report.published_twice.append(event_id)
            continue
        first.setdefault(event_id, envelope)
        stream.append(envelope)
    return stream


def _hold_against_store(records: list[dict[str, Any]], store: Envelopes, on_topic: set[str],
                        differs: set[str]) -> None:
    """Every record, a copy too, must be an event the store holds, unchanged: each one is held
    against it (keeping one record per event id let a forged record pass behind a genuine
    copy of the event whose id it took)."""
    for envelope in records:
        event_id = str(envelope.get("event_id"))
        on_topic.add(event_id)
        if event_id in store and store[event_id] != {
                key: value for key, value in envelope.items() if key != COPY}:
            differs.add(event_id)


@dataclass
class Replay:
    """One service's topic, grouped by order in topic order, and its store as read after it."""

    report: ServiceReport
    topic: dict[str, list[dict[str, Any]]]
    store: Envelopes


async def replay_service(settings: LogSettings, service: str,
                         orders: set[str] | None) -> Replay:
    """Replay one service's topic and hold it against its store."""
    report = ServiceReport()
    db = await asyncpg.connect(settings.database_url_for(service))
    try:
        await use_json_codec(db)
        published_before = await stored(db, orders, published_only=True)
        topic = await topic_streams(settings.kafka_bootstrap, service, report, orders)
        store_after = await stored(db, orders, published_only=False)
    finally:
        await db.close()
    check(topic, published_before, store_after, report)
    return Replay(report, topic, store_after)


async def verify_service(settings: LogSettings, service: str,
                         orders: set[str] | None) -> ServiceReport:
    """Replay one service's topic and hold it against its store; what was found."""
    return (await replay_service(settings, service, orders)).report


def summary(reports: dict[str, ServiceReport]) -> dict[str, Any]:
    """The JSON report of every service, and whether the log verifies."""
    return {"ok": all(r.ok for r in reports.values()),
            "services": {name: {**vars(r), "ok": r.ok} for name, r in reports.items()}}


def with_checkpoints(report: dict[str, Any], checkpoints: CheckpointReport) -> dict[str, Any]:
    """``report`` (a ``summary``) with its ``checkpoints`` section; not ok on any finding."""
    return {**report, "ok": report["ok"] and checkpoints.ok,
            "checkpoints": checkpoints.as_dict()}


def checkpoint_settings(settings: LogSettings) -> CheckpointSettings:
    """``settings`` as checkpoint settings (the checkpoint fields from the environment)."""
    if isinstance(settings, CheckpointSettings):
        return settings
    return CheckpointSettings(**settings.model_dump())


async def verify(settings: LogSettings, services: list[str], orders: set[str] | None,
                 checkpoint_dir: Path | None = None) -> dict[str, Any]:
    """The report of every service, of the checkpoints of their topics (and of those filed in
    ``checkpoint_dir``), and whether the log verifies."""
    reports = {service: await verify_service(settings, service, orders) for service in services}
    topics = [t for s in services for t in (events_topic(s), dead_letter_topic(events_topic(s)))]
    checkpoints = await verify_checkpoints(checkpoint_settings(settings), topics, checkpoint_dir)
    return with_checkpoints(summary(reports), checkpoints)


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.verify",
                                     description="Replay the log and verify its hash chains.")
    parser.add_argument("--service", action="append", choices=SERVICES)
    parser.add_argument("--order", action="append", help="only these orders (the chains; "
                        "checkpoints always cover whole topics)")
    parser.add_argument("--checkpoint-dir", type=Path,
                        help="also hold the checkpoint files of this folder against the log")
    args = parser.parse_args()
    result = asyncio.run(verify(CheckpointSettings(), args.service or list(SERVICES),
                                set(args.order) if args.order else None, args.checkpoint_dir))
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
