"""Replay and verify the log: ``python -m services.platform.verify [--order ID ...]``.

For each service, every record of its topic is read back from Kafka; each (service, order)
stream's hash chain is recomputed, and the stream is compared, envelope by envelope, with the
published rows of the service's ``events`` table. Prints a JSON report; exits 1 on any finding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from contracts.hashing import ChainBrokenError, verify_chain
from contracts.topics import SERVICES, events_topic
from services.platform.kafka_io import read_topic
from services.platform.settings import load_settings

Stream = list[dict[str, Any]]


@dataclass
class ServiceReport:
    """What the replay of one service's topic found."""

    orders: int = 0
    events: int = 0
    broken_chains: dict[str, str] = field(default_factory=dict)
    differs_from_store: list[str] = field(default_factory=list)
    undecodable_records: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not (self.broken_chains or self.differs_from_store or self.undecodable_records)


async def topic_streams(bootstrap: str, service: str, report: ServiceReport,
                        orders: set[str] | None) -> dict[str, Stream]:
    """The service's topic grouped by order, in topic order (one order = one partition)."""
    streams: dict[str, Stream] = defaultdict(list)
    async for record in read_topic(bootstrap, events_topic(service)):
        key = (record.key or b"").decode(errors="replace")
        if orders is not None and key not in orders:
            continue
        try:
            envelope = json.loads(record.value or b"")
            streams[str(envelope["order_id"])].append(envelope)
        except (ValueError, KeyError, TypeError):
            report.undecodable_records.append(f"{record.partition}/{record.offset}")
    return streams


async def store_streams(db: asyncpg.Connection, orders: set[str] | None) -> dict[str, Stream]:
    """The service's published events grouped by order, in version order."""
    rows = await db.fetch(
        "SELECT order_id, envelope FROM events WHERE published_at IS NOT NULL "
        "AND ($1::text[] IS NULL OR order_id = ANY($1::text[])) ORDER BY order_id, version",
        sorted(orders) if orders is not None else None)
    streams: dict[str, Stream] = defaultdict(list)
    for row in rows:
        streams[row["order_id"]].append(row["envelope"])
    return streams


def compare(topic: dict[str, Stream], store: dict[str, Stream], report: ServiceReport) -> None:
    """Check every chain on the topic and that topic and store hold the same streams."""
    for order_id, stream in topic.items():
        report.orders += 1
        report.events += len(stream)
        try:
            verify_chain(stream)
        except ChainBrokenError as error:
            report.broken_chains[order_id] = str(error)
    report.differs_from_store = sorted(
        order_id for order_id in set(topic) | set(store)
        if topic.get(order_id) != store.get(order_id))


async def verify_service(service: str, orders: set[str] | None) -> ServiceReport:
    """Replay one service's topic and compare it with its store."""
    settings = load_settings(service)
    report = ServiceReport()
    topic = await topic_streams(settings.kafka_bootstrap, service, report, orders)
    db = await asyncpg.connect(settings.database_url)
    try:
        await db.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads,
                                schema="pg_catalog")
        store = await store_streams(db, orders)
    finally:
        await db.close()
    compare(topic, store, report)
    return report


async def verify(services: list[str], orders: set[str] | None) -> dict[str, Any]:
    """The report of every service, and whether the log verifies."""
    reports = {service: await verify_service(service, orders) for service in services}
    return {"ok": all(r.ok for r in reports.values()),
            "services": {name: {**vars(r), "ok": r.ok} for name, r in reports.items()}}


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.verify",
                                     description="Replay the log and verify its hash chains.")
    parser.add_argument("--service", action="append", choices=SERVICES)
    parser.add_argument("--order", action="append", help="only these orders")
    args = parser.parse_args()
    result = asyncio.run(verify(args.service or ["orders", "fulfilment"],
                                set(args.order) if args.order else None))
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
