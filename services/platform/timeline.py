"""One order's events across the services, in the order the operators see them: the console's
timeline and ``python -m services.ops order`` show the same sequence.

Time first; at the same instant a cause before its effects (a reaction can be recorded in the
same millisecond as the event it reacts to), then the services in the log's order, then each
stream's versions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from contracts.topics import SERVICES

__all__ = ["Stored", "cause_id", "in_time_order"]

Stored = Mapping[str, Any]
"""An envelope as its service's event store holds it (its JSON form)."""


def in_time_order(stored: Mapping[str, Sequence[Stored]]) -> list[tuple[str, Stored]]:
    """Every service's envelopes of one order (service → envelopes), each with its service,
    in the operators' order (the module's docstring)."""
    by_id = {str(envelope["event_id"]): (name, envelope)
             for name, envelopes in stored.items() for envelope in envelopes}
    depth = _depths({event_id: cause_id(envelope) for event_id, (_, envelope) in by_id.items()})
    return sorted(by_id.values(), key=lambda found: (
        dt.datetime.fromisoformat(str(found[1]["occurred_at"])),
        depth[str(found[1]["event_id"])], _rank(found[0]), int(found[1]["version"])))


def cause_id(envelope: Stored) -> str | None:
    """The id of the event that caused this one (None for a command's)."""
    cause = envelope.get("causation_id")
    return None if cause is None else str(cause)


def _depths(causes: Mapping[str, str | None]) -> dict[str, int]:
    """How many causes each event has above it within the order (0: caused from outside)."""
    depths: dict[str, int] = {}

    def depth(event_id: str, seen: frozenset[str]) -> int:
        if event_id not in depths:
            cause = causes[event_id]
            if cause is None or cause not in causes or cause in seen:
                depths[event_id] = 0
            else:
                depths[event_id] = depth(cause, seen | {event_id}) + 1
        return depths[event_id]

    for event_id in causes:
        depth(event_id, frozenset())
    return depths


def _rank(name: str) -> int:
    return SERVICES.index(name) if name in SERVICES else len(SERVICES)
