"""A worker's consumer fetches as its settings say, and faust's figures stay the default."""

from __future__ import annotations

from typing import Any

import aiokafka.consumer.consumer
import pytest
from aiokafka import AIOKafkaConsumer

from services.platform.agents import worker_app
from services.platform.settings import ServiceSettings

NOWHERE = "127.0.0.1:9"
"""No broker: making a consumer does not connect."""


async def consumer_made_by_faust(**fetching: int) -> AIOKafkaConsumer:
    settings = ServiceSettings(service="orders", kafka_bootstrap=NOWHERE, **fetching)
    app = worker_app(settings, [])
    return app.consumer._thread._create_worker_consumer(app.transport)


async def test_the_worker_s_consumer_fetches_as_its_settings_say() -> None:
    consumer = await consumer_made_by_faust(consumer_fetch_max_wait_ms=20,
                                            consumer_fetch_min_bytes=65536)
    try:
        assert (consumer._fetch_max_wait_ms, consumer._fetch_min_bytes) == (20, 65536)
        assert consumer._group_id == "orders-consumers"  # otherwise faust's own consumer
    finally:
        await consumer.stop()


async def test_by_default_the_broker_answers_as_soon_as_one_record_is_there() -> None:
    consumer = await consumer_made_by_faust()
    try:
        assert (consumer._fetch_max_wait_ms, consumer._fetch_min_bytes) == (1500, 1)
    finally:
        await consumer.stop()


class FetcherMade(Exception):
    """Stops ``start`` once aiokafka has made its fetcher (the next step needs a broker)."""


async def test_aiokafka_starts_its_fetcher_with_the_figures_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the transport sets them after faust made the consumer: they must be what start() reads
    consumer = await consumer_made_by_faust(consumer_fetch_max_wait_ms=20,
                                            consumer_fetch_min_bytes=65536)
    made: dict[str, Any] = {}

    def fetcher(*args: Any, **kwargs: Any) -> None:
        made.update(kwargs)
        raise FetcherMade

    async def no_broker(*args: Any) -> None:
        return None

    monkeypatch.setattr(aiokafka.consumer.consumer, "Fetcher", fetcher)
    monkeypatch.setattr(consumer._client, "bootstrap", no_broker)
    monkeypatch.setattr(consumer, "_wait_topics", no_broker)
    try:
        with pytest.raises(FetcherMade):
            await consumer.start()
        assert (made["fetch_max_wait_ms"], made["fetch_min_bytes"]) == (20, 65536)
    finally:
        await consumer.stop()
