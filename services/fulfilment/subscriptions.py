"""What the fulfilment worker consumes, and which policy reacts to each event type."""

from __future__ import annotations

import functools

import asyncpg

from contracts.policies import paris_date
from contracts.topics import events_topic
from services.fulfilment import handlers, policies
from services.fulfilment.views import awaiting_delivery, suspensions
from services.platform.agents import Periodic, Subscription
from services.platform.eventstore import ConcurrencyError
from services.platform.runtime import Context

__all__ = ["mark_overdue_deliveries", "periodic", "subscriptions"]


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
    """The fulfilment worker's timed work: marking overdue deliveries."""
    async def overdue(pool: asyncpg.Pool) -> int:
        return await mark_overdue_deliveries(pool, ctx)

    return [Periodic("overdue-deliveries", 1.0, overdue)]


async def mark_overdue_deliveries(pool: asyncpg.Pool, ctx: Context) -> int:
    """One pass of the delivery-deadline sweep; how many orders it looked at."""
    today = paris_date(ctx.clock.now())
    candidates = await awaiting_delivery(pool, today)
    suspended = await suspensions(pool)  # read once per pass, not once per order
    for order_id in candidates:
        try:
            async with pool.acquire() as conn, conn.transaction():
                await handlers.mark_overdue(conn, order_id, ctx, suspended)
        except ConcurrencyError:
            continue  # the order changed meanwhile: the next pass looks again
    return len(candidates)
