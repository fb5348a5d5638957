"""Signed checkpoints of the log: ``python -m services.platform.checkpoints COMMAND``.

Periodically (``run``, every ``CHECKPOINT_INTERVAL_SECONDS``) and on demand (``create``), the
platform signs, for each topic of the log, the end offset of every partition and the cumulative
hash of its records so far (``services.platform.checkpoint_document``), and records it on the
``audit.checkpoints`` topic (and, with ``--out`` or ``CHECKPOINT_EXPORT_DIR``, as files for
auditors). Each checkpoint extends the topic's previous one, whose signature is verified first:
only the records since are read. ``verify`` holds the log against every checkpoint
(``services.platform.checkpoint_audit``), so that a deleted or rewritten tail, or a stream
rewritten with a consistent new chain, is found; ``verify-signature`` needs the public key alone.

Commands: ``keys``, ``create [--topic T] [--out DIR]``, ``list [--topic T] [--out DIR]``,
``verify [--topic T] [--dir DIR]``, ``verify-signature FILE… --public-key PEM``, ``run``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contracts.topics import all_topics
from services.platform.checkpoint_audit import Finding, audit_partitions, chain_of_checkpoints
from services.platform.checkpoint_document import (
    Checkpoint,
    InvalidCheckpointError,
    Mark,
    advance,
    digest,
    draft,
    generate_key_pair,
    key_id,
    load_private_key,
    load_public_key,
    sign,
    to_bytes,
    verify_signature,
)
from services.platform.clock_command import clock_for
from services.platform.kafka_io import Record, idempotent_producer, provision_topics, read_topic
from services.platform.settings import CheckpointSettings

if TYPE_CHECKING:
    from services.platform.agents import Periodic

__all__ = [
    "CheckpointError",
    "CheckpointReport",
    "Recorded",
    "create_checkpoints",
    "export",
    "hold_topic",
    "latest_checkpoints",
    "latest_verified",
    "main",
    "offsets_after",
    "periodic",
    "recorded",
    "run_periodically",
    "signing_key",
    "trusted_keys",
    "unattested",
    "verify_checkpoints",
]

log = logging.getLogger(__name__)
_LOCK = 7_231_014  # PostgreSQL advisory lock: one signer at a time, so sequences never fork
_TAIL_PER_TOPIC = 4  # records of the checkpoints topic read back per topic to find the latest
Bounds = dict[int, tuple[int, int]]  # partition → (first offset, end offset)


class CheckpointError(RuntimeError):
    """A checkpoint cannot be signed: the log or the last checkpoint no longer holds."""


@dataclass(frozen=True)
class Recorded:
    """A checkpoint document as found, and where (topic/partition@offset, or a file)."""

    document: dict[str, Any]
    source: str


# -- reading Kafka -------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def _consumer(bootstrap: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                isolation_level="read_committed", fetch_max_wait_ms=50,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def _bounds(consumer: AIOKafkaConsumer, topic: str) -> Bounds | None:
    """Each partition's (first offset, end offset) now; None when the topic does not exist."""
    # an unassigned consumer knows no partitions until its cluster metadata is refreshed
    await consumer._client.force_metadata_update()
    known = consumer.partitions_for_topic(topic)
    if not known:
        return None
    partitions = [TopicPartition(topic, p) for p in sorted(known)]
    begins = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    return {tp.partition: (begins[tp], ends[tp]) for tp in partitions}


async def _read(consumer: AIOKafkaConsumer, topic: str,
                ranges: Mapping[int, tuple[int, int]]) -> AsyncIterator[Record]:
    """The records of each partition from its start offset up to its stop offset (excluded),
    in offset order within each partition."""
    stops = {TopicPartition(topic, p): stop for p, (start, stop) in ranges.items() if start < stop}
    if not stops:
        return
    consumer.assign(list(stops))
    for tp in stops:
        consumer.seek(tp, ranges[tp.partition][0])
    while stops:
        batch = await consumer.getmany(*stops, timeout_ms=1000)
        for tp, messages in batch.items():
            for message in messages:
                if message.offset < stops[tp]:
                    yield Record(topic, tp.partition, message.offset, message.key,
                                 message.value, tuple(message.headers or ()))
        stops = {tp: stop for tp, stop in stops.items() if await consumer.position(tp) < stop}


