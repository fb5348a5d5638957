"""The data subject's rights (Art. 19; RULES.md § Personal data): access and portability,
rectification, restriction and erasure, each a short handler over the buyer's orders.

Erasure destroys the buyer's key, and each of their orders' claims key (what they wrote to
fulfilment about it, ``contracts.personal.claims_subject``), in the transaction that records
``BuyerDataErased`` on each of their orders, so the log says when and on what the fields
became unreadable; the hash chain covers only ciphertext, so ``verify`` still passes
afterwards. It waits while the buyer's data is needed to perform a paid order (the
confirmation, the delivery): the request is recorded, and the orders worker erases once the
last such order is delivered or ended otherwise.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
from pydantic import BaseModel, Field

from contracts.personal import PersonalData, claims_subject
from contracts.policies import paris_date
from services.orders import domain
from services.orders.handlers import handle
from services.orders.invoices import billed_to, recorded_documents
from services.orders.views import (
    AddressView,
    OrderRecord,
    OrderView,
    order_record,
    orders_of_buyer,
    orders_of_erasures_waiting,
    present,
)
from services.platform.db import Db
from services.platform.eventstore import lock_streams
from services.platform.personal import KeyStore, open_sealed, seal_for
from services.platform.runtime import Context

__all__ = ["BuyerDataExport", "KeptBillingView", "RightsReceipt", "WaitingErasure", "billing_key",
           "erase_buyer_data", "erase_when_performed", "export_buyer_data",
           "rectify_personal_data", "restrict_buyer_data", "waiting_erasures"]



class KeptBillingView(BaseModel):
    """Whom the invoice of an erased order bills, kept until its billing retention ends."""

    order_id: str
    billed_to: AddressView
    until: dt.date


class BuyerDataExport(BaseModel):
    """Everything the shop holds on a buyer, as JSON (access and portability)."""

    buyer_id: str
    exported_at: dt.datetime
    orders: list[OrderView]
    billing_kept: list[KeptBillingView] = Field(default=[], description=(
        "erased orders whose invoice still names whom it bills, for the 10-year billing "
        "retention"))


class RightsReceipt(BaseModel):
    """What a restriction or erasure request changed: the orders it was recorded on."""

    buyer_id: str
    request: str
    recorded_at: dt.datetime
    order_ids: list[str]
    awaiting: list[str] = Field(default=[], description=(
        "erasure: the buyer's orders paid and still to be performed; the data is kept for "
        "them alone and erased once none is (empty: erased now)"))


class WaitingErasure(BaseModel):
    """A buyer's erasure request that waits for orders of theirs to be performed."""

    buyer_id: str
    requested_at: dt.datetime
    awaiting: list[str] = Field(description=(
        "the orders it waits for (paid, not delivered nor ended otherwise, or placed since "
        "and not paid yet); empty: the orders worker erases at its next pass"))


async def waiting_erasures(db: Db) -> list[WaitingErasure]:
    """Every erasure request still waiting, the oldest first: operators see what holds each
    (a blocked order, a parcel back for its address) and answer the buyer in time."""
    by_buyer: dict[str, list[OrderRecord]] = {}
    for record in await orders_of_erasures_waiting(db):
        by_buyer.setdefault(record.buyer_id, []).append(record)
    waiting = [WaitingErasure(
        buyer_id=buyer_id,
        requested_at=min(r.erasure_requested_at for r in records if r.erasure_requested_at),
        awaiting=[r.order_id for r in records if _holds_erasure(r)])
        for buyer_id, records in by_buyer.items()]
    return sorted(waiting, key=lambda erasure: erasure.requested_at)


async def export_buyer_data(db: Db, keys: KeyStore, buyer_id: str,
                            now: dt.datetime) -> BuyerDataExport:
    """Every order of the buyer with its personal fields opened (the buyer's own data, so
    restriction does not withhold it)."""
    records = await orders_of_buyer(db, buyer_id)
    views = await present(keys, records, reveal_restricted=True)
    return BuyerDataExport(buyer_id=buyer_id, exported_at=now, orders=views,
                           billing_kept=await _billing_kept_views(keys, records))


async def _billing_kept_views(keys: KeyStore, records: list[OrderRecord]) -> list[KeptBillingView]:
    """What erasure kept of whom each invoice bills, while it is kept (its key not destroyed)."""
    kept = []
    for record in records:
        if record.personal_data != "erased" or record.billing_retained_until is None:
            continue
        address = await billed_to(keys, record, reveal=True)
        if address is not None:
            kept.append(KeptBillingView(order_id=record.order_id,
                                        billed_to=AddressView(**address.model_dump()),
                                        until=record.billing_retained_until))
    return kept


async def rectify_personal_data(conn: asyncpg.Connection, keys: KeyStore, ctx: Context,
                                buyer_id: str, order_id: str,
                                changes: domain.PersonalDataChanges) -> None:
    """Record the corrected personal fields of one order, sealed with the buyer's key."""
    record = await order_record(conn, order_id)
    if record is None or record.buyer_id != buyer_id:
        raise domain.OrderNotFoundError(f"no order {order_id} for this buyer")
    current = await open_sealed(keys, record.personal, PersonalData)
    if current is None:
        raise domain.OrderConflictError("the buyer's personal data on this order is erased")
    sealed = await seal_for(keys, buyer_id, domain.rectified(current, changes))
    await handle(conn, order_id, domain.RectifyPersonalData(
        buyer_id, sealed, delivery_address=changes.delivery_address), ctx)


