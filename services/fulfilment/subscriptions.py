"""What the fulfilment worker consumes, and which policy reacts to each event type."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import asyncpg

from contracts.policies import paris_date
from contracts.topics import events_topic
from services.fulfilment import handlers, policies
from services.fulfilment.views import awaiting_delivery, recorded_overdue, suspensions
from services.platform.agents import Periodic, Subscription
from services.platform.eventstore import ConcurrencyError
from services.platform.runtime import Context

__all__ = ["Asked", "mark_overdue_deliveries", "periodic", "subscriptions"]


def subscriptions(ctx: Context) -> list[Subscription]:
    """The fulfilment service's subscriptions, their policies bound to ``ctx``."""
    def bind(policy):  # type: ignore[no-untyped-def]
        return functools.partial(policy, ctx=ctx)

    return [Subscription("reserve-stock", events_topic("orders"), {
        "OrderPlaced": bind(policies.when_order_placed_reserve_stock),
        "OrderCancelled": bind(policies.when_order_cancelled_release_stock),
        "OrderConfirmed": bind(policies.when_order_confirmed_set_the_delivery_deadline),
        "OrderBlocked": bind(policies.when_order_blocked_hold_shipping),
        "OrderUnblocked": bind(policies.when_order_unblocked_release_shipping),
        "PersonalDataRectified": bind(
            policies.when_delivery_address_rectified_let_the_parcel_go_again),
        "ContractTerminated": bind(policies.when_contract_terminated_hold_shipping),
        "WithdrawalRequested": bind(policies.when_withdrawal_requested_expect_the_return),
        "LineExchanged": bind(policies.when_line_exchanged_reserve_the_replacement),
        "OrderLineCancelled": bind(policies.when_line_cancelled_release_it)})]


def periodic(ctx: Context) -> list[Periodic]:
    """The fulfilment worker's timed work: marking overdue deliveries (and withdrawing those a
    suspension declared since has undone)."""
    asked_under = Asked()

    async def overdue(pool: asyncpg.Pool) -> int:
        return await mark_overdue_deliveries(pool, ctx, asked_under)

    return [Periodic("overdue-deliveries", 1.0, overdue)]


@dataclass
class Asked:
    """The suspensions under which every delivery recorded overdue was last asked about (None:
    not yet, in this process): they are asked again only when the suspensions change."""

    suspensions: tuple[tuple[dt.date, dt.date], ...] | None = None


async def mark_overdue_deliveries(pool: asyncpg.Pool, ctx: Context,
                                  asked: Asked | None = None) -> int:
    """One pass of the delivery-deadline sweep; how many orders it looked at. With ``asked``,
    the deliveries recorded overdue are asked again when the suspensions changed since."""
    today = paris_date(ctx.clock.now())
    suspended = await suspensions(pool)  # read once per pass, not once per order
    candidates = await awaiting_delivery(pool, today)
    again = (await recorded_overdue(pool) if asked is not None
             and asked.suspensions != suspended else [])
    skipped = [order_id for order_id in [*candidates, *again]
               if not await _asked(pool, ctx, order_id, suspended)]
    if asked is not None and not set(skipped) & set(again):
        asked.suspensions = suspended  # every delivery recorded overdue was asked
    return len(candidates) + len(again)


async def _asked(pool: asyncpg.Pool, ctx: Context, order_id: str,
                 suspended: tuple[tuple[dt.date, dt.date], ...]) -> bool:
    """Ask about one order; False if it changed meanwhile (the next pass looks again)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            await handlers.mark_overdue(conn, order_id, ctx, suspended)
    except ConcurrencyError:
        return False
    return True