async def recorded(settings: CheckpointSettings, tail: int | None = None) -> list[Recorded]:
    """The checkpoints on the checkpoints topic in the order recorded (only the last ``tail``
    with ``tail``); none when the topic does not exist."""
    found = []
    with contextlib.suppress(LookupError):
        async for record in read_topic(settings.kafka_bootstrap, settings.checkpoint_topic,
                                       tail=tail):
            found.append(Recorded(_document(record.value),
                                  f"{record.topic}/{record.partition}@{record.offset}"))
    return found


def _document(raw: bytes | None) -> dict[str, Any]:
    try:
        document = json.loads(raw or b"")
    except ValueError:
        return {}  # not JSON: reported as "not a checkpoint" by whoever verifies it
    return document if isinstance(document, dict) else {}


# -- keys ------------------------------------------------------------------------------------

def signing_key(settings: CheckpointSettings) -> Ed25519PrivateKey:
    """The private key checkpoints are signed with; a development pair is written first when
    there is none and ``CHECKPOINT_GENERATE_KEYS`` allows it. Refuses a private key that is not
    the pair of the configured public key: what it signed would not verify."""
    private, public = settings.checkpoint_private_key_file, settings.checkpoint_public_key_file
    if settings.checkpoint_generate_keys and not private.exists() and not public.exists():
        generate_key_pair(private, public)
        log.warning("checkpoints: wrote a new signing key pair in %s", private.parent)
    key = load_private_key(private)
    if key_id(key.public_key()) != key_id(load_public_key(public)):
        raise CheckpointError(f"{private} is not the private key of {public}")
    return key


def trusted_keys(settings: CheckpointSettings) -> dict[str, Ed25519PublicKey]:
    """The public keys checkpoints may be signed with, by key id (those that can be read)."""
    keys = {}
    for path in (settings.checkpoint_public_key_file,
                 *settings.checkpoint_retired_public_key_files):
        with contextlib.suppress(InvalidCheckpointError, ValueError):
            key = load_public_key(path)
            keys[key_id(key)] = key
    return keys


