"""Composition root of the fulfilment consumers: ``python -m services.fulfilment.worker``."""

from __future__ import annotations

import functools
from pathlib import Path

from contracts.envelope import Producer
from contracts.topics import events_topic
from services.fulfilment.handlers import when_order_placed_reserve_stock
from services.platform.agents import Subscription
from services.platform.clock import SystemClock
from services.platform.settings import load_settings
from services.platform.worker import run_worker

MIGRATIONS = Path(__file__).parent / "migrations"


def subscriptions(producer: Producer) -> list[Subscription]:
    """What fulfilment consumes and how it reacts."""
    reserve = functools.partial(when_order_placed_reserve_stock, clock=SystemClock(),
                                producer=producer)
    return [Subscription("reserve-stock", events_topic("orders"), {"OrderPlaced": reserve})]


def main() -> None:
    """Run the fulfilment agents."""
    settings = load_settings("fulfilment")
    producer = Producer(service="fulfilment", build=settings.build)
    run_worker(settings, MIGRATIONS, subscriptions(producer))


if __name__ == "__main__":
    main()
