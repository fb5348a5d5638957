"""Command handlers of the fulfilment service: each takes its command and its collaborators,
reads the clock once, and records the decision through the one write path."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from contracts.envelope import Envelope
from contracts.vocabulary import LineQuantity
from services.fulfilment import domain
from services.fulfilment.projections import project
from services.platform.eventstore import Aggregate, Metadata
from services.platform.runtime import Context
from services.platform.write_path import record

__all__ = ["FULFILMENT", "release_stock", "reserve_stock"]

FULFILMENT = Aggregate(domain.FulfilmentState, domain.evolve)


async def reserve_stock(conn: asyncpg.Connection, order_id: str, lines: Sequence[LineQuantity],
                        ctx: Context, cause: Envelope) -> None:
    """Reserve the order's lines that stock covers now; report the others unavailable.

    Decided once per order: a second request for the same order records nothing.
    """
    now = ctx.clock.now()
    command = domain.ReserveStock(tuple(lines), await _lock_available(conn, lines))
    await record(conn, FULFILMENT, order_id, lambda state: domain.decide(state, command, now),
                 Metadata.in_reaction_to(cause, ctx.emitter, now), project)


async def release_stock(conn: asyncpg.Connection, order_id: str, ctx: Context,
                        cause: Envelope) -> None:
    """Give back the stock set aside for a cancelled order (once)."""
    now = ctx.clock.now()
    command = domain.ReleaseReservation()
    await record(conn, FULFILMENT, order_id, lambda state: domain.decide(state, command, now),
                 Metadata.in_reaction_to(cause, ctx.emitter, now), project)


async def _lock_available(conn: asyncpg.Connection,
                          lines: Sequence[LineQuantity]) -> dict[str, int]:
    # row locks in SKU order: concurrent reservations of the same wines queue, never deadlock
    rows = await conn.fetch(
        "SELECT sku, on_hand - reserved AS available FROM stock WHERE sku = ANY($1::text[]) "
        "ORDER BY sku FOR UPDATE", [line.sku for line in lines])
    return {row["sku"]: row["available"] for row in rows}

