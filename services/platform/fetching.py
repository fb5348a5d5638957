"""How a worker's Kafka consumer fetches: the broker holds each fetch for more records.

faust builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` and aiokafka's
``fetch_min_bytes=1``, and offers no setting for either: the broker answers a fetch as soon as
one record is there. Under load, when records come one by one, each record then costs a whole
fetch — a request and its answer parsed, faust's hand-off from its consumer thread to the
agents' loop, the next request sent — which is most of a worker's CPU (a faust agent on a
topic receiving 300 records/s: 860 µs of the worker's CPU per record with one byte, 330 µs
when the broker holds the fetch for 64 KB or 20 ms; docs/decisions/0017-performance.md).

``fetching_transport`` is faust's aiokafka transport with the two settings of the worker's
choice. The consumer is made by faust as before; only the two figures its fetcher is started
with change (aiokafka reads them when the consumer starts, which is after faust made it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faust.transport.drivers import aiokafka as driver

__all__ = ["Fetching", "fetching_transport"]


@dataclass(frozen=True)
class Fetching:
    """How long the broker may hold a fetch, and how many bytes make it answer sooner."""

    max_wait_ms: int
    min_bytes: int


def fetching_transport(fetching: Fetching) -> type[driver.Transport]:
    """faust's aiokafka transport whose consumers fetch as ``fetching`` says."""

    class FetchingConsumerThread(driver.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = fetching.max_wait_ms
            consumer._fetch_min_bytes = fetching.min_bytes
            return consumer

    class FetchingConsumer(driver.Consumer):
        def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
            return FetchingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    class FetchingTransport(driver.Transport):
        Consumer = FetchingConsumer

    return FetchingTransport
