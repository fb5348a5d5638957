"""Command handlers of the orders service: each takes its command and its collaborators, reads
the clock once, and records the decision through the one write path."""

from __future__ import annotations

import datetime as dt

import asyncpg

from contracts.envelope import Envelope
from contracts.identifiers import new_order_id
from services.orders import domain
from services.orders.projections import project
from services.orders.views import offer_at
from services.platform.eventstore import Aggregate, Metadata
from services.platform.personal import KeyStore, seal_for
from services.platform.runtime import Context
from services.platform.write_path import record, record_command

__all__ = ["ORDERS", "block_order", "cheapest_standard_delivery", "handle", "place_order",
           "price_in_force", "record_confirmation_sent", "unblock_order"]

ORDERS = Aggregate(domain.OrderState, domain.evolve)


async def place_order(conn: asyncpg.Connection, request: domain.OrderRequest, ctx: Context,
                      keys: KeyStore, idempotency_key: str | None = None) -> str:
    """Record ``OrderPlaced`` with the offer in force now and the buyer's personal data sealed
    with their key; return the new order's id."""
    now = ctx.clock.now()
    personal = domain.buyer_personal_data(request)
    sealed = await seal_for(keys, request.buyer_id, personal)
    command = domain.PlaceOrder(request, await offer_at(conn, now), sealed)
    order_id = new_order_id()
    await record(conn, ORDERS, order_id, lambda state: domain.decide(state, command, now),
                 Metadata.for_command(ctx.emitter, now, idempotency_key), project,
                 new_order=True)
    return order_id  # the offer is read at the same ``now`` as the decision, so not via handle


async def handle(conn: asyncpg.Connection, order_id: str, command: domain.Command, ctx: Context,
                 cause: Envelope | None = None) -> None:
    """Decide ``command`` on the order and record it: a reaction to another service's event
    (with ``cause``: a payment, a delivery, an unavailable line) or a command from outside (the
    buyer's notices and rights, the mailer)."""
    await record_command(conn, order_id, command, ctx, aggregate=ORDERS, decide=domain.decide,
                         project=project, cause=cause)


async def block_order(conn: asyncpg.Connection, order_id: str, command: domain.BlockOrder,
                      ctx: Context) -> None:
    """Block the order until the problem is resolved (Art. 4)."""
    await handle(conn, order_id, command, ctx)


async def unblock_order(conn: asyncpg.Connection, order_id: str, command: domain.UnblockOrder,
                        ctx: Context) -> None:
    """Lift the order's block (and confirm the sale if it is now final)."""
    await handle(conn, order_id, command, ctx)


async def record_confirmation_sent(conn: asyncpg.Connection, order_id: str, message_id: str,
                                   ctx: Context) -> None:
    """Record that the confirmation went out (and confirm the sale if it is now final)."""
    await handle(conn, order_id, domain.RecordConfirmationSent(message_id), ctx)


async def price_in_force(conn: asyncpg.Connection, sku: str, now: dt.datetime) -> int | None:
    """The price of ``sku`` in force at ``now`` (None if the shop does not sell it)."""
    item = (await offer_at(conn, now)).items.get(sku)
    return item.price_cents if item else None


async def cheapest_standard_delivery(conn: asyncpg.Connection) -> int:
    """The cheapest standard delivery the shop offers (caps a withdrawal's delivery refund)."""
    return int(await conn.fetchval(
        "SELECT min(charge_cents) FROM delivery_methods WHERE code = 'standard'"))
