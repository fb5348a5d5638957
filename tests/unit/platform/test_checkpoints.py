"""Signed checkpoints, the pure parts: the cumulative hash, signatures checked with the public key
alone, and tampering found on records held in memory (no Kafka here)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from contracts.hashing import GENESIS_HASH, envelope_hash, verify_chain
from services.platform.checkpoint_audit import Finding, audit_partitions, chain_of_checkpoints
from services.platform.checkpoint_document import (
    Checkpoint,
    InvalidCheckpointError,
    Mark,
    advance,
    digest,
    draft,
    extend,
    generate_key_pair,
    key_id,
    load_private_key,
    load_public_key,
    record_leaf,
    sign,
    to_bytes,
    verify_signature,
)
from services.platform.checkpoints import (
    Recorded,
    latest_verified,
    main,
    offsets_after,
    verify_files,
)
from services.platform.kafka_io import Record

Records = list[Record]  # one partition's, in offset order


def stream(order_id: str, amounts: Sequence[int]) -> list[dict[str, Any]]:
    """One order's events, chained as the services chain them."""
    envelopes, prev = [], GENESIS_HASH
    for version, amount in enumerate(amounts, start=1):
        unsealed = {"event_id": f"{order_id}-{version}", "type": "Noted", "order_id": order_id,
                    "version": version, "payload": {"amount_cents": amount}, "prev_hash": prev}
        prev = envelope_hash(unsealed)
        envelopes.append({**unsealed, "hash": prev})
    return envelopes


def record(offset: int, value: bytes | None, key: bytes | None = None,
           headers: tuple[tuple[str, bytes], ...] = ()) -> Record:
    return Record("t", 0, offset, key, value, headers)


def as_records(envelopes: Sequence[dict[str, Any]], first: int = 0) -> Records:
    return [record(first + i, json.dumps(e).encode(), e["order_id"].encode(),
                   (("producer", b"orders"),)) for i, e in enumerate(envelopes)]


def honest_partition() -> Records:
    """Two orders interleaved on one partition, then a dead letter that is not an event."""
    a, b = stream("order-a", [100, 200, 300]), stream("order-b", [10, 20, 30, 40])
    return [*as_records([a[0], b[0], a[1], b[1], b[2], a[2], b[3]]), record(7, b"\x00poison")]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    generate_key_pair(private, public)
    return private, public


def checkpoints_of(records: Records, ends: Sequence[int], private: Path) -> list[Checkpoint]:
    """Signed checkpoints of partition 0 of ``t`` after the records below each of ``ends``."""
    key = load_private_key(private)
    signed, previous, mark = [], None, Mark(partition=0)
    for end in ends:
        mark = advance(mark, [r for r in records if mark.end_offset <= r.offset < end])
        document = sign(draft("t", [mark], "2026-05-11T08:00:00Z", previous), key)
        previous = (verify_signature(document, {document["key_id"]: key.public_key()}),
                    digest(document))
        signed.append(previous[0])
    return signed


def held(records: Records, checkpoints: Sequence[Checkpoint], end: int | None = None
         ) -> list[Finding]:
    """Replay ``records`` against ``checkpoints`` as ``verify`` does."""
    [audit] = audit_partitions("t", checkpoints).values()
    for each in records:
        if each.offset < audit.end_needed:
            audit.feed(each)
    return audit.finish(end if end is not None else (records[-1].offset + 1 if records else 0))


# -- the cumulative hash ---------------------------------------------------------------------

def test_the_cumulative_hash_is_sha256_of_the_previous_hash_and_the_leaf() -> None:
    leaf = hashlib.sha256(b"x").hexdigest()
    assert extend(GENESIS_HASH, leaf) == hashlib.sha256(
        bytes(32) + hashlib.sha256(b"x").digest()).hexdigest()


def test_a_leaf_is_sha256_over_the_framed_key_value_and_headers() -> None:
    framed = (b"\x00\x00\x00\x01k" + b"\x00\x00\x00\x02{}" + b"\x00\x00\x00\x01"
              + b"\x00\x00\x00\x01h" + b"\xff\xff\xff\xff")
    assert record_leaf(record(0, b"{}", b"k", (("h", None),))) == hashlib.sha256(  # type: ignore[arg-type]
        framed).hexdigest()


