"""What the orders worker consumes, and which policy reacts to each event type.

Orders consumes nothing yet (see ``policies.py``), so ``make run`` starts no orders worker.
"""

from __future__ import annotations

from services.platform.agents import Subscription
from services.platform.runtime import Context

__all__ = ["subscriptions"]


def subscriptions(ctx: Context) -> list[Subscription]:
    """The orders service's subscriptions, their policies bound to ``ctx``."""
    del ctx
    return []
