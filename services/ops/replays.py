"""``rebuild`` and ``verify`` with progress: the platform's own rebuild and verification, each
service's topic read shown as a bar (records read / records on the topic)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from contracts.topics import dead_letter_topic, events_topic
from services.ops.kafka import extent
from services.ops.registry import service
from services.platform.checkpoints import verify_checkpoints
from services.platform.db import create_pool
from services.platform.rebuild import Comparison, rebuild_and_compare
from services.platform.settings import CheckpointSettings, LogSettings
from services.platform.verify import (
    ServiceReport,
    checkpoint_settings,
    summary,
    verify_service,
    with_checkpoints,
)

__all__ = ["progress_bars", "rebuild_with_progress", "verify_with_progress"]


def progress_bars(console: Console) -> Progress:
    """Bars of records (or checkpoints) done out of those there are."""
    return Progress(SpinnerColumn(), TextColumn("{task.description:<22}"), BarColumn(),
                    MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
                    TimeElapsedColumn(), console=console)


async def rebuild_with_progress(settings: LogSettings, name: str,
                                progress: Progress) -> Comparison:
    """Rebuild the service's read model, one step of the bar per record of its topic, and hold
    it against the live one (``rebuild_and_compare``)."""
    model = service(name).read_model
    total = await extent(settings.kafka_bootstrap, model.topic)
    task = progress.add_task(f"rebuild {name}", total=total, unit="records")
    # two connections: the rebuild's own, and one to watch the outbox drain under its lock
    pool = await create_pool(settings.database_url_for(name), max_size=2)
    try:
        comparison = await rebuild_and_compare(pool, settings.kafka_bootstrap, model,
                                               on_record=lambda _: progress.advance(task))
    finally:
        await pool.close()
    done = progress.tasks[task].completed
    progress.update(task, total=max(total, done))  # the topic may have grown meanwhile
    return comparison


async def verify_with_progress(settings: CheckpointSettings, services: Sequence[str],
                               orders: set[str] | None, progress: Progress,
                               checkpoint_dir: Path | None = None) -> dict[str, Any]:
    """``services.platform.verify.verify``'s report, one bar per service (it reads a topic in
    one call, so a bar fills when its service is verified) and one for the checkpoints."""
    reports: dict[str, ServiceReport] = {}
    for name in services:
        total = await extent(settings.kafka_bootstrap, events_topic(name))
        task = progress.add_task(f"verify {name}", total=None, unit="records")  # pulses
        reports[name] = await verify_service(settings, name, orders)
        progress.update(task, total=total, completed=total)
    # what verify.verify holds against the checkpoints: the services' topics and their twins
    topics = [t for s in services for t in (events_topic(s), dead_letter_topic(events_topic(s)))]
    task = progress.add_task("verify checkpoints", total=None, unit="checkpoints")
    checkpoints = await verify_checkpoints(checkpoint_settings(settings), topics, checkpoint_dir)
    progress.update(task, total=checkpoints.checkpoints, completed=checkpoints.checkpoints)
    return with_checkpoints(summary(reports), checkpoints)
