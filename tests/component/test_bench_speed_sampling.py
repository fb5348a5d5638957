"""The machine's speed sampled while a phase runs, by a process of its own that ends with it."""

from __future__ import annotations

import asyncio

import psutil

from bench import speed


async def test_a_phase_gets_a_reading_every_few_seconds_and_the_sampler_ends_with_it() -> None:
    before = {child.pid for child in psutil.Process().children()}

    async with speed.sampled(every=0.2) as readings:
        await asyncio.sleep(1.0)
        [sampler] = [c for c in psutil.Process().children() if c.pid not in before]

    assert len(readings) >= 2
    assert all(0 < reading < 5_000 for reading in readings)
    assert not sampler.is_running()


async def test_a_phase_shorter_than_a_reading_still_gets_one() -> None:
    async with speed.sampled(every=60) as readings:
        pass

    assert len(readings) == 1
