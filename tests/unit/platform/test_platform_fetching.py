"""A worker's consumer fetches as its settings say, and faust's figures stay the default."""

from __future__ import annotations

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


async def test_the_figures_set_are_those_aiokafka_starts_its_fetcher_with() -> None:
    # the transport sets aiokafka's attributes after faust made the consumer: they must be
    # the very ones aiokafka keeps its fetch_max_wait_ms and fetch_min_bytes arguments in
    consumer = AIOKafkaConsumer(bootstrap_servers=NOWHERE, fetch_max_wait_ms=7,
                                fetch_min_bytes=9)
    try:
        assert (consumer._fetch_max_wait_ms, consumer._fetch_min_bytes) == (7, 9)
    finally:
        await consumer.stop()
