"""Signed checkpoints, the audit: holding a topic's records, and the checkpoints themselves,
against every checkpoint of the topic. Pure: records come in, findings go out.

One pass over each partition serves every checkpoint: the records are folded into the chain in
offset order, and the running (count, chain) is compared with each checkpoint's mark as the pass
crosses its ``end_offset``. A rewritten record below a mark changes the chain; a deleted head or
tail changes the count; a partition that now ends before a mark lost its tail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from contracts.hashing import GENESIS_HASH
from services.platform.checkpoint_document import (
    Checkpoint,
    Mark,
    RecordLike,
    extend,
    record_leaf,
)

__all__ = ["Finding", "PartitionAudit", "audit_partitions", "chain_of_checkpoints"]


@dataclass(frozen=True)
class Finding:
    """Something that does not hold: where (topic, partition, checkpoint sequence) and what."""

    topic: str
    partition: int | None
    sequence: int | None
    problem: str


@dataclass
class PartitionAudit:
    """One partition replayed against the marks of every checkpoint that covers it."""

    topic: str
    partition: int
    marks: list[tuple[int, Mark]]  # (sequence, mark)
    findings: list[Finding] = field(default_factory=list)
    _next: int = 0  # the first mark not yet compared (marks are sorted by end offset)
    _records: int = 0
    _chain: str = GENESIS_HASH
    _first_offset: int | None = None

    def __post_init__(self) -> None:
        self.marks = sorted(self.marks, key=lambda item: (item[1].end_offset, item[0]))

    @property
    def end_needed(self) -> int:
        """The offset the pass must read up to: the furthest mark's end."""
        return max((mark.end_offset for _, mark in self.marks), default=0)

    def feed(self, record: RecordLike) -> None:
        """The next record of the partition, in offset order."""
        self._settle(record.offset)
        if self._first_offset is None:
            self._first_offset = record.offset
        self._records += 1
        self._chain = extend(self._chain, record_leaf(record))

    def finish(self, end: int | None) -> list[Finding]:
        """Every finding, once all records below ``end`` (the partition's end offset now, None
        when the partition is gone) were fed."""
        for sequence, mark in self.marks[self._next:]:
            if mark.end_offset > (end or 0):
                self._truncated(sequence, mark, end)
        # the marks beyond the end are reported as truncated, not also as mismatches
        self.marks[self._next:] = [(s, m) for s, m in self.marks[self._next:]
                                   if m.end_offset <= (end or 0)]
        self._settle(None)
        return self.findings

    def _settle(self, offset: int | None) -> None:
        # every mark ending at or before ``offset`` covers exactly the records fed so far
        while self._next < len(self.marks) and (
                offset is None or self.marks[self._next][1].end_offset <= offset):
            sequence, mark = self.marks[self._next]
            self._next += 1
            if (self._records, self._chain) != (mark.records, mark.chain):
                self._mismatch(sequence, mark)

    def _mismatch(self, sequence: int, mark: Mark) -> None:
        gone = (f"; the partition now begins at offset {self._first_offset}"
                if self._first_offset else "")
        self.findings.append(Finding(
            self.topic, self.partition, sequence,
            f"below offset {mark.end_offset} the log holds {self._records} records chaining to "
            f"{self._chain[:16]}…, the checkpoint attests {mark.records} chaining to "
            f"{mark.chain[:16]}…: records were rewritten, removed or inserted{gone}"))

    def _truncated(self, sequence: int, mark: Mark, end: int | None) -> None:
        where = "is gone" if end is None else f"ends at offset {end}"
        self.findings.append(Finding(
            self.topic, self.partition, sequence,
            f"the partition {where}, the checkpoint attests records up to offset "
            f"{mark.end_offset}: its tail was deleted or the topic rewritten"))


def audit_partitions(topic: str, checkpoints: Iterable[Checkpoint]) -> dict[int, PartitionAudit]:
    """An audit per partition that ``checkpoints`` (all of ``topic``) cover."""
    marks: dict[int, list[tuple[int, Mark]]] = defaultdict(list)
    for checkpoint in checkpoints:
        for mark in checkpoint.partitions:
            marks[mark.partition].append((checkpoint.sequence, mark))
    return {partition: PartitionAudit(topic, partition, listed)
            for partition, listed in marks.items()}


def chain_of_checkpoints(topic: str,
                         signed: Sequence[tuple[Checkpoint, str]]) -> list[Finding]:
    """Findings on the sequence of one topic's checkpoints, given with their digests: each
    must follow the previous one (a gap or a fork means checkpoints were removed or forged)."""
    findings: list[Finding] = []
    ordered = sorted(signed, key=lambda item: item[0].sequence)
    expected_sequence, expected_previous = 1, None
    for checkpoint, its_digest in ordered:
        if checkpoint.sequence != expected_sequence or checkpoint.previous != expected_previous:
            findings.append(Finding(topic, None, checkpoint.sequence, _break(
                checkpoint, expected_sequence)))
        expected_sequence, expected_previous = checkpoint.sequence + 1, its_digest
    return findings


def _break(checkpoint: Checkpoint, expected_sequence: int) -> str:
    if checkpoint.sequence > expected_sequence:
        return (f"checkpoints {expected_sequence}…{checkpoint.sequence - 1} are missing "
                "before this one")
    if checkpoint.sequence < expected_sequence:
        return "a second checkpoint with this sequence number"
    return "its previous digest is not the previous checkpoint's: one of them was replaced"

