"""Command handlers of the orders service: short functions given their collaborators."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from contracts.envelope import Producer, new_event_id
from contracts.events import DeliveryAddress
from services.orders import domain
from services.orders.projections import project
from services.orders.views import offer_at, order_view
from services.platform.clock import Clock
from services.platform.commands import Idempotency, Responder, run_command
from services.platform.eventstore import Aggregate, Metadata
from services.platform.http import StoredResponse

ORDERS = Aggregate(domain.OrderState, domain.evolve)


@dataclass(frozen=True)
class OrdersContext:
    """The collaborators every orders handler needs."""

    pool: asyncpg.Pool
    clock: Clock
    producer: Producer


async def place_order(ctx: OrdersContext, buyer_id: str, lines: list[domain.RequestedLine],
                      address: DeliveryAddress, delivery_method: str, terms_version: str,
                      idempotency: Idempotency | None) -> StoredResponse:
    """Record ``OrderPlaced`` with the prices in force, or refuse with a domain error."""
    now = ctx.clock.now()
    offer = await offer_at(ctx.pool, now)
    command = domain.PlaceOrder(buyer_id, tuple(lines), address, delivery_method, terms_version,
                                offer)
    order_id = str(new_event_id())
    return await run_command(
        ctx.pool, ORDERS, order_id, lambda state: domain.decide(state, command, now),
        _metadata(ctx, idempotency), project, _respond(201), idempotency)


async def block_order(ctx: OrdersContext, order_id: str, command: domain.BlockOrder
                      | domain.UnblockOrder) -> StoredResponse:
    """Block or unblock an order."""
    now = ctx.clock.now()
    return await run_command(
        ctx.pool, ORDERS, order_id, lambda state: domain.decide(state, command, now),
        _metadata(ctx, None), project, _respond(200))


def _metadata(ctx: OrdersContext, idempotency: Idempotency | None) -> Metadata:
    return Metadata(producer=ctx.producer, occurred_at=ctx.clock.now(),
                    correlation_id=uuid.uuid4(),
                    idempotency_key=idempotency.key if idempotency else None)


def _respond(status: int) -> Responder:
    async def respond(conn: asyncpg.Connection, order_id: str) -> StoredResponse:
        view = await order_view(conn, order_id)
        assert view is not None
        return StoredResponse(status, view)
    return respond
