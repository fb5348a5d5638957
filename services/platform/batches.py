"""Batches of a faust stream's records, taken as soon as there is one, without a timer.

faust's ``Stream.take_events(n, within)`` wakes every ``within`` seconds to look at its buffer,
busy or not: at the 10 ms that keeps an event's way through short, an idle worker spent 5–8 %
of a core on wake-ups (measured with py-spy and strace: three ``epoll_wait`` per tick, on every
worker), and every record waited up to a tick before it was applied. ``take_ready`` waits for
the first record instead, then lets the records faust has already fetched join the batch (a
few turns of the event loop, no sleep), so batches fill under load and an idle worker sleeps.
Then, if the batch has room, it gives the next records ``linger`` seconds to come (the consuming
side of the producer's ``linger.ms``): a worker that took one record at a time when records
came one by one, at a stack's saturation, spent a transaction, a commit and faust's
acknowledgements on each. The linger starts only once a record is there, so an idle worker still
sleeps; it adds at most ``linger`` to an event's way through, and returns at once when the
batch is full.

It uses the same stream hooks as ``take_events`` (a buffering processor fed by the stream's
passive drainer, manual acks), and keeps its guarantee: a batch's records are acknowledged only
when the consumer asks for the next batch, so the committed offset never passes a record that
is not applied yet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import faust
from faust.types import EventT

__all__ = ["gather", "take_ready"]

SETTLE_TURNS = 2
"""Turns of the event loop without a new record after which a batch is taken: the passive
drainer moves a record already fetched into the buffer in one turn."""


def take_ready(stream: faust.Stream, max_: int,
               linger: float = 0.0) -> AsyncIterator[list[EventT]]:
    """Yield the stream's events in batches of at most ``max_``: each batch once one record is
    there, with every record already fetched behind it and those that came within ``linger``
    seconds of it (none: 0)."""
    batches = _take_ready(stream, max_, linger)
    stream._active_agens.add(batches)  # closed with the stream, as faust does for take()
    return batches


async def _take_ready(stream: faust.Stream, max_: int,
                      linger: float) -> AsyncGenerator[list[EventT], None]:
    buffer: list[EventT] = []
    arrived, room, full = asyncio.Event(), asyncio.Event(), asyncio.Event()
    room.set()

    async def add_to_buffer(value: Any) -> Any:
        if not room.is_set():
            await stream.wait(room)  # type: ignore[arg-type]  # mode accepts asyncio events
        event = stream.current_event
        if event is None:
            raise RuntimeError("a record reached the batch without its event")
        buffer.append(event)
        arrived.set()
        if len(buffer) >= max_:
            room.clear()
            full.set()
        return value

    acks_were_enabled, stream.enable_acks = stream.enable_acks, False
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))  # type: ignore[arg-type]  # as take_events
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(arrived)  # type: ignore[arg-type]
            await gather(buffer, full, linger)
            batch = buffer[:max_]
            del buffer[:len(batch)]
            if not buffer:
                arrived.clear()
            if len(buffer) < max_:
                full.clear()
            room.set()
            try:
                yield batch
            finally:
                for event in batch:
                    await stream.ack(event)
    finally:
        stream.enable_acks = acks_were_enabled
        stream._processors.remove(add_to_buffer)


async def gather(buffer: list[Any], full: asyncio.Event, linger: float) -> None:
    """Let the records already fetched join ``buffer``; then, unless it is ``full``, wait up to
    ``linger`` seconds for it to fill and let those fetched meanwhile join too."""
    await _settle(buffer)
    if linger > 0 and not full.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(full.wait(), linger)
        await _settle(buffer)


async def _settle(buffer: list[Any]) -> None:
    """Let the records already fetched join ``buffer``: return after ``SETTLE_TURNS`` turns of
    the event loop in which it did not grow."""
    quiet = 0
    while quiet < SETTLE_TURNS:
        size = len(buffer)
        await asyncio.sleep(0)
        quiet = quiet + 1 if len(buffer) == size else 0
