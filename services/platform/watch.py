"""Watch the event log live: ``python -m services.platform.watch [TOPIC ...] [--from-beginning]``.

One line per record: time, topic, partition/offset, type, order, version and the start of its
hash; dead-letter records show their reason. Reads without a consumer group, so watching never
moves any service's offsets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aiokafka import AIOKafkaConsumer

from contracts.topics import all_topics
from services.platform.settings import load_log_settings

__all__ = [
    "describe",
    "main",
    "watch",
]


def describe(topic: str, partition: int, offset: int, value: bytes | None,
             headers: dict[str, bytes]) -> str:
    """A one-line description of a record for operators."""
    where = f"{topic}[{partition}]@{offset}"
    if "dlq-reason" in headers:
        return f"{where}  DEAD LETTER  {headers['dlq-reason'].decode(errors='replace')}"
    try:
        envelope = json.loads(value or b"")
        return (f"{where}  {envelope['occurred_at']}  {envelope['type']:<24} "
                f"order={envelope['order_id']} v{envelope['version']} "
                f"hash={str(envelope['hash'])[:12]}")
    except (ValueError, KeyError, TypeError):
        return f"{where}  UNDECODABLE  {value[:60] if value else value!r}"


async def watch(bootstrap: str, topics: list[str], from_beginning: bool) -> None:
    """Print every record of ``topics`` as it arrives, until interrupted."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest" if from_beginning else "latest")
    await consumer.start()
    try:
        async for message in consumer:
            print(describe(message.topic, message.partition, message.offset, message.value,
                           dict(message.headers or ())), flush=True)
    finally:
        await consumer.stop()


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.watch",
                                     description="Follow the event log live.")
    parser.add_argument("topics", nargs="*", default=all_topics(),
                        help="topics to follow (default: all events and dead-letter topics)")
    parser.add_argument("--from-beginning", action="store_true")
    args = parser.parse_args()
    bootstrap = load_log_settings().kafka_bootstrap
    try:
        asyncio.run(watch(bootstrap, args.topics, args.from_beginning))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
