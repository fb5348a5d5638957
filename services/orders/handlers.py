"""Command handlers of the orders service: each takes its command and its collaborators, reads
the clock once, and records the decision through the one write path."""

from __future__ import annotations

import datetime as dt

import asyncpg

from contracts.envelope import Envelope
from contracts.identifiers import new_order_id
from services.orders import domain
from services.orders.after_sale import AfterSaleCommand
from services.orders.lines import LineCommand
from services.orders.projections import project
from services.orders.views import offer_at
from services.platform.eventstore import Aggregate, Metadata
from services.platform.personal import KeyStore, seal_for
from services.platform.runtime import Context
from services.platform.write_path import record

__all__ = ["ORDERS", "after_sale", "block_order", "cheapest_standard_delivery", "on_buyer_request",
           "on_line", "place_order", "price_in_force", "record_confirmation_sent",
           "record_sale_step", "unblock_order"]

ORDERS = Aggregate(domain.OrderState, domain.evolve)


async def place_order(conn: asyncpg.Connection, request: domain.OrderRequest, ctx: Context,
                      keys: KeyStore, idempotency_key: str | None = None) -> str:
    """Record ``OrderPlaced`` with the offer in force now and the buyer's personal data sealed
    with their key; return the new order's id."""
    now = ctx.clock.now()
    personal = domain.personal_data(request.email, request.phone, request.delivery_address)
    sealed = await seal_for(keys, request.buyer_id, personal)
    command = domain.PlaceOrder(request, await offer_at(conn, now), sealed)
    order_id = new_order_id()
    await record(conn, ORDERS, order_id, lambda state: domain.decide(state, command, now),
                 Metadata.for_command(ctx.emitter, now, idempotency_key), project)
    return order_id


async def block_order(conn: asyncpg.Connection, order_id: str, command: domain.BlockOrder,
                      ctx: Context) -> None:
    """Block the order until the problem is resolved (Art. 4)."""
    await _record_command(conn, order_id, command, ctx)


async def unblock_order(conn: asyncpg.Connection, order_id: str, command: domain.UnblockOrder,
                        ctx: Context) -> None:
    """Lift the order's block."""
    await _record_command(conn, order_id, command, ctx)


async def on_buyer_request(conn: asyncpg.Connection, order_id: str,
                           command: domain.BuyerRequest, ctx: Context) -> None:
    """Record the data subject's request (rectify, restrict, erase) on one of their orders."""
    await _record_command(conn, order_id, command, ctx)


async def record_sale_step(conn: asyncpg.Connection, order_id: str, command: domain.SaleStep,
                         ctx: Context, cause: Envelope) -> None:
    """Record a step of the sale another service reported (the price received, an identity
    check required or done), and confirm the sale if it is now final."""
    now = ctx.clock.now()
    await record(conn, ORDERS, order_id, lambda state: domain.decide(state, command, now),
                 Metadata.in_reaction_to(cause, ctx.emitter, now), project)


async def record_confirmation_sent(conn: asyncpg.Connection, order_id: str, message_id: str,
                                   ctx: Context) -> None:
    """Record that the confirmation went out (and confirm the sale if it is now final)."""
    await _record_command(conn, order_id, domain.RecordConfirmationSent(message_id), ctx)


async def after_sale(conn: asyncpg.Connection, order_id: str, command: AfterSaleCommand,
                     ctx: Context, cause: Envelope | None = None) -> None:
    """Record a step of the contract after the sale: fulfilment's facts (with ``cause``) or
    the buyer's notices (performance request, termination, withdrawal, proof of dispatch)."""
    now = ctx.clock.now()
    metadata = (Metadata.in_reaction_to(cause, ctx.emitter, now) if cause
                else Metadata.for_command(ctx.emitter, now))
    await record(conn, ORDERS, order_id, lambda state: domain.decide(state, command, now),
                 metadata, project)


async def on_line(conn: asyncpg.Connection, order_id: str, command: LineCommand, ctx: Context,
                  cause: Envelope | None = None) -> None:
    """Record what happens to a line: unavailable (a reaction, with ``cause``), the buyer told,
    cancelled or exchanged."""
    now = ctx.clock.now()
    metadata = (Metadata.in_reaction_to(cause, ctx.emitter, now) if cause
                else Metadata.for_command(ctx.emitter, now))
    await record(conn, ORDERS, order_id, lambda state: domain.decide(state, command, now),
                 metadata, project)


async def price_in_force(conn: asyncpg.Connection, sku: str, now: dt.datetime) -> int | None:
    """The price of ``sku`` in force at ``now`` (None if the shop does not sell it)."""
    item = (await offer_at(conn, now)).items.get(sku)
    return item.price_cents if item else None


async def cheapest_standard_delivery(conn: asyncpg.Connection) -> int:
    """The cheapest standard delivery the shop offers (caps a withdrawal's delivery refund)."""
    return int(await conn.fetchval(
        "SELECT min(charge_cents) FROM delivery_methods WHERE code = 'standard'"))


async def _record_command(conn: asyncpg.Connection, order_id: str, command: domain.Command,
                          ctx: Context) -> None:
    now = ctx.clock.now()
    await record(conn, ORDERS, order_id, lambda state: domain.decide(state, command, now),
                 Metadata.for_command(ctx.emitter, now), project)
