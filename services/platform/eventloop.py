"""The event loop of the long-running processes: uvloop, as the APIs get it from uvicorn.

A worker spends much of its time in the event loop's own machinery (socket writes to
PostgreSQL and Kafka, callbacks): with the standard loop, ``_SelectorSocketTransport.write``
alone was 15 % of a busy fulfilment worker's samples (py-spy). uvloop implements the same
asyncio interface in C; faust supports it (``faust[uvloop]``), and the threads faust starts for
its Kafka consumer create their loops through the same policy.
"""

from __future__ import annotations

import asyncio

import uvloop

__all__ = ["use_uvloop"]


def use_uvloop() -> None:
    """Make every event loop created from now on in this process a uvloop loop."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
