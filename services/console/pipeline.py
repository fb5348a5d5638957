"""The pipeline's health as the console shows it, measured by the operators' command line's own
functions (``services/ops``): lag per consumer group and partition with the age of the oldest
unprocessed event, the relays' unpublished outbox rows, and the dead letters with a re-drive."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from services.ops.dlq import list_dead_letters
from services.ops.dlq import redrive as redrive_dead_letters
from services.ops.lag import measure
from services.ops.settings import OpsSettings
from services.platform.settings import LogSettings


def _ops(settings: LogSettings) -> OpsSettings:
    return OpsSettings(kafka_bootstrap=settings.kafka_bootstrap,
                       database_url=settings.database_url)


async def pipeline_state(settings: LogSettings, pools: Mapping[str, asyncpg.Pool]
                         ) -> dict[str, Any]:
    """Lag, outboxes and pending dead letters, ready for the page."""
    del pools  # the measures open their own bounded connections
    report = await measure(_ops(settings))
    lag = [{"group": p.group, "topic": p.topic, "partition": p.partition, "end": p.end,
            "committed": p.committed, "lag": p.lag,
            "oldest_age_s": p.oldest_unprocessed_age_s} for p in report.partitions]
    outbox = [{"service": service, "unpublished": check.unpublished,
               "oldest_age_s": check.oldest_age_s} for service, check in report.outboxes.items()]
    return {"lag": lag, "outbox": outbox, "dlq": [_letter(item.letter)
                                                  for item in await list_dead_letters(settings)]}


def _letter(letter: Any) -> dict[str, Any]:
    summary, dead = letter.summary, letter.summary.dead_letter
    return {"topic": letter.record.topic, "partition": letter.record.partition,
            "offset": letter.record.offset, "order_id": summary.order_id,
            "type": summary.type or "undecodable", "consumer": dead.consumer if dead else "",
            "reason": dead.reason if dead else "", "source": dead.source if dead else ""}


async def redrive(settings: LogSettings, pools: Mapping[str, asyncpg.Pool]) -> str:
    """Put every pending dead letter back on its topic, in order; what was done, in words."""
    del pools
    done = await redrive_dead_letters(settings)
    letters = sum(len(item.letters) for item in done)
    return f"{letters} dead letter(s) put back as {len(done)} record(s) on their topics, in order."
