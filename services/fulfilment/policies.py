"""Reactions of the fulfilment service to other services' events (``when_<event>_<action>``).

Each policy turns the event into a command and calls its handler; ``subscriptions.py`` binds
the policies to the service's context and to the topics they consume.
"""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.orders import OrderPlaced
from contracts.vocabulary import LineQuantity
from services.fulfilment import handlers
from services.platform.runtime import Context

__all__ = ["when_order_cancelled_release_stock", "when_order_placed_reserve_stock"]


async def when_order_placed_reserve_stock(conn: asyncpg.Connection, envelope: Envelope,
                                          event: Event, ctx: Context) -> None:
    """Reserve the placed order's lines from stock, or report them unavailable."""
    assert isinstance(event, OrderPlaced)
    lines = [LineQuantity(sku=line.sku, quantity=line.quantity) for line in event.lines]
    await handlers.reserve_stock(conn, envelope.order_id, lines, ctx, envelope)


async def when_order_cancelled_release_stock(conn: asyncpg.Connection, envelope: Envelope,
                                             event: Event, ctx: Context) -> None:
    """A cancelled order's stock is available again."""
    await handlers.release_stock(conn, envelope.order_id, ctx, envelope)