def test_any_change_to_a_record_changes_its_leaf() -> None:
    [event] = stream("order-a", [100])
    altered = {**event, "payload": {"amount_cents": 1}}  # content changed, hash field kept
    rehashed = {**altered, "hash": envelope_hash(altered)}  # … and the hash redone
    raw = json.dumps(event).encode()
    variants = [record(0, raw, b"order-a"), record(0, json.dumps(altered).encode(), b"order-a"),
                record(0, json.dumps(rehashed).encode(), b"order-a"),
                record(0, json.dumps(event, indent=2).encode(), b"order-a"),
                record(0, raw, b"order-b"), record(0, raw, None),
                record(0, raw, b"order-a", (("producer", b"orders"),)),
                record(0, None, b"order-a"), record(0, b"", b"order-a")]
    assert len({record_leaf(variant) for variant in variants}) == len(variants)


def test_advancing_a_mark_in_steps_gives_the_mark_of_all_records_at_once() -> None:
    records = honest_partition()
    stepwise = advance(advance(Mark(partition=0), records[:3]), records[3:])
    assert stepwise == advance(Mark(partition=0), records)
    assert (stepwise.end_offset, stepwise.records) == (8, 8)
    with pytest.raises(ValueError, match="below the mark"):
        advance(stepwise, records[-1:])


# -- signatures, with the public key alone ---------------------------------------------------

