"""Local infrastructure launcher: a real Kafka broker (KRaft) and PostgreSQL, no Docker needed.

``python -m deploy.local up|down|status``; tests call :func:`start_stack` / :func:`stop_stack`.
"""

from deploy.local.kafka import KAFKA_VERSION, KafkaBroker, KafkaError
from deploy.local.postgres import LocalPostgres, PostgresError
from deploy.local.stack import (
    SERVICES,
    Endpoints,
    stack_status,
    start_stack,
    stop_stack,
)

__all__ = [
    "KAFKA_VERSION",
    "SERVICES",
    "Endpoints",
    "KafkaBroker",
    "KafkaError",
    "LocalPostgres",
    "PostgresError",
    "stack_status",
    "start_stack",
    "stop_stack",
]
