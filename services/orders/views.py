"""Queries on the orders read model and the offer in force, with typed results."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from contracts.personal import ERASED, PersonalData, Sealed
from contracts.vocabulary import BlockReason, DeliveryMethod, PricedLine
from services.orders.domain import (
    PERFORMED_LATER,
    CatalogueItem,
    Offer,
    OrderStatus,
    PersonalDataStatus,
    VerificationStatus,
)
from services.platform.db import Db
from services.platform.personal import KeyStore, open_all

__all__ = [
    "RESTRICTED",
    "AddressView",
    "CatalogueView",
    "OrderRecord",
    "OrderView",
    "all_orders",
    "catalogue",
    "confirmations_due",
    "erasures_due",
    "lines_awaiting_answer",
    "offer_at",
    "order_record",
    "orders_of_buyer",
    "orders_of_erasures_waiting",
    "present",
    "unavailable_lines_to_notify",
    "unpaid_since",
]

RESTRICTED = "[restricted]"
"""What a personal field reads as, for roles other than the buyer and auditors, while the
buyer's data is restricted."""


class _Order(BaseModel):
    order_id: str
    version: int
    buyer_id: str
    status: OrderStatus
    blocked: bool
    block_reason: BlockReason | None
    lines: list[PricedLine]
    delivery_method: DeliveryMethod
    delivery_charge_cents: int
    products_total_cents: int
    total_cents: int
    terms_version: str
    personal_data: PersonalDataStatus
    restricted_until: dt.date | None
    billing_retained_until: dt.date | None = Field(default=None, description=(
        "erased: whom the invoice bills is kept, shown on the invoice only, until this day "
        "(the billing retention), then destroyed"))
    erasure_requested_at: dt.datetime | None = Field(default=None, description=(
        "the buyer asked for erasure while orders of theirs were paid and still to be "
        "performed: their data is kept for that alone, and erased once none is"))
    placed_at: dt.datetime
    payable_since: dt.datetime | None = None
    paid_at: dt.datetime | None
    paid_cents: int | None = None
    confirmation_sent_at: dt.datetime | None
    confirmed_at: dt.datetime | None
    verification: VerificationStatus
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    shipped_at: dt.datetime | None
    delivered_on: dt.date | None
    overdue_deadline: dt.date | None
    perform_by: dt.date | None
    terminated_on: dt.date | None
    refund_owed_cents: int | None
    withdrawal: dict[str, Any] | None
    proof_of_dispatch_on: dt.date | None
    line_changes: dict[str, dict[str, Any]]
    updated_at: dt.datetime


class OrderRecord(_Order):
    """An order as the read model stores it: personal fields sealed."""

    personal: Sealed
    billing_retained: Sealed | None = None  # erased, invoiced: whom the invoice bills


class AddressView(BaseModel):
    """A delivery address as shown; every field reads ``[erased]`` once the buyer is erased."""

    recipient: str
    street: str
    street_extra: str | None
    postcode: str
    city: str
    country: str


class OrderView(_Order):
    """An order as the API shows it: personal fields opened, erased or withheld."""

    email: str
    phone: str | None
    delivery_address: AddressView
    billing_address: AddressView | None = None


class CatalogueItemView(BaseModel):
    """A wine on sale at its price in force."""

    sku: str
    name: str
    price_cents: int


class CatalogueView(BaseModel):
    """What the shop offers now: wines, delivery charges and the terms to accept."""

    terms_version: str
    delivery_charges_cents: dict[str, int]
    items: list[CatalogueItemView]


async def order_record(db: Db, order_id: str) -> OrderRecord | None:
    """The order as the read model stores it, or None."""
    row = await db.fetchrow("SELECT * FROM order_view WHERE order_id = $1", order_id)
    return None if row is None else OrderRecord.model_validate(dict(row))


async def orders_of_buyer(db: Db, buyer_id: str) -> list[OrderRecord]:
    """Every order of the buyer, oldest first."""
    rows = await db.fetch(
        "SELECT * FROM order_view WHERE buyer_id = $1 ORDER BY placed_at, order_id", buyer_id)
    return [OrderRecord.model_validate(dict(row)) for row in rows]


