"""Signed checkpoints on the real stack: made on demand and periodically over the services'
topics, verified by ``verify`` and with the public key alone; a stream rewritten with a
consistent new chain, and a deleted tail, found on a scratch topic rewritten the way an attacker
would (deleted and created again).

The services' own topics are only ever read and checkpointed here, never tampered with: the
other tests of the session run ``verify``, which holds those topics against every checkpoint.
Tampering happens on scratch topics, checkpointed on a scratch checkpoints topic with a scratch
key pair.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from contracts.hashing import envelope_hash, verify_chain
from contracts.topics import events_topic
from deploy.system import bearer
from services.platform.checkpoints import (
    CheckpointError,
    create_checkpoints,
    recorded,
    verify_checkpoints,
)
from services.platform.kafka_io import Record, partition_for, provision_topics, read_topic
from services.platform.settings import CheckpointSettings
from tests.integration.conftest import System
from tests.support.orders import order_body
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
SCRATCH_PARTITIONS = 2


def settings_of(system: System, **overrides: Any) -> CheckpointSettings:
    """The checkpoint settings the stack's processes have (their environment), with
    ``overrides``."""
    env = system["orders-api"].env
    fields = {name: env[name.upper()] for name in CheckpointSettings.model_fields
              if name.upper() in env}
    return CheckpointSettings(**{**fields, **overrides})


def command(system: System, *args: str) -> tuple[int, str]:
    """``python -m services.platform.checkpoints ARGS`` with the stack's environment: its exit
    code, and its output (with its errors when it failed)."""
    result = subprocess.run(
        [sys.executable, "-m", "services.platform.checkpoints", *args],
        env={**system["orders-api"].env, "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False)
    return result.returncode, result.stdout + (result.stderr if result.returncode else "")


def run_verify(system: System, *args: str) -> tuple[int, dict[str, Any]]:
    result = subprocess.run([sys.executable, "-m", "services.platform.verify", *args],
                            env={**system["orders-api"].env, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=180, check=False)
    return result.returncode, json.loads(result.stdout)


async def place(http: httpx.AsyncClient, system: System) -> str:
    response = await http.post(f"{system.orders_url}/orders", json=order_body())
    assert response.status_code == 201, response.text
    return str(response.json()["order_id"])


async def records_of(bootstrap: str, topic: str, order_ids: set[str]) -> list[Record]:
    """The records of ``order_ids`` on ``topic``, in topic order."""
    return [record async for record in read_topic(bootstrap, topic)
            if (record.key or b"").decode() in order_ids]


async def on_topic(bootstrap: str, order_id: str, count: int) -> list[Record]:
    found = await records_of(bootstrap, events_topic("orders"), {order_id})
    return found if len(found) >= count else []


async def published(system: System, order_ids: list[str]) -> None:
    """Wait until each order's first event is on the orders topic."""
    for order_id in order_ids:
        await eventually(lambda order_id=order_id: on_topic(  # type: ignore[misc]
            system.infra.kafka_bootstrap, order_id, 1), what=f"{order_id} published")


# -- on the services' topics -------------------------------------------------------------------

async def test_a_checkpoint_made_on_demand_verifies_with_verify_and_with_the_public_key_alone(
        http: httpx.AsyncClient, system: System, tmp_path: Path) -> None:
    orders = [await place(http, system) for _ in range(3)]
    await published(system, orders)

    code, output = command(system, "create", "--out", str(tmp_path))
    assert code == 0, output
    created = {c["topic"]: c for c in json.loads(output)}
    assert sum(m["records"] for m in created["orders.events"]["partitions"]) >= 3

    public = settings_of(system).checkpoint_public_key_file
    filed = tmp_path / f"orders.events.{created['orders.events']['sequence']:08d}.json"
    code, output = command(system, "verify-signature", str(filed), "--public-key", str(public))
    assert code == 0 and "ok: orders.events" in output, output
    forged = tmp_path / "forged" / filed.name
    forged.parent.mkdir()
    forged.write_text(filed.read_text().replace('"records":', '"records":1', 1))
    code, output = command(system, "verify-signature", str(forged), "--public-key", str(public))
    assert code == 1 and "FAILED" in output, output

    code, report = run_verify(system, "--order", orders[0], "--checkpoint-dir", str(tmp_path))
    assert code == 0, report
    assert report["checkpoints"]["ok"] and report["checkpoints"]["findings"] == []
    attested = report["checkpoints"]["topics"]["orders.events"]
    assert attested["latest_sequence"] == created["orders.events"]["sequence"]
    assert attested["records_attested"] >= 3

    code, output = command(system, "list", "--topic", "orders.events")
    assert code == 0, output
    listed = [json.loads(line) for line in output.splitlines()]
    assert listed and {row["signature"] for row in listed} == {"ok"}


