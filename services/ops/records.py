"""What an operator is shown of one record of the log: its envelope's identity if it decodes,
and for a dead letter why and by whom it was set aside and where it came from. Pure functions."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from services.platform.kafka_io import Record

# the header a re-driven record carries (the dead-letter record it was put back from); verify
# holds such copies against the store instead of chaining them twice
from services.platform.verify import REDRIVEN_FROM

__all__ = [
    "REDRIVEN_FROM",
    "DeadLetterInfo",
    "Summary",
    "parse_position",
    "summarise",
]



@dataclass(frozen=True)
class DeadLetterInfo:
    """The headers ``EventApplier`` adds when it dead-letters a record."""

    reason: str
    consumer: str
    source: str  # "<topic>/<partition>/<offset>" of the record that was dead-lettered


@dataclass(frozen=True)
class Summary:
    """One record as the operator sees it (None where the value does not say)."""

    topic: str
    partition: int
    offset: int
    key: str
    time: str | None
    type: str | None
    order_id: str
    version: int | None
    hash: str | None
    event_id: str | None
    dead_letter: DeadLetterInfo | None
    redriven_from: str | None

    @property
    def service(self) -> str:
        """The service whose topic (or dead-letter twin) the record is on."""
        return self.topic.split(".", 1)[0]

    @property
    def where(self) -> str:
        """``topic[partition]@offset``."""
        return f"{self.topic}[{self.partition}]@{self.offset}"


def summarise(record: Record, timestamp_ms: int | None = None) -> Summary:
    """The record's summary; ``timestamp_ms`` (Kafka's) dates a record whose value says nothing."""
    headers = {name: value.decode(errors="replace") for name, value in record.headers}
    envelope = _envelope(record.value)
    key = (record.key or b"").decode(errors="replace")
    return Summary(
        topic=record.topic, partition=record.partition, offset=record.offset, key=key,
        time=_text(envelope.get("occurred_at")) or _kafka_time(timestamp_ms),
        type=_text(envelope.get("type")), order_id=_text(envelope.get("order_id")) or key,
        version=envelope.get("version") if isinstance(envelope.get("version"), int) else None,
        hash=_text(envelope.get("hash")), event_id=_text(envelope.get("event_id")),
        dead_letter=_dead_letter(headers), redriven_from=headers.get(REDRIVEN_FROM))


def parse_position(text: str) -> tuple[str, int, int] | None:
    """``"<topic>/<partition>/<offset>"`` as a tuple, or None when it is not one."""
    topic, _, rest = text.rpartition("/")
    topic, _, partition = topic.rpartition("/")
    if not topic or not partition.isdigit() or not rest.isdigit():
        return None
    return topic, int(partition), int(rest)


def _envelope(value: bytes | None) -> dict[str, Any]:
    try:
        document = json.loads(value or b"")
    except ValueError:  # UnicodeDecodeError is one: poison bytes are shown, not raised
        return {}
    return document if isinstance(document, dict) else {}


def _dead_letter(headers: dict[str, str]) -> DeadLetterInfo | None:
    if "dlq-reason" not in headers:
        return None
    return DeadLetterInfo(headers["dlq-reason"], headers.get("dlq-consumer", "?"),
                          headers.get("dlq-source", ""))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _kafka_time(timestamp_ms: int | None) -> str | None:
    if timestamp_ms is None or timestamp_ms < 0:
        return None
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, dt.UTC).isoformat()
