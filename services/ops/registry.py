"""The four services as the command line sees them: each one's composition root (``Service``),
its consumer group and the topics that group reads."""

from __future__ import annotations

import importlib
from functools import cache

from contracts.envelope import EmittingService
from contracts.topics import SERVICES
from services.platform.clock import SystemClock
from services.platform.runtime import Context
from services.platform.service import Service
from services.platform.settings import ServiceSettings

__all__ = ["consumer_group", "consumer_groups", "owner_of", "service"]


@cache
def service(name: str) -> Service:
    """The service's description from its composition root (``services.<name>.main``), the
    module its own ``rebuild`` and ``worker`` commands run."""
    if name not in SERVICES:
        raise ValueError(f"unknown service {name!r}: one of {', '.join(SERVICES)}")
    described: Service = importlib.import_module(f"services.{name}.main").SERVICE
    return described


def consumer_group(name: str) -> str:
    """The Kafka consumer group of the service's worker, as its settings name it."""
    # model_construct: no environment read, only the naming rule of ServiceSettings
    return ServiceSettings.model_construct(service=name).consumer_group


def consumer_groups() -> dict[str, list[str]]:
    """Every service's consumer group → the topics its worker subscribes to."""
    # the subscriptions only need a context to be listed, never to run
    ctx = Context(SystemClock(), EmittingService(service="ops", build="ops"))
    return {consumer_group(name): sorted({s.topic for s in service(name).subscriptions(ctx)})
            for name in SERVICES}


def owner_of(topic: str) -> str:
    """The service whose topic (or whose topic's dead-letter twin) ``topic`` is."""
    name = topic.split(".", 1)[0]
    if name not in SERVICES:
        raise ValueError(f"{topic} is not a topic of the log")
    return name
