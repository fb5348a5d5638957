"""Issuing invoices and credit notes: the number is allocated in the transaction that records
the document, on the order's own history (read under the stream's row lock, so two passes or
two workers never invoice an order twice)."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope, parse_payload
from contracts.orders import CreditNoteIssued, InvoiceIssued
from contracts.personal import PersonalData
from contracts.policies import paris_date
from contracts.refunds import RefundIssued
from contracts.vocabulary import DeliveryAddress
from services.orders.handlers import ORDERS
from services.orders.invoicing import credit_note, credit_note_due, invoice, invoice_due, vat_data
from services.orders.projections import project
from services.orders.views import RESTRICTED, OrderRecord
from services.platform.eventstore import ConcurrencyError, Metadata
from services.platform.personal import KeyStore, open_sealed
from services.platform.runtime import Context
from services.platform.write_path import record

__all__ = ["RESTRICTED_ADDRESS", "billed_to", "history", "issue_invoice", "issue_invoices",
           "recorded_documents", "when_refund_issued_credit_it"]


async def history(conn: asyncpg.Connection, order_id: str) -> list[Event]:
    """The order's events as recorded, in stream order; the stream row stays locked."""
    await conn.execute("SELECT 1 FROM streams WHERE order_id = $1 FOR UPDATE", order_id)
    rows = await conn.fetch("SELECT envelope FROM events WHERE order_id = $1 ORDER BY version",
                            order_id)
    return _events(rows)


async def _next_number(conn: asyncpg.Connection, kind: str) -> int:
    number: int = await conn.fetchval(
        "INSERT INTO document_numbers (kind, last) VALUES ($1, 1) ON CONFLICT (kind) "
        "DO UPDATE SET last = document_numbers.last + 1 RETURNING last", kind)
    return number


async def issue_invoice(conn: asyncpg.Connection, order_id: str, ctx: Context) -> bool:
    """Invoice the order if it is confirmed and not invoiced yet (in the caller's transaction)."""
    events = await history(conn, order_id)
    if not invoice_due(events):
        return False
    now = ctx.clock.now()
    issued = invoice(events, await _next_number(conn, "invoice"), paris_date(now), vat_data())
    await record(conn, ORDERS, order_id, lambda state: [issued],
                 Metadata.for_command(ctx.emitter, now), project)
    return True


async def issue_invoices(pool: asyncpg.Pool, ctx: Context) -> int:
    """One pass: invoice every confirmed order not invoiced yet; how many were invoiced."""
    issued = 0
    for order_id in await _uninvoiced(pool):
        try:
            async with pool.acquire() as conn, conn.transaction():
                issued += await issue_invoice(conn, order_id, ctx)
        except (ConcurrencyError, asyncpg.DeadlockDetectedError):
            # recorded on meanwhile, or chosen as a deadlock's victim (the fault suite's soak
            # met one against a concurrent write on the order): the number went back with the
            # rollback, and the next pass invoices the order
            continue
    return issued


async def _uninvoiced(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch(
        "SELECT order_id FROM order_view WHERE confirmed_at IS NOT NULL AND NOT invoiced "
        "ORDER BY confirmed_at LIMIT 500")
    return [row["order_id"] for row in rows]


async def when_refund_issued_credit_it(conn: asyncpg.Connection, envelope: Envelope,
                                       event: Event, ctx: Context) -> None:
    """A refund was paid: a credit note on the order's invoice (none if nothing was invoiced)."""
    assert isinstance(event, RefundIssued)
    events = await history(conn, envelope.order_id)
    invoiced = credit_note_due(events, event.refund_id)
    if invoiced is None:
        return
    now = ctx.clock.now()
    note = credit_note(invoiced, await _next_number(conn, "credit_note"), event.refund_id,
                       event.base_cents, event.surcharge_cents, paris_date(now), vat_data())
    await record(conn, ORDERS, envelope.order_id, lambda state: [note],
                 Metadata.in_reaction_to(envelope, ctx.emitter, now), project)


async def recorded_documents(db: asyncpg.Pool, order_id: str,
                             ) -> tuple[InvoiceIssued | None, list[CreditNoteIssued]]:
    """The order's invoice and credit notes, as recorded in its events."""
    rows = await db.fetch(
        "SELECT envelope FROM events WHERE order_id = $1 AND type = ANY($2::text[]) "
        "ORDER BY version", order_id, ["InvoiceIssued", "CreditNoteIssued"])
    events = _events(rows)
    issued = next((e for e in events if isinstance(e, InvoiceIssued)), None)
    return issued, [e for e in events if isinstance(e, CreditNoteIssued)]


def _events(rows: list[asyncpg.Record]) -> list[Event]:
    """The typed events of stored envelopes (upcast to their current schema versions)."""
    return [parse_payload(row["envelope"]["type"], row["envelope"]["schema_version"],
                          row["envelope"]["payload"]) for row in rows]


RESTRICTED_ADDRESS = DeliveryAddress(recipient=RESTRICTED, street=RESTRICTED,
                                     postcode=RESTRICTED, city=RESTRICTED)
"""Whom an invoice bills, as shown to a role other than the buyer and auditors while the data
is restricted, or kept after its erasure for the billing retention."""


async def billed_to(keys: KeyStore, record: OrderRecord,
                    reveal: bool) -> DeliveryAddress | None:
    """Whom the order's invoice bills: its billing address, else the delivery address; once
    the buyer's data is erased, what erasure kept of it for the billing retention (None once
    that ended, or for an order erased before its sale was final). Restricted or kept data
    is shown only when ``reveal`` (the buyer themself, an auditor), else ``[restricted]``."""
    address = await _billed_to(keys, record)
    if address is not None and record.personal_data != "held" and not reveal:
        return RESTRICTED_ADDRESS
    return address


async def _billed_to(keys: KeyStore, record: OrderRecord) -> DeliveryAddress | None:
    buyer = await open_sealed(keys, record.personal, PersonalData)
    if buyer is not None:
        return buyer.billing_address or buyer.delivery_address
    if record.billing_retained is None:
        return None
    return await open_sealed(keys, record.billing_retained, DeliveryAddress)