async def test_the_checkpointer_signs_what_was_added_since_its_last_checkpoint(
        http: httpx.AsyncClient, system: System, tmp_path: Path) -> None:
    settings = settings_of(system)
    await create_checkpoints(settings)  # so that the checkpointer has one to extend
    log = (tmp_path / "checkpointer.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.platform.checkpoints", "run"],
        env={**os.environ, **system["orders-api"].env, "CHECKPOINT_INTERVAL_SECONDS": "1"},
        stdout=log, stderr=subprocess.STDOUT)
    try:
        order_id = await place(http, system)
        [placed] = await eventually(lambda: on_topic(system.infra.kafka_bootstrap, order_id, 1))
        attesting = await eventually(lambda: _attesting(settings, placed), timeout=60,
                                     interval=0.5, what="a checkpoint covering the new order")
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    assert attesting and attesting["sequence"] > 1, "extends the earlier checkpoints"
    report = await verify_checkpoints(settings, ["orders.events"])
    assert report.ok, report.as_dict()


async def _attesting(settings: CheckpointSettings, placed: Record) -> dict[str, Any] | None:
    """The first checkpoint of ``placed``'s topic whose mark covers it."""
    for item in await recorded(settings):
        document = item.document
        marks = {m["partition"]: m["end_offset"] for m in document.get("partitions", [])}
        if document.get("topic") == placed.topic and marks.get(placed.partition, 0) > \
                placed.offset:
            return document
    return None


# -- on a scratch topic, rewritten -------------------------------------------------------------

@dataclass
class Scratch:
    """A scratch topic, its own checkpoints topic and key pair, and the stack's Kafka."""

    settings: CheckpointSettings
    topic: str

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka_bootstrap


@pytest_asyncio.fixture(loop_scope="session")
async def scratch(system: System, tmp_path: Path) -> AsyncIterator[Scratch]:
    name = f"scratch.checkpoints.{uuid.uuid4().hex[:8]}"
    settings = settings_of(system, checkpoint_topic=f"{name}.proofs",
                           checkpoint_private_key_file=tmp_path / "private.pem",
                           checkpoint_public_key_file=tmp_path / "public.pem",
                           checkpoint_generate_keys=True)
    found = Scratch(settings, f"{name}.events")
    await provision_topics(found.bootstrap, SCRATCH_PARTITIONS, 1, [found.topic])
    try:
        yield found
    finally:
        await _delete(found.bootstrap, [found.topic, settings.checkpoint_topic])


async def copy_of_real_orders(http: httpx.AsyncClient, system: System
                              ) -> tuple[list[Record], str]:
    """Real records of a few orders in topic order, and the one that was blocked (its stream
    has two events)."""
    orders = [await place(http, system) for _ in range(3)]
    blocked = await http.post(f"{system.orders_url}/orders/{orders[0]}/block",
                              headers=bearer("ops"), json={"reason": "incorrect_address"})
    assert blocked.status_code == 200, blocked.text
    bootstrap = system.infra.kafka_bootstrap
    await eventually(lambda: on_topic(bootstrap, orders[0], 2))
    await published(system, orders[1:])
    return await records_of(bootstrap, events_topic("orders"), set(orders)), orders[0]


async def write(bootstrap: str, topic: str, records: list[Record]) -> None:
    """Produce ``records`` (key, value, headers) in order, each on its key's partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=list(record.headers),
                partition=partition_for((record.key or b"").decode(), SCRATCH_PARTITIONS))
    finally:
        await producer.stop()


def rewritten_stream(records: list[Record], order_id: str) -> list[Record]:
    """``records`` with ``order_id``'s stream rewritten: its amount changed and every hash
    recomputed, so that the stream's own chain verifies."""
    envelopes = [json.loads(r.value or b"") for r in records if r.key == order_id.encode()]
    envelopes[0]["payload"]["total_cents"] = 1
    prev = envelopes[0]["prev_hash"]
    for envelope in envelopes:
        envelope["prev_hash"] = prev
        envelope["hash"] = prev = envelope_hash(envelope)
    assert verify_chain(envelopes) == len(envelopes)  # consistent: the chains alone see nothing
    forged = iter(envelopes)
    return [Record(r.topic, r.partition, r.offset, r.key, json.dumps(next(forged)).encode(),
                   r.headers) if r.key == order_id.encode() else r for r in records]