# -- creating --------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def _signer_lock(settings: CheckpointSettings) -> AsyncIterator[None]:
    """One signer at a time across processes (the periodic one and ``create``)."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK)
        yield
    finally:
        await conn.close()  # ending the session releases the lock


async def create_checkpoints(settings: CheckpointSettings, topics: Sequence[str] | None = None,
                             out: Path | None = None) -> list[dict[str, Any]]:
    """Sign a checkpoint of each topic (default: the whole log) that has new records since its
    latest checkpoint, record them on the checkpoints topic (and as files in ``out``), and
    return them. A topic that lost records its latest checkpoint attests gets none — nothing
    is signed over such a log — and, once the others are recorded, ``CheckpointError`` says
    which."""
    key = signing_key(settings)
    async with _signer_lock(settings):
        await provision_topics(settings.kafka_bootstrap, 1, settings.topic_replication,
                               [settings.checkpoint_topic])
        documents, refused = await _sign_all(settings, key, list(topics or all_topics()))
        await _publish(settings, documents)
    for document in documents:
        if out is not None:
            export(document, out)
    if refused:
        raise CheckpointError("; ".join(refused))
    return documents


async def _sign_all(settings: CheckpointSettings, key: Ed25519PrivateKey, topics: list[str]
                    ) -> tuple[list[dict[str, Any]], list[str]]:
    """The signed checkpoints of ``topics`` that have new records, and why others were
    refused."""
    latest = await latest_checkpoints(settings, topics, trusted_keys(settings))
    created_at = _utc_text(clock_for(settings).now())
    documents, refused = [], []
    for topic in topics:
        try:
            document = await _next_checkpoint(settings, topic, latest.get(topic), created_at)
        except CheckpointError as error:
            refused.append(str(error))
            continue
        if document is not None:
            documents.append(sign(document, key))
    return documents, refused


def _utc_text(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def latest_checkpoints(settings: CheckpointSettings, topics: Sequence[str],
                             keys: Mapping[str, Ed25519PublicKey]
                             ) -> dict[str, tuple[Checkpoint, str]]:
    """The latest checkpoint of each of ``topics`` that has one whose signature verifies, with
    its digest. A document that does not verify is skipped (``verify`` reports it): a forged
    record on the checkpoints topic must not stop the signing of new checkpoints."""
    found = latest_verified(await recorded(settings, _TAIL_PER_TOPIC * len(topics)), topics,
                             keys)
    if set(topics) - set(found):  # not among the last ones: read the whole record
        found = latest_verified(await recorded(settings), topics, keys)
    return found


def latest_verified(found: Sequence[Recorded], topics: Sequence[str],
                    keys: Mapping[str, Ed25519PublicKey]) -> dict[str, tuple[Checkpoint, str]]:
    """Of ``found`` (in the order recorded), the checkpoint of each of ``topics`` with the
    highest sequence whose signature verifies, with its digest: the latest recorded may be an
    older genuine checkpoint sent to the topic again, which anyone can do (extending it would
    fork the sequence, and ``verify`` would then report the signer's next checkpoint as a
    replacement)."""
    latest: dict[str, tuple[Checkpoint, str]] = {}
    for item in found:
        topic = str(item.document.get("topic"))
        if topic not in topics or (
                (_sequence(item.document) or 0) <= _sequence_of(latest.get(topic))):
            continue
        try:
            latest[topic] = (verify_signature(item.document, keys), digest(item.document))
        except InvalidCheckpointError as error:
            log.warning("checkpoints: %s does not verify (%s); skipped", item.source, error)
    return latest


def _sequence_of(checkpoint: tuple[Checkpoint, str] | None) -> int:
    return 0 if checkpoint is None else checkpoint[0].sequence


async def _next_checkpoint(settings: CheckpointSettings, topic: str,
                           previous: tuple[Checkpoint, str] | None,
                           created_at: str) -> dict[str, Any] | None:
    """The unsigned checkpoint of ``topic`` extending ``previous`` with the records since
    (None when there are none, also when the topic is not created yet: a stack starting up)."""
    async with _consumer(settings.kafka_bootstrap) as consumer:
        bounds = await _bounds(consumer, topic)
        if bounds is None and previous is None:
            return None
        if bounds is None:
            raise CheckpointError(f"topic {topic} does not exist (it had a checkpoint)")
        marks = _starting_marks(topic, previous[0] if previous else None, bounds)
        ranges = {p: (mark.end_offset, bounds[p][1]) for p, mark in marks.items()}
        async for record in _read(consumer, topic, ranges):
            marks[record.partition] = advance(marks[record.partition], [record])
    if previous and tuple(marks.values()) == previous[0].partitions:
        return None  # nothing new: the previous checkpoint still says it all
    return draft(topic, marks.values(), created_at, previous)


def _starting_marks(topic: str, previous: Checkpoint | None, bounds: Bounds) -> dict[int, Mark]:
    """Where each partition's chain resumes; raises ``CheckpointError`` when records the
    previous checkpoint attests, or records after them, are gone."""
    lost = [m.partition for m in (previous.partitions if previous else ())
            if m.partition not in bounds]
    if lost:
        raise CheckpointError(f"{topic}: partitions {lost} of the last checkpoint are gone")
    marks = {}
    for partition, (begin, end) in sorted(bounds.items()):
        mark = (previous.mark(partition) if previous else None) or Mark(partition=partition)
        if end < mark.end_offset or begin > mark.end_offset:
            raise CheckpointError(
                f"{topic}[{partition}] now holds offsets {begin}…{end}, the last checkpoint "
                f"ended at {mark.end_offset}: records were deleted; run verify")
        marks[partition] = mark
    return marks


async def _publish(settings: CheckpointSettings, documents: Sequence[dict[str, Any]]) -> None:
    if not documents:
        return
    producer = idempotent_producer(settings.kafka_bootstrap)
    await producer.start()
    try:
        for document in documents:  # in order: a topic's checkpoints are on one partition
            await producer.send_and_wait(settings.checkpoint_topic, to_bytes(document),
                                         key=str(document["topic"]).encode())
    finally:
        await producer.stop()


def export(document: Mapping[str, Any], directory: Path) -> Path:
    """Write a checkpoint as a file for auditors (its canonical JSON); return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{document['topic']}.{int(document['sequence']):08d}.json"
    path.write_bytes(to_bytes(document))
    return path