def billing_key(order_id: str) -> str:
    """The key store's subject of the key sealing an erased order's billing data."""
    return f"billing:{order_id}"


async def _billing_kept(conn: asyncpg.Connection, keys: KeyStore,
                        record: OrderRecord) -> domain.KeptBilling | None:
    """Whom the invoice of an order whose sale is final bills, sealed under the order's own
    key, and the end of its billing retention (the invoice's date + 10 years; an order
    confirmed and not invoiced yet, the day it was confirmed, when its invoice is issued);
    nothing for an order not confirmed, or already erased."""
    if record.confirmed_at is None:
        return None
    buyer = await open_sealed(keys, record.personal, PersonalData)
    if buyer is None:
        return None
    issued, _ = await recorded_documents(conn, record.order_id)
    billed = buyer.billing_address or buyer.delivery_address
    invoiced_on = issued.issued_on if issued else paris_date(record.confirmed_at)
    return domain.KeptBilling(await seal_for(keys, billing_key(record.order_id), billed),
                              domain.retention_end(invoiced_on))


async def restrict_buyer_data(conn: asyncpg.Connection, ctx: Context,
                              buyer_id: str) -> RightsReceipt:
    """Restrict processing of every order's personal data until its billing retention ends."""
    order_ids = []
    for record in await orders_of_buyer(conn, buyer_id):
        if record.personal_data == "erased":
            continue
        until = domain.retention_end(paris_date(record.placed_at))
        await handle(conn, record.order_id, domain.RestrictBuyerData(buyer_id, until),
                               ctx)
        order_ids.append(record.order_id)
    return RightsReceipt(buyer_id=buyer_id, request="restriction",
                         recorded_at=ctx.clock.now(), order_ids=order_ids)


async def erase_buyer_data(conn: asyncpg.Connection, keys: KeyStore, ctx: Context,
                           buyer_id: str) -> RightsReceipt:
    """The buyer's request for erasure: their unpaid orders are cancelled; while orders of
    theirs are paid and still to be performed, the request is recorded on every order
    (``BuyerDataErasureDeferred``) and ``erase_when_performed`` erases later; otherwise the
    data is erased now (``_erase``)."""
    records = await _locked_orders(conn, keys, buyer_id)
    awaiting = tuple(record.order_id for record in records if _awaits_performance(record))
    if not awaiting:
        await _erase(conn, keys, ctx, buyer_id, records)
    else:
        for record in records:
            await handle(conn, record.order_id,
                         domain.EraseBuyerData(buyer_id, awaiting=awaiting), ctx)
    return RightsReceipt(buyer_id=buyer_id, request="erasure", recorded_at=ctx.clock.now(),
                         order_ids=[record.order_id for record in records],
                         awaiting=list(awaiting))


async def erase_when_performed(conn: asyncpg.Connection, keys: KeyStore, ctx: Context,
                               buyer_id: str) -> bool:
    """Erase a buyer whose request waited, once none of their orders awaits performance nor
    was placed since and waits for its payment (that one is not cancelled behind the buyer's
    back: it is paid and performed, or cancelled unpaid, first). Whether it was erased."""
    records = await _locked_orders(conn, keys, buyer_id)
    if any(_holds_erasure(record) for record in records):
        return False
    await _erase(conn, keys, ctx, buyer_id, records)
    return True


async def _locked_orders(conn: asyncpg.Connection, keys: KeyStore,
                         buyer_id: str) -> list[OrderRecord]:
    """The buyer's orders as they stand once their key and their streams are taken."""
    await keys.lock(buyer_id)  # an order being placed now is either listed here or gets a new key
    # the streams in one statement (no deadlock with a batch taking some of them): an invoice,
    # a confirmation or a payment being recorded now is waited for
    await lock_streams(conn, [listed.order_id for listed in await orders_of_buyer(conn, buyer_id)])
    return await orders_of_buyer(conn, buyer_id)


def _holds_erasure(record: OrderRecord) -> bool:
    """Whether the order keeps a waiting erasure from being done: it awaits performance, or
    is still placed (placed since the request: paid and performed, or cancelled unpaid,
    first; never cancelled behind the buyer's back)."""
    return _awaits_performance(record) or (record.personal_data != "erased"
                                           and record.status == "placed")


def _awaits_performance(record: OrderRecord) -> bool:
    cancelled = {sku for sku, line in record.line_changes.items()
                 if line.get("state") == "cancelled"}
    lines_left = any(line.sku not in cancelled for line in record.lines)
    return record.personal_data != "erased" and domain.awaits_performance(
        record.status, record.paid_at is not None, lines_left)


async def _erase(conn: asyncpg.Connection, keys: KeyStore, ctx: Context, buyer_id: str,
                 records: list[OrderRecord]) -> None:
    """``BuyerDataErased`` on every order (unpaid ones cancelled first) and the buyer's key
    destroyed; whom the invoice of an order whose sale is final bills sealed again under the
    order's own key first (``BillingDataRetained``)."""
    for record in records:
        kept = await _billing_kept(conn, keys, record)
        await handle(conn, record.order_id, domain.EraseBuyerData(buyer_id, kept), ctx)
        await keys.destroy(claims_subject(record.order_id))  # what they wrote about it
    await keys.destroy(buyer_id)
