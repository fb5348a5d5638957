"""What the fulfilment worker consumes, and which policy reacts to each event type."""

from __future__ import annotations

import functools

from contracts.topics import events_topic
from services.fulfilment.policies import (
    when_order_cancelled_release_stock,
    when_order_placed_reserve_stock,
)
from services.platform.agents import Subscription
from services.platform.runtime import Context

__all__ = ["subscriptions"]


def subscriptions(ctx: Context) -> list[Subscription]:
    """The fulfilment service's subscriptions, their policies bound to ``ctx``."""
    return [Subscription("reserve-stock", events_topic("orders"), {
        "OrderPlaced": functools.partial(when_order_placed_reserve_stock, ctx=ctx),
        "OrderCancelled": functools.partial(when_order_cancelled_release_stock, ctx=ctx)})]