# -- verifying -------------------------------------------------------------------------------

@dataclass
class CheckpointReport:
    """What holding the log against its checkpoints found."""

    checkpoints: int = 0
    topics: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the report."""
        return {"ok": self.ok, "checkpoints": self.checkpoints, "topics": self.topics,
                "findings": [vars(finding) for finding in self.findings]}


async def verify_checkpoints(settings: CheckpointSettings, topics: Sequence[str] | None = None,
                             directory: Path | None = None) -> CheckpointReport:
    """Hold the log against every checkpoint recorded (and every one filed in ``directory``) of
    ``topics`` (default: all): signatures, the sequence of each topic's checkpoints, and every
    partition's records; the findings are in the report, with each topic's offsets that no
    checkpoint attests yet (those written since its latest one; all of a topic that has none:
    not yet checkpointed, or its checkpoints were removed and no files were given)."""
    report = CheckpointReport()
    on_topic = await recorded(settings)
    filed = _filed(directory) if directory else []
    authentic = _authentic([*on_topic, *filed], trusted_keys(settings), settings, report)
    report.findings += _filed_but_not_recorded(on_topic, filed)
    for topic, signed in sorted(authentic.items()):
        if topics is None or topic in topics:
            report.checkpoints += len(signed)
            report.topics[topic] = _summary(signed)
            report.findings += chain_of_checkpoints(topic, signed)
            report.findings += await hold_topic(settings.kafka_bootstrap, topic,
                                                [checkpoint for checkpoint, _ in signed])
    async with _consumer(settings.kafka_bootstrap) as consumer:
        for topic in topics if topics is not None else sorted({*all_topics(), *authentic}):
            # a topic no checkpoint covers would otherwise not be in the report at all
            report.topics.setdefault(topic, {"checkpoints": 0})["offsets_unattested"] = (
                await unattested(consumer, topic, authentic.get(topic, [])))
    return report


async def unattested(consumer: AIOKafkaConsumer, topic: str,
                     signed: Sequence[tuple[Checkpoint, str]]) -> int:
    """How many of ``topic``'s offsets no checkpoint attests yet (0 when it does not exist)."""
    bounds = await _bounds(consumer, topic) or {}
    latest = max((checkpoint for checkpoint, _ in signed), key=lambda c: c.sequence,
                 default=None)
    return offsets_after(bounds, latest)


def offsets_after(bounds: Bounds, latest: Checkpoint | None) -> int:
    """The offsets of a topic (each partition's first and end offsets) after the marks of its
    ``latest`` checkpoint: every offset of a topic never checkpointed (of a partition that
    now begins past its mark, those it holds)."""
    marked = {mark.partition: mark.end_offset for mark in latest.partitions} if latest else {}
    return sum(max(0, end - max(begin, marked.get(partition, begin)))
               for partition, (begin, end) in bounds.items())


def _filed(directory: Path) -> list[Recorded]:
    return [Recorded(_document(path.read_bytes()), str(path))
            for path in sorted(directory.glob("*.json"))]