def test_a_checkpoint_file_verifies_with_the_public_key_alone(
        keys: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    private, public = keys
    [checkpoint] = checkpoints_of(honest_partition(), [8], private)
    path = tmp_path / "t.00000001.json"
    path.write_bytes(to_bytes(checkpoint.model_dump()))

    assert verify_files([path], public)[0][1].startswith("ok: t #1")
    with pytest.raises(SystemExit) as exit_:
        main(["verify-signature", str(path), "--public-key", str(public)])
    assert exit_.value.code == 0
    assert "ok: t #1" in capsys.readouterr().out


def test_a_re_serialised_checkpoint_still_verifies(keys: tuple[Path, Path]) -> None:
    private, public = keys
    [checkpoint] = checkpoints_of(honest_partition(), [8], private)
    document = json.loads(json.dumps(checkpoint.model_dump(), indent=4, sort_keys=False))
    trusted = {checkpoint.key_id: load_public_key(public)}
    assert verify_signature(document, trusted) == checkpoint


@pytest.mark.parametrize("change", [
    {"sequence": 2},
    {"created_at": "2026-05-12T08:00:00Z"},
    {"partitions": [{"partition": 0, "end_offset": 7, "records": 7, "chain": GENESIS_HASH}]},
])
def test_a_changed_checkpoint_does_not_verify(keys: tuple[Path, Path], tmp_path: Path,
                                              change: dict[str, Any]) -> None:
    private, public = keys
    [checkpoint] = checkpoints_of(honest_partition(), [8], private)
    path = tmp_path / "forged.json"
    path.write_bytes(to_bytes({**checkpoint.model_dump(), **change}))
    assert verify_files([path], public)[0][1] == "FAILED: the signature does not verify"
    with pytest.raises(SystemExit) as exit_:
        main(["verify-signature", str(path), "--public-key", str(public)])
    assert exit_.value.code == 1


def test_a_checkpoint_signed_with_another_key_is_refused(keys: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    generate_key_pair(tmp_path / "forger.pem", tmp_path / "forger.pub.pem")
    [forged] = checkpoints_of(honest_partition(), [8], tmp_path / "forger.pem")
    mine = load_public_key(keys[1])
    with pytest.raises(InvalidCheckpointError, match="unknown key"):
        verify_signature(forged.model_dump(), {key_id(mine): mine})
    # nor does naming my key id help a forger: the signature is checked with my key
    with pytest.raises(InvalidCheckpointError, match="does not verify"):
        verify_signature(forged.model_dump(), {forged.key_id: mine})


def test_the_private_key_is_readable_by_its_owner_only(keys: tuple[Path, Path]) -> None:
    assert keys[0].stat().st_mode & 0o077 == 0


# -- tampering, on records in memory ---------------------------------------------------------

def test_an_honest_log_matches_every_checkpoint_and_may_grow(keys: tuple[Path, Path]) -> None:
    records = honest_partition()
    checkpoints = checkpoints_of(records, [0, 3, 8], keys[0])
    grown = [*records, *as_records(stream("order-c", [5]), first=8)]
    assert held(records, checkpoints) == []
    assert held(grown, checkpoints) == []


def test_a_deleted_tail_is_found(keys: tuple[Path, Path]) -> None:
    records = honest_partition()
    first, second = checkpoints_of(records, [3, 8], keys[0])
    findings = held(records[:6], [first, second])
    assert [(f.sequence, "ends at offset 6" in f.problem) for f in findings] == [(2, True)]


def test_a_deleted_tail_written_again_differently_is_found(keys: tuple[Path, Path]) -> None:
    records = honest_partition()
    first, second = checkpoints_of(records, [3, 8], keys[0])
    rewritten = [*records[:7], record(7, b"\x00another poison")]
    findings = held(rewritten, [first, second])
    assert [(f.sequence, "rewritten" in f.problem) for f in findings] == [(2, True)]


def test_a_stream_rewritten_with_a_consistent_new_chain_is_found(
        keys: tuple[Path, Path]) -> None:
    records = honest_partition()
    first, second = checkpoints_of(records, [3, 8], keys[0])
    forged_b = stream("order-b", [10, 20, 30, 1])  # the last amount changed, every hash redone
    assert verify_chain(forged_b) == 4  # the per-order chain alone cannot tell
    forged = [r if r.key != b"order-b" else
              record(r.offset, json.dumps(forged_b.pop(0)).encode(), r.key, r.headers)
              for r in records]
    findings = held(forged, [first, second])
    assert [f.sequence for f in findings] == [2]  # order-b's last event came after #1


def test_a_deleted_head_is_found(keys: tuple[Path, Path]) -> None:
    records = honest_partition()
    checkpoints = checkpoints_of(records, [3, 8], keys[0])
    findings = held(records[2:], checkpoints, end=8)
    assert [f.sequence for f in findings] == [1, 2]
    assert "begins at offset 2" in findings[0].problem


def test_a_partition_gone_is_found(keys: tuple[Path, Path]) -> None:
    checkpoints = checkpoints_of(honest_partition(), [8], keys[0])
    [audit] = audit_partitions("t", checkpoints).values()
    assert ["is gone" in f.problem for f in audit.finish(None)] == [True]


# -- the checkpoints' own sequence -----------------------------------------------------------

def test_a_missing_or_replaced_checkpoint_breaks_the_sequence(keys: tuple[Path, Path]) -> None:
    first, second, third = checkpoints_of(honest_partition(), [3, 5, 8], keys[0])
    signed = [(c, digest(c.model_dump())) for c in (first, second, third)]
    assert chain_of_checkpoints("t", signed) == []
    [gap] = chain_of_checkpoints("t", [signed[0], signed[2]])
    assert (gap.sequence, gap.problem) == (3, "checkpoints 2…2 are missing before this one")
    replaced = [signed[0], (second, "f" * 64), signed[2]]
    assert [f.sequence for f in chain_of_checkpoints("t", replaced)] == [3]


def test_the_next_checkpoint_extends_the_latest_that_verifies(keys: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    first, second = checkpoints_of(honest_partition(), [3, 8], keys[0])
    generate_key_pair(tmp_path / "forger.pem", tmp_path / "forger.pub.pem")
    [forged] = checkpoints_of(honest_partition(), [2], tmp_path / "forger.pem")
    found = [Recorded(c.model_dump(), f"audit.checkpoints/0@{i}")
             for i, c in enumerate((first, second, forged))]
    mine = load_public_key(keys[1])
    latest = latest_verified(found, ["t"], {key_id(mine): mine})
    assert latest == {"t": (second, digest(second.model_dump()))}


def test_the_next_checkpoint_extends_the_highest_not_an_older_one_sent_again(
        keys: tuple[Path, Path]) -> None:
    # given checkpoints 1, 2, 3 of a topic, and 1 sent to the checkpoints topic again
    first, second, third = checkpoints_of(honest_partition(), [3, 5, 8], keys[0])
    found = [Recorded(c.model_dump(), f"audit.checkpoints/0@{i}")
             for i, c in enumerate((first, second, third, first))]
    mine = load_public_key(keys[1])
    # then the signer resumes from 3, not from the copy of 1 (which would fork the sequence)
    assert latest_verified(found, ["t"], {key_id(mine): mine}) == {
        "t": (third, digest(third.model_dump()))}


def test_the_offsets_after_the_latest_checkpoint_are_those_it_does_not_attest(
        keys: tuple[Path, Path]) -> None:
    records = honest_partition()
    [_, latest] = checkpoints_of(records, [3, 6], keys[0])
    # partition 0 ends at 8, past the mark at 6; partition 1 was never marked: from 2 to 5
    bounds = {0: (0, 8), 1: (2, 5)}

    assert offsets_after(bounds, latest) == 2 + 3
    assert offsets_after(bounds, None) == 8 + 3  # a topic never checkpointed: all of it
    assert offsets_after({0: (0, 6)}, latest) == 0
    assert offsets_after({0: (7, 9)}, latest) == 2  # its head deleted past the mark
