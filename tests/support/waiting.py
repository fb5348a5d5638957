"""Waiting on real conditions (never on fixed sleeps)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout: float = 60,
                     interval: float = 0.1, what: str = "condition") -> T:
    """Poll ``probe`` until it returns a truthy value; return it, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


def stack_now() -> dt.datetime:
    """The test stack's time (its shared clock): what an event recorded by a test itself must
    carry, so that the clock can still be moved to any time after it."""
    from deploy.system import TEST_CLOCK
    from services.platform.clock import SharedClock

    return SharedClock(TEST_CLOCK).now()