def _authentic(found: Iterable[Recorded], keys: Mapping[str, Ed25519PublicKey],
               settings: CheckpointSettings, report: CheckpointReport
               ) -> dict[str, list[tuple[Checkpoint, str]]]:
    """The checkpoints whose signature verifies, by topic, each once; a finding for every
    other document."""
    by_topic: dict[str, list[tuple[Checkpoint, str]]] = defaultdict(list)
    seen: set[str] = set()
    for item in found:
        its_digest = digest(item.document) if item.document else item.source
        if its_digest in seen:
            continue
        seen.add(its_digest)
        try:
            checkpoint = _checked(item, keys, settings)
            by_topic[checkpoint.topic].append((checkpoint, its_digest))
        except InvalidCheckpointError as error:
            report.findings.append(Finding(str(item.document.get("topic", "?")), None,
                                           _sequence(item.document),
                                           f"{item.source}: {error}"))
    return by_topic


def _checked(item: Recorded, keys: Mapping[str, Ed25519PublicKey],
             settings: CheckpointSettings) -> Checkpoint:
    if not keys:
        raise InvalidCheckpointError(
            f"no public key at {settings.checkpoint_public_key_file} to verify it with")
    return verify_signature(item.document, keys)


def _sequence(document: Mapping[str, Any]) -> int | None:
    value = document.get("sequence")
    return value if isinstance(value, int) else None


def _filed_but_not_recorded(on_topic: Sequence[Recorded],
                            filed: Sequence[Recorded]) -> list[Finding]:
    recorded_digests = {digest(r.document) for r in on_topic if r.document}
    return [Finding(str(f.document.get("topic", "?")), None, _sequence(f.document),
                    f"{f.source} is not on the checkpoints topic: it was removed from it")
            for f in filed if f.document and digest(f.document) not in recorded_digests]


def _summary(signed: Sequence[tuple[Checkpoint, str]]) -> dict[str, Any]:
    latest = max((checkpoint for checkpoint, _ in signed), key=lambda c: c.sequence)
    return {"checkpoints": len(signed), "latest_sequence": latest.sequence,
            "latest_created_at": latest.created_at,
            "records_attested": sum(mark.records for mark in latest.partitions)}


async def hold_topic(bootstrap: str, topic: str,
                     checkpoints: Sequence[Checkpoint]) -> list[Finding]:
    """Read ``topic`` once, from each partition's first record up to the furthest checkpoint,
    and hold it against every one of ``checkpoints`` (all of that topic)."""
    audits = audit_partitions(topic, checkpoints)
    async with _consumer(bootstrap) as consumer:
        bounds = await _bounds(consumer, topic) or {}
        ranges = {p: (bounds[p][0], min(bounds[p][1], audit.end_needed))
                  for p, audit in audits.items() if p in bounds}
        async for record in _read(consumer, topic, ranges):
            audits[record.partition].feed(record)
    return [finding for partition, audit in sorted(audits.items())
            for finding in audit.finish(bounds[partition][1] if partition in bounds else None)]


# -- periodically ----------------------------------------------------------------------------

async def run_periodically(settings: CheckpointSettings) -> None:
    """Sign checkpoints every ``checkpoint_interval_seconds`` until cancelled; a pass that
    fails is logged and tried again at the next one."""
    while True:
        try:
            documents = await create_checkpoints(settings, out=settings.checkpoint_export_dir)
            log.info("checkpoints: signed %s", [(d["topic"], d["sequence"]) for d in documents])
        except Exception:  # a pass must not end the process: the next one tries again
            log.exception("checkpoints: this pass failed; next in %.0fs",
                          settings.checkpoint_interval_seconds)
        await asyncio.sleep(settings.checkpoint_interval_seconds)


def periodic(settings: CheckpointSettings) -> Periodic:
    """The same work as a worker's timed work, for a service that would rather run it in its
    worker (the pool is not used: the signer lock is on ``DATABASE_URL``'s server)."""
    from services.platform.agents import Periodic  # faust: only for whoever wants a Periodic

    async def run(_pool: asyncpg.Pool) -> object:
        return await create_checkpoints(settings, out=settings.checkpoint_export_dir)

    return Periodic("checkpoints", settings.checkpoint_interval_seconds, run)