async def confirmations_due(db: Db, limit: int = 100) -> list[OrderRecord]:
    """Paid orders whose confirmation of acceptance has not been sent yet and that nothing holds
    back (a block, a pending identity check, a cancellation), oldest first."""
    rows = await db.fetch(
        "SELECT * FROM order_view WHERE paid_at IS NOT NULL AND confirmation_sent_at IS NULL "
        "AND status = 'placed' AND NOT blocked AND verification <> 'pending' "
        "ORDER BY paid_at LIMIT $1", limit)
    return [OrderRecord.model_validate(dict(row)) for row in rows]


async def unavailable_lines_to_notify(db: Db) -> list[tuple[OrderRecord, str]]:
    """Unavailable lines whose buyer has not been told yet and can be (not erased), of orders
    still open to a choice, the earliest time to reply first (the lines no one can be told
    must not fill the list and starve the others)."""
    rows = await db.fetch(
        "SELECT o.*, l.key AS sku FROM order_view o, jsonb_each(o.line_changes) l "
        "WHERE o.line_changes <> '{}' "  # the partial index of 010_sweep_indexes
        "AND o.personal_data <> 'erased' AND o.status IN ('placed', 'confirmed', 'shipped', "
        "'delivered', 'withdrawn') "
        "AND l.value->>'state' = 'unavailable' AND NOT l.value ? 'notified' "
        "ORDER BY (l.value->>'reply_by')::timestamptz LIMIT 100")
    return [(OrderRecord.model_validate({k: v for k, v in dict(row).items() if k != "sku"}),
             row["sku"]) for row in rows]


async def lines_awaiting_answer(db: Db, now: dt.datetime) -> list[str]:
    """Orders with an unavailable line whose time to reply is up and whose buyer was told (or
    can no longer be: erased), sent without it or not (the sweep's candidates)."""
    rows = await db.fetch(
        "SELECT DISTINCT o.order_id FROM order_view o, jsonb_each(o.line_changes) l "
        "WHERE o.line_changes <> '{}' AND o.status IN ('placed', 'confirmed', 'shipped', "
        "'delivered', 'withdrawn') "
        "AND l.value->>'state' = 'unavailable' "
        "AND (l.value ? 'notified' OR o.personal_data = 'erased') "
        "AND (l.value->>'reply_by')::timestamptz <= $1 "
        "LIMIT 500", now)
    return [row["order_id"] for row in rows]


async def unpaid_since(db: Db, before: dt.datetime) -> list[str]:
    """Placed orders not paid, payable since before ``before`` (placed, or last unblocked), and
    not blocked for anything but non-payment (the unpaid-order sweep's candidates)."""
    rows = await db.fetch(
        "SELECT order_id FROM order_view WHERE status = 'placed' AND paid_at IS NULL "
        "AND (NOT blocked OR block_reason = 'non_payment') "  # 011's partial index
        "AND payable_since <= $1 ORDER BY payable_since LIMIT 500", before)
    return [row["order_id"] for row in rows]


async def billing_retention_over(db: Db, today: dt.date) -> list[str]:
    """Erased orders whose billing retention ended before ``today`` and whose kept billing
    data is not destroyed yet (the retention sweep's candidates; 013's partial index)."""
    rows = await db.fetch(
        "SELECT order_id FROM order_view WHERE billing_retained_until IS NOT NULL "
        "AND billing_retention_ended IS NULL AND billing_retained_until < $1 "
        "ORDER BY billing_retained_until LIMIT 500", today)
    return [row["order_id"] for row in rows]


async def erasures_due(db: Db, limit: int = 100) -> list[str]:
    """Buyers who asked for erasure, not erased yet, none of whose orders awaits performance
    any more (paid, a line not cancelled, not delivered nor ended otherwise) nor is still
    placed (the erasure sweep's candidates, the oldest request first). The buyers come from
    014's partial index, and each one's orders from the buyer index (a lateral lookup: an
    anti-join could read every order)."""
    rows = await db.fetch(
        f"SELECT w.buyer_id FROM ({_ERASURES_ASKED}) w LEFT JOIN LATERAL ("
        "SELECT 1 AS busy FROM order_view p WHERE p.buyer_id = w.buyer_id "
        "AND p.personal_data <> 'erased' AND p.status = ANY($1::text[]) "
        "AND (p.status = 'placed' OR EXISTS (SELECT 1 FROM jsonb_array_elements(p.lines) l "
        "WHERE coalesce(p.line_changes -> (l ->> 'sku') ->> 'state', '') <> 'cancelled')) "
        "LIMIT 1) b ON true WHERE b.busy IS NULL ORDER BY w.asked LIMIT $2",
        list(PERFORMED_LATER), limit)
    return [row["buyer_id"] for row in rows]


