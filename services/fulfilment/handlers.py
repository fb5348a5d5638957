"""Policies of the fulfilment service: reactions to other services' events."""

from __future__ import annotations

import asyncpg

from contracts.envelope import Envelope, Producer
from contracts.events import Event, LineQuantity, OrderPlaced, StockReserved
from services.fulfilment import domain
from services.fulfilment.projections import project
from services.platform.clock import Clock
from services.platform.eventstore import Aggregate, Metadata, decide_and_append

FULFILMENT = Aggregate(domain.FulfilmentState, domain.evolve)


async def when_order_placed_reserve_stock(conn: asyncpg.Connection, envelope: Envelope,
                                          event: Event, *, clock: Clock,
                                          producer: Producer) -> None:
    """Reserve the placed order's lines from stock, or report them unavailable."""
    assert isinstance(event, OrderPlaced)
    lines = tuple(LineQuantity(sku=line.sku, quantity=line.quantity) for line in event.lines)
    available = await _lock_available(conn, [line.sku for line in lines])
    command = domain.ReserveStock(lines, available)
    now = clock.now()
    metadata = Metadata(producer=producer, occurred_at=now,
                        correlation_id=envelope.correlation_id, causation_id=envelope.event_id)
    recorded = await decide_and_append(conn, FULFILMENT, envelope.order_id,
                                       lambda state: domain.decide(state, command, now), metadata)
    for sealed in recorded:
        typed = sealed.event()
        await project(conn, sealed, typed)
        await _set_aside(conn, typed)


async def _lock_available(conn: asyncpg.Connection, skus: list[str]) -> dict[str, int]:
    # row locks in SKU order: concurrent reservations of the same wines queue, never deadlock
    rows = await conn.fetch(
        "SELECT sku, on_hand - reserved AS available FROM stock WHERE sku = ANY($1::text[]) "
        "ORDER BY sku FOR UPDATE", skus)
    return {row["sku"]: row["available"] for row in rows}


async def _set_aside(conn: asyncpg.Connection, event: Event) -> None:
    if isinstance(event, StockReserved):
        await conn.executemany(
            "UPDATE stock SET reserved = reserved + $2 WHERE sku = $1",
            [(line.sku, line.quantity) for line in event.lines])
