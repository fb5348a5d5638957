"""``tail``: the log live, filtered by service, event type and order."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass

from contracts.topics import all_topics
from services.ops.kafka import arrivals, following
from services.ops.records import Summary, summarise

__all__ = ["TailFilter", "tail"]


@dataclass(frozen=True)
class TailFilter:
    """What the operator follows; an unset field admits everything."""

    service: str | None = None
    type: str | None = None
    order: str | None = None

    def topics(self) -> list[str]:
        """The topics to read: every topic of the log, or the service's and its dead letters."""
        return [topic for topic in all_topics()
                if self.service is None or topic.split(".", 1)[0] == self.service]

    def admits(self, summary: Summary) -> bool:
        """True when the record passes every filter that is set (the order by key or envelope:
        a record that does not decode still has its key)."""
        return ((self.type is None or summary.type == self.type)
                and (self.order is None or self.order in (summary.order_id, summary.key)))


async def tail(bootstrap: str, wanted: TailFilter, show: Callable[[Summary], None], *,
               from_beginning: bool = False, limit: int | None = None,
               idle: float | None = None, ready: Callable[[], None] = lambda: None) -> int:
    """Show each admitted record as it arrives; stop after ``limit`` of them or ``idle``
    seconds without a record (never, with neither). Returns how many were shown. ``ready`` is
    called once every partition is positioned: what is published after it is not missed."""
    shown = 0
    if limit is not None and limit <= 0:
        return shown
    async with (following(bootstrap, wanted.topics(), from_beginning) as consumer,
                aclosing(arrivals(consumer, idle)) as stream):
        ready()
        async for arrival in stream:
            summary = summarise(arrival.record, arrival.timestamp_ms)
            if not wanted.admits(summary):
                continue
            show(summary)
            shown += 1
            if limit is not None and shown >= limit:
                break
    return shown
