"""What must hold after every fault (DESIGN.md, Guarantees 1–4), measured on the real log and the
real databases for the orders the suite drove:

- every stored event is on its topic exactly once, and every record on a topic is stored
  (the platform's ``verify``: hash chains, store against topic);
- each order's events are on its topic in stream order (versions 1, 2, 3 … by offset);
- every consumer applied every event it handles exactly once (inbox rows), and no reaction was
  recorded twice (no two events of one type caused by the same event);
- once the system is at rest, every read model equals its rebuild from the log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from contracts.envelope import EmittingService
from contracts.topics import events_topic
from services.ops.registry import consumer_group
from services.platform.clock import SystemClock
from services.platform.lag import group_positions
from services.platform.rebuild import compare, snapshot
from services.platform.runtime import Context
from services.platform.service import Service
from services.platform.settings import LogSettings
from services.platform.verify import COPY, replay_service

Streams = dict[str, list[dict[str, Any]]]  # order id → envelopes in topic order


@dataclass
class Findings:
    """The counts the report gives for one fault; ``ok`` when nothing is amiss."""

    events_on_log: int = 0
    applied: int = 0
    verify_findings: list[str] = field(default_factory=list)
    duplicates_on_topic: list[str] = field(default_factory=list)
    out_of_order: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)
    doubled_effects: list[str] = field(default_factory=list)
    read_models_differing: list[str] = field(default_factory=list)
    rebuild_checked: bool = False

    @property
    def ok(self) -> bool:
        """True when every guarantee held."""
        return not any((self.verify_findings, self.duplicates_on_topic, self.out_of_order,
                        self.not_applied, self.doubled_effects, self.read_models_differing))

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, with the counts first and at most 20 examples of each finding."""
        listed = {name: value[:20] for name, value in vars(self).items()
                  if isinstance(value, list)}
        counts = {name: len(value) for name, value in vars(self).items()
                  if isinstance(value, list)}
        return {"ok": self.ok, "events_on_log": self.events_on_log, "applied": self.applied,
                "rebuild_checked": self.rebuild_checked, "counts": counts, "examples": listed}


def consumers(services: Sequence[Service]) -> dict[str, tuple[str, str, set[str]]]:
    """Every consumer of the system: inbox name → (its service, its topic, the types it
    applies)."""
    ctx = Context(SystemClock(), EmittingService(service="faults", build="faults"))
    return {f"{service.name}.{s.name}": (service.name, s.topic, set(s.handlers))
            for service in services for s in service.subscriptions(ctx)}


async def check_log(settings: LogSettings, services: Sequence[Service], orders: set[str],
                    pools: Mapping[str, asyncpg.Pool], findings: Findings) -> None:
    """Log, order, inbox and doubled effects for ``orders`` (see the module's docstring)."""
    topics: dict[str, Streams] = {}
    for service in services:
        replay = await replay_service(settings, service.name, orders)
        topics[events_topic(service.name)] = replay.topic
        report = replay.report
        findings.events_on_log += report.events
        findings.verify_findings += [f"{service.name}: {name} {value}" for name, value in
                                     vars(report).items() if isinstance(value, list | dict)
                                     and value]
        _check_streams(service.name, replay.topic, findings)
    await _check_inboxes(consumers(services), topics, pools, findings)
    for service in services:
        await _check_doubled_effects(service.name, pools[service.name], orders, findings)


def _check_streams(service: str, streams: Streams, findings: Findings) -> None:
    for order_id, records in streams.items():
        stream = [e for e in records if not e.get(COPY)]  # re-driven copies are not the stream
        counts = Counter(str(e["event_id"]) for e in stream)
        findings.duplicates_on_topic += [f"{service}: {e}" for e, n in counts.items() if n > 1]
        versions = [int(e["version"]) for e in stream]
        if versions != list(range(1, len(versions) + 1)):
            findings.out_of_order.append(f"{service}: {order_id} versions {versions}")


async def _check_inboxes(all_consumers: Mapping[str, tuple[str, str, set[str]]],
                         topics: Mapping[str, Streams], pools: Mapping[str, asyncpg.Pool],
                         findings: Findings) -> None:
    for name, (service, topic, types) in all_consumers.items():
        if topic not in topics:
            continue
        handled = {str(e["event_id"]) for stream in topics[topic].values() for e in stream
                   if e["type"] in types}
        rows = await pools[service].fetch(
            "SELECT event_id::text FROM processed_events WHERE consumer = $1 "
            "AND event_id = ANY($2::uuid[])", name, sorted(handled))
        applied = {row[0] for row in rows}
        findings.applied += len(applied)
        findings.not_applied += [f"{name}: {e}" for e in sorted(handled - applied)]


async def _check_doubled_effects(service: str, pool: asyncpg.Pool, orders: set[str],
                                 findings: Findings) -> None:
    rows = await pool.fetch(
        "SELECT envelope->>'causation_id' AS cause, type, count(*) AS n FROM events "
        "WHERE order_id = ANY($1::text[]) AND envelope->>'causation_id' IS NOT NULL "
        "GROUP BY 1, 2 HAVING count(*) > 1", sorted(orders))
    findings.doubled_effects += [f"{service}: {r['type']} ×{r['n']} caused by {r['cause']}"
                                 for r in rows]


async def at_rest(settings: LogSettings, services: Sequence[Service],
                  pools: Mapping[str, asyncpg.Pool]) -> bool:
    """Every relay published everything and every consumer group committed the end of every
    topic it reads: the read models are at rest."""
    for pool in pools.values():
        if await pool.fetchval("SELECT count(*) FROM events WHERE published_at IS NULL"):
            return False
    return not any((await lag(settings, services)).values())


async def lag(settings: LogSettings, services: Sequence[Service]) -> dict[str, int]:
    """Records not yet committed by each consumer group, over every topic it reads."""
    groups: dict[str, set[str]] = {}
    for _, (service, topic, _) in consumers(services).items():
        groups.setdefault(consumer_group(service), set()).add(topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await consumer.start()
        try:
            return {group: sum(at.lag for at in await group_positions(
                admin, consumer, group, topics)) for group, topics in groups.items()}
        finally:
            await consumer.stop()
    finally:
        await admin.close()


async def check_rebuilds(services: Sequence[Service], pools: Mapping[str, asyncpg.Pool],
                         env: Mapping[str, str], findings: Findings) -> None:
    """Rebuild every read model from the log (the services' own ``rebuild`` command) and hold
    it against the live one, table by table."""
    for service in services:
        live = await snapshot(pools[service.name], service.read_model)
        result = subprocess.run([sys.executable, "-m", f"services.{service.name}.main",
                                 "rebuild"], env=dict(env), capture_output=True, text=True,
                                timeout=300, check=False)
        if result.returncode != 0:
            findings.read_models_differing.append(f"{service.name}: rebuild failed "
                                                  f"{result.stderr[-500:]}")
            continue
        rebuilt = await snapshot(pools[service.name], service.read_model)
        findings.read_models_differing += [
            f"{service.name}.{table.table}: {table.live_rows} rows live, "
            f"{table.rebuilt_rows} rebuilt" for table in compare(live, rebuilt) if not table.equal]
    findings.rebuild_checked = True


def summary_line(findings: Findings) -> str:
    """One line for logs."""
    return json.dumps(findings.as_dict()["counts"])
