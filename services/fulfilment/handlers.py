"""Command handlers of the fulfilment service: each takes its command and its collaborators,
reads the clock once, and records the decision through the one write path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import asyncpg

from contracts.envelope import Envelope
from contracts.fulfilment import SuspensionKind
from contracts.personal import FreeText, Sealed, claims_subject
from contracts.policies import paris_date
from contracts.vocabulary import LineQuantity
from services.fulfilment import domain
from services.fulfilment.claims import AnswerClaim, Claim, ClaimKind
from services.fulfilment.projections import project
from services.platform.eventstore import Aggregate, Metadata, load_stream
from services.platform.personal import KeyStore, seal_for
from services.platform.runtime import Context
from services.platform.write_path import record, record_command

__all__ = [
    "FULFILMENT",
    "SUSPENSIONS_STREAM",
    "answer_claim",
    "handle",
    "mark_overdue",
    "record_claim",
    "reserve_replacement",
    "reserve_stock",
    "suspend_deadlines",
]

SUSPENSIONS_STREAM = "deadline-suspensions"
"""The stream of ``DeadlinesSuspended``: periods that concern every order, not one."""


FULFILMENT = Aggregate(domain.FulfilmentState, domain.evolve)


async def handle(conn: asyncpg.Connection, order_id: str, command: domain.Command, ctx: Context,
                 cause: Envelope | None = None) -> list[Envelope]:
    """Decide ``command`` on the order's fulfilment and record it: a reaction to the order's
    events (with ``cause``), or the warehouse's, the carrier's, the buyer's and the sweep's."""
    return await record_command(conn, order_id, command, ctx, aggregate=FULFILMENT,
                                decide=domain.decide, project=project, cause=cause)


async def reserve_stock(conn: asyncpg.Connection, order_id: str, lines: Sequence[LineQuantity],
                        ctx: Context, cause: Envelope) -> None:
    """Reserve the order's lines that stock covers now; report the others unavailable.

    Decided once per order: a second request for the same order records nothing.
    """
    command = domain.ReserveStock(tuple(lines), await _lock_available(conn, lines))
    await handle(conn, order_id, command, ctx, cause)


async def reserve_replacement(conn: asyncpg.Connection, order_id: str, line: LineQuantity,
                              ctx: Context, cause: Envelope) -> None:
    """Reserve the wine the buyer took instead of an unavailable one."""
    available = (await _lock_available(conn, [line])).get(line.sku, 0)
    await handle(conn, order_id, domain.ReserveReplacement(line, available), ctx, cause)


async def record_claim(conn: asyncpg.Connection, order_id: str, kind: ClaimKind, detail: str,
                       keys: KeyStore, ctx: Context) -> None:
    """Record the buyer's claim (within its window), their words sealed under the order's
    claims key, which their erasure destroys."""
    sealed = await _sealed(conn, keys, order_id, detail)
    await handle(conn, order_id, domain.OnClaim(order_id, Claim(kind, sealed)), ctx)


async def answer_claim(conn: asyncpg.Connection, order_id: str, kind: ClaimKind, answer: str,
                       keys: KeyStore, ctx: Context) -> None:
    """Record the shop's answer to the claim waiting, sealed as the claim's words are."""
    sealed = await _sealed(conn, keys, order_id, answer)
    await handle(conn, order_id, domain.OnClaim(order_id, AnswerClaim(kind, sealed)), ctx)


async def _sealed(conn: asyncpg.Connection, keys: KeyStore, order_id: str,
                  text: str) -> Sealed | None:
    """The words sealed under the order's claims key; None for no words, or for an order
    fulfilment never heard of (refused by the decision: no key is made for any id posted)."""
    if not text or (await load_stream(conn, order_id)).version == 0:
        return None
    # the key commits on the key store's own connection, before the claim does: a claim the
    # decision then refuses leaves one unused key for the order, which seals nothing
    return await seal_for(keys, claims_subject(order_id), FreeText(text=text))


async def mark_overdue(conn: asyncpg.Connection, order_id: str, ctx: Context,
                       suspended: tuple[tuple[dt.date, dt.date], ...]) -> None:
    """Record ``DeliveryOverdue`` if the order's deadline, pushed by the ``suspended``
    periods, has passed."""
    await handle(conn, order_id, domain.MarkOverdue(suspended), ctx)


async def suspend_deadlines(conn: asyncpg.Connection, first_day: dt.date, last_day: dt.date,
                            reason: str, kind: SuspensionKind,
                            ctx: Context) -> None:
    """Record a force-majeure or closure period: every delivery deadline it covers moves."""
    now = ctx.clock.now()
    event = domain.suspension(first_day, last_day, reason, kind, paris_date(now))
    await record(conn, FULFILMENT, SUSPENSIONS_STREAM, lambda state: [event],
                 Metadata.for_command(ctx.emitter, now), project)


async def _lock_available(conn: asyncpg.Connection,
                          lines: Sequence[LineQuantity]) -> dict[str, int]:
    # row locks in SKU order: concurrent reservations of the same wines queue, never deadlock
    rows = await conn.fetch(
        "SELECT sku, on_hand - reserved - shipped AS available FROM stock "
        "WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE", [line.sku for line in lines])
    return {row["sku"]: row["available"] for row in rows}

