"""A worker's batch: the records already fetched, and those that come within the linger."""

from __future__ import annotations

import asyncio
import time

from services.platform.batches import gather

LINGER = 0.05
LATER = 2.0
"""Long after the linger: such a record cannot reach the batch however slow the machine."""


async def arrive(buffer: list[str], full: asyncio.Event, records: list[str], every: float,
                 room: int = 10) -> None:
    """Records reaching the batch's buffer one by one, as the stream's processor adds them."""
    for record in records:
        await asyncio.sleep(every)
        buffer.append(record)
        if len(buffer) >= room:
            full.set()


async def test_records_that_come_within_the_linger_join_the_batch() -> None:
    buffer, full = ["first"], asyncio.Event()
    coming = asyncio.create_task(arrive(buffer, full, ["second", "third"], 0.01))
    await gather(buffer, full, 1.0)
    assert buffer == ["first", "second", "third"]
    await coming


async def test_a_record_later_than_the_linger_waits_for_the_next_batch() -> None:
    buffer, full = ["first"], asyncio.Event()
    coming = asyncio.create_task(arrive(buffer, full, ["late"], LATER))
    started = time.monotonic()
    await gather(buffer, full, LINGER)
    assert buffer == ["first"]
    assert time.monotonic() - started >= LINGER * 0.9  # the loop's timers may fire 1 ms early
    coming.cancel()


async def test_a_full_batch_is_taken_without_waiting_out_the_linger() -> None:
    buffer, full = ["first"], asyncio.Event()
    coming = asyncio.create_task(arrive(buffer, full, ["second"], 0.01, room=2))
    started = time.monotonic()
    await gather(buffer, full, 60.0)
    assert buffer == ["first", "second"]
    assert time.monotonic() - started < 30.0
    await coming


async def test_without_a_linger_only_the_records_already_there_are_taken() -> None:
    buffer, full = ["first"], asyncio.Event()
    coming = asyncio.create_task(arrive(buffer, full, ["next"], LATER))
    await gather(buffer, full, 0)
    assert buffer == ["first"]
    coming.cancel()
