"""Kafka topics of the event log: one per emitting service, each with a dead-letter twin."""

from __future__ import annotations

__all__ = [
    "CHECKPOINTS_TOPIC",
    "DEFAULT_PARTITIONS",
    "SERVICES",
    "all_topics",
    "dead_letter_topic",
    "events_topic",
]

SERVICES: tuple[str, ...] = ("orders", "payments", "fulfilment", "refunds")
DEFAULT_PARTITIONS = 6
CHECKPOINTS_TOPIC = "audit.checkpoints"
"""Where the platform records its signed checkpoints of the log's topics (one partition, key =
the topic checkpointed). Not one of ``all_topics``: it attests the log, it is not part of it."""


def events_topic(service: str) -> str:
    """Return the topic on which ``service`` publishes its events, keyed by order id."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{service}.events"


def dead_letter_topic(topic: str) -> str:
    """Return the dead-letter twin of ``topic``, where its poison records go with a reason."""
    return f"{topic}.dlq"


def all_topics() -> list[str]:
    """Every topic of the log, events and dead letters, in a stable order."""
    topics = [events_topic(service) for service in SERVICES]
    return topics + [dead_letter_topic(topic) for topic in topics]