async def test_a_stream_rewritten_with_a_consistent_new_chain_is_found(
        http: httpx.AsyncClient, system: System, scratch: Scratch) -> None:
    honest, victim = await copy_of_real_orders(http, system)
    await write(scratch.bootstrap, scratch.topic, honest[:2])
    assert len(await create_checkpoints(scratch.settings, [scratch.topic])) == 1
    await write(scratch.bootstrap, scratch.topic, honest[2:])
    [second] = await create_checkpoints(scratch.settings, [scratch.topic])  # incremental
    assert second["sequence"] == 2
    assert (await verify_checkpoints(scratch.settings, [scratch.topic])).findings == []

    await _recreate(scratch.bootstrap, scratch.topic)
    await write(scratch.bootstrap, scratch.topic, rewritten_stream(honest, victim))

    report = await verify_checkpoints(scratch.settings, [scratch.topic])
    victim_partition = partition_for(victim, SCRATCH_PARTITIONS)
    assert report.findings, "the rewritten stream must be found"
    assert {(f.partition, f.sequence) for f in report.findings} <= {
        (victim_partition, 1), (victim_partition, 2)}
    assert all("rewritten" in f.problem for f in report.findings)


async def test_a_deleted_tail_is_found_and_not_signed_over(
        http: httpx.AsyncClient, system: System, scratch: Scratch) -> None:
    honest, _ = await copy_of_real_orders(http, system)
    await write(scratch.bootstrap, scratch.topic, honest)
    await create_checkpoints(scratch.settings, [scratch.topic])
    assert (await verify_checkpoints(scratch.settings, [scratch.topic])).ok

    last = honest[-1]
    shortened = [r for r in honest if r is not last]
    await _recreate(scratch.bootstrap, scratch.topic)
    await write(scratch.bootstrap, scratch.topic, shortened)

    report = await verify_checkpoints(scratch.settings, [scratch.topic])
    [finding] = report.findings
    assert finding.partition == partition_for((last.key or b"").decode(), SCRATCH_PARTITIONS)
    assert "its tail was deleted" in finding.problem
    with pytest.raises(CheckpointError, match="records were deleted"):
        await create_checkpoints(scratch.settings, [scratch.topic])


async def test_the_offsets_no_checkpoint_attests_are_reported_for_each_topic(
        http: httpx.AsyncClient, system: System, scratch: Scratch) -> None:
    honest, _ = await copy_of_real_orders(http, system)
    await write(scratch.bootstrap, scratch.topic, honest[:2])

    never_checkpointed = await verify_checkpoints(scratch.settings, [scratch.topic])
    assert never_checkpointed.topics[scratch.topic] == {"checkpoints": 0,
                                                        "offsets_unattested": 2}

    await create_checkpoints(scratch.settings, [scratch.topic])
    await write(scratch.bootstrap, scratch.topic, honest[2:])
    report = await verify_checkpoints(scratch.settings, [scratch.topic])
    assert report.ok
    assert report.topics[scratch.topic]["checkpoints"] == 1
    assert report.topics[scratch.topic]["offsets_unattested"] == len(honest) - 2


async def test_a_topic_not_created_yet_is_nothing_to_sign_but_a_checkpointed_one_gone_is_refused(
        http: httpx.AsyncClient, system: System, scratch: Scratch) -> None:
    not_yet = f"{scratch.topic}.later"  # a stack starting up: its topics come with its APIs
    assert await create_checkpoints(scratch.settings, [not_yet]) == []

    honest, _ = await copy_of_real_orders(http, system)
    await write(scratch.bootstrap, scratch.topic, honest)
    [signed] = await create_checkpoints(scratch.settings, [scratch.topic])
    assert signed["topic"] == scratch.topic
    await _delete(scratch.bootstrap, [scratch.topic])
    with pytest.raises(CheckpointError, match=r"does not exist \(it had a checkpoint\)"):
        await create_checkpoints(scratch.settings, [scratch.topic])


# -- scratch topics ------------------------------------------------------------------------------

async def _recreate(bootstrap: str, topic: str) -> None:
    """Delete ``topic`` and create it again, empty (what rewriting a Kafka topic takes)."""
    await _delete(bootstrap, [topic])
    await eventually(lambda: _created(bootstrap, topic), what=f"{topic} created again")


async def _delete(bootstrap: str, topics: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        await admin.delete_topics([topic for topic in topics if topic in existing])
        await eventually(lambda: _gone(admin, topics), what="topics deleted")
    finally:
        await admin.close()


async def _gone(admin: AIOKafkaAdminClient, topics: list[str]) -> bool:
    return not set(topics) & set(await admin.list_topics())


async def _created(bootstrap: str, topic: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, SCRATCH_PARTITIONS, 1)])
        return True
    except KafkaError:  # the deletion is still being completed
        return False
    finally:
        await admin.close()