# -- command line ----------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m services.platform.checkpoints",
                                     description="Signed checkpoints of the log.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("keys", help="write a checkpoint key pair if there is none")
    create = commands.add_parser("create", help="sign a checkpoint of each topic now")
    listing = commands.add_parser("list", help="the recorded checkpoints, one JSON line each")
    verify = commands.add_parser("verify", help="hold the log against every checkpoint")
    for command in (create, listing, verify):
        command.add_argument("--topic", action="append", help="only these topics")
    for command in (create, listing):
        command.add_argument("--out", type=Path, help="also write the checkpoints here")
    verify.add_argument("--dir", type=Path, help="also hold the checkpoints filed here")
    check = commands.add_parser("verify-signature", help="check checkpoint files' signatures "
                                "with a public key alone")
    check.add_argument("files", nargs="+", type=Path)
    check.add_argument("--public-key", type=Path, required=True, help="PEM (Ed25519)")
    commands.add_parser("run", help="sign checkpoints every CHECKPOINT_INTERVAL_SECONDS")
    return parser


def verify_files(files: Sequence[Path], public_key: Path) -> list[tuple[Path, str]]:
    """Each file and what its signature check says (``ok …`` or the reason it failed)."""
    keys = {key_id(key): key for key in [load_public_key(public_key)]}
    results = []
    for path in files:
        try:
            checkpoint = verify_signature(_document(path.read_bytes()), keys)
            results.append((path, f"ok: {checkpoint.topic} #{checkpoint.sequence} of "
                                  f"{checkpoint.created_at}, signed by {checkpoint.key_id}"))
        except (InvalidCheckpointError, OSError) as error:
            results.append((path, f"FAILED: {error}"))
    return results


def _listing(found: Sequence[Recorded], keys: Mapping[str, Ed25519PublicKey],
             topics: Sequence[str] | None, out: Path | None) -> list[dict[str, Any]]:
    rows = []
    for item in found:
        document = item.document
        if topics and document.get("topic") not in topics:
            continue
        try:
            verify_signature(document, keys)
            signature = "ok"
        except InvalidCheckpointError as error:
            signature = str(error)
        rows.append({"source": item.source, "topic": document.get("topic"),
                     "sequence": document.get("sequence"),
                     "created_at": document.get("created_at"),
                     "partitions": document.get("partitions"), "signature": signature})
        if out and signature == "ok":
            export(document, out)
    return rows


async def _command(args: argparse.Namespace, settings: CheckpointSettings) -> int:
    if args.command == "create":
        documents = await create_checkpoints(settings, args.topic, args.out)
        print(json.dumps([{k: d[k] for k in ("topic", "sequence", "created_at", "partitions")}
                          for d in documents], indent=2))
    elif args.command == "list":
        for row in _listing(await recorded(settings), trusted_keys(settings), args.topic,
                            args.out):
            print(json.dumps(row))
    elif args.command == "verify":
        report = await verify_checkpoints(settings, args.topic, args.dir)
        print(json.dumps(report.as_dict(), indent=2))
        return 0 if report.ok else 1
    else:
        await run_periodically(settings)
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = _parser().parse_args(argv)
    if args.command == "verify-signature":
        results = verify_files(args.files, args.public_key)
        for path, outcome in results:
            print(f"{path}: {outcome}")
        sys.exit(0 if all(o.startswith("ok") for _, o in results) else 1)
    settings = CheckpointSettings()
    if args.command == "keys":
        signing_key(settings.model_copy(update={"checkpoint_generate_keys": True}))
        print(f"private key {settings.checkpoint_private_key_file}\n"
              f"public key {settings.checkpoint_public_key_file}")
        return
    if args.command == "run":
        from services.platform.logs import configure_logging
        configure_logging()
    try:
        sys.exit(asyncio.run(_command(args, settings)))
    except KeyboardInterrupt:
        sys.exit(0)
    except CheckpointError as error:
        print(f"checkpoints: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