_ERASURES_ASKED = (
    "SELECT buyer_id, min(erasure_requested_at) AS asked FROM order_view "
    "WHERE erasure_requested_at IS NOT NULL AND personal_data <> 'erased' GROUP BY buyer_id")
"""The buyers whose erasure waits, and since when (014's partial index)."""


async def orders_of_erasures_waiting(db: Db, buyers: int = 100) -> list[OrderRecord]:
    """The orders, not erased, of the ``buyers`` whose erasure requests have waited longest,
    by buyer."""
    waiting = [row["buyer_id"] for row in await db.fetch(
        f"{_ERASURES_ASKED} ORDER BY asked LIMIT $1", buyers)]
    rows = await db.fetch(
        "SELECT * FROM order_view WHERE buyer_id = ANY($1::text[]) AND personal_data <> "
        "'erased' ORDER BY buyer_id, placed_at, order_id", waiting)
    return [OrderRecord.model_validate(dict(row)) for row in rows]


async def all_orders(db: Db) -> list[OrderRecord]:
    """The whole read model in a stable order (to compare a rebuild with the live one)."""
    rows = await db.fetch("SELECT * FROM order_view ORDER BY order_id")
    return [OrderRecord.model_validate(dict(row)) for row in rows]


async def present(keys: KeyStore, records: list[OrderRecord], *,
                  reveal_restricted: bool) -> list[OrderView]:
    """The orders with their personal fields opened (one key lookup for all of them).

    Erased data reads ``[erased]``; restricted data reads ``[restricted]`` unless
    ``reveal_restricted`` (the buyer themself, or an auditor).
    """
    opened = await open_all(keys, [record.personal for record in records], PersonalData)
    return [_view(record, personal, reveal_restricted)
            for record, personal in zip(records, opened, strict=True)]


def _view(record: OrderRecord, personal: PersonalData | None, reveal: bool) -> OrderView:
    order = record.model_dump(exclude={"personal"})
    if personal is None or (record.personal_data == "restricted" and not reveal):
        mask = ERASED if personal is None else RESTRICTED
        address = AddressView(recipient=mask, street=mask, street_extra=mask, postcode=mask,
                              city=mask, country=mask)
        return OrderView(**order, email=mask, phone=mask, delivery_address=address,
                         billing_address=address)
    billing = personal.billing_address
    return OrderView(**order, email=personal.email, phone=personal.phone,
                     delivery_address=AddressView(**personal.delivery_address.model_dump()),
                     billing_address=AddressView(**billing.model_dump()) if billing else None)


_OFFER_AT = """
    SELECT (SELECT version FROM terms_versions WHERE published_at <= $1
            ORDER BY published_at DESC LIMIT 1) AS terms,
           ARRAY(SELECT code FROM delivery_methods ORDER BY code) AS codes,
           ARRAY(SELECT charge_cents FROM delivery_methods ORDER BY code) AS charges,
           ARRAY(SELECT row(sku, name, price_cents) FROM (
                 SELECT DISTINCT ON (sku) sku, name, price_cents FROM catalogue_prices
                 WHERE valid_from <= $1 ORDER BY sku, valid_from DESC) AS prices
                 ORDER BY sku) AS items
"""


async def offer_at(db: Db, now: dt.datetime) -> Offer:
    """Prices, delivery charges and terms version in force at ``now`` (one round trip: every
    order placed reads it)."""
    row = await db.fetchrow(_OFFER_AT, now)
    return Offer(
        items={sku: CatalogueItem(sku, name, price) for sku, name, price in row["items"]},
        delivery_charges=dict(zip(row["codes"], row["charges"], strict=True)),
        terms_version=row["terms"] or "")


async def catalogue(db: Db, now: dt.datetime) -> CatalogueView:
    """The offer in force at ``now`` as the storefront shows it."""
    offer = await offer_at(db, now)
    return CatalogueView(
        terms_version=offer.terms_version, delivery_charges_cents=dict(offer.delivery_charges),
        items=[CatalogueItemView(sku=i.sku, name=i.name, price_cents=i.price_cents)
               for i in offer.items.values()])
