"""Queries on the orders read model and the offer in force, with typed results."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from contracts.vocabulary import BlockReason, DeliveryAddress, DeliveryMethod, PricedLine
from services.orders.domain import CatalogueItem, Offer, OrderStatus
from services.platform.db import Db

__all__ = ["CatalogueView", "OrderView", "all_orders", "catalogue", "offer_at", "order_view"]


class OrderView(BaseModel):
    """An order as the read model shows it."""

    order_id: str
    version: int
    buyer_id: str
    status: OrderStatus
    blocked: bool
    block_reason: BlockReason | None
    lines: list[PricedLine]
    delivery_address: DeliveryAddress
    delivery_method: DeliveryMethod
    delivery_charge_cents: int
    products_total_cents: int
    total_cents: int
    terms_version: str
    placed_at: dt.datetime
    updated_at: dt.datetime


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


async def order_view(db: Db, order_id: str) -> OrderView | None:
    """The order as the read model shows it, or None."""
    row = await db.fetchrow("SELECT * FROM order_view WHERE order_id = $1", order_id)
    return None if row is None else OrderView.model_validate(dict(row))


async def all_orders(db: Db) -> list[OrderView]:
    """The whole read model in a stable order (to compare a rebuild with the live one)."""
    rows = await db.fetch("SELECT * FROM order_view ORDER BY order_id")
    return [OrderView.model_validate(dict(row)) for row in rows]


async def offer_at(db: Db, now: dt.datetime) -> Offer:
    """Prices, delivery charges and terms version in force at ``now``."""
    prices = await db.fetch(
        "SELECT DISTINCT ON (sku) sku, name, price_cents FROM catalogue_prices "
        "WHERE valid_from <= $1 ORDER BY sku, valid_from DESC", now)
    charges = await db.fetch("SELECT code, charge_cents FROM delivery_methods")
    terms = await db.fetchval(
        "SELECT version FROM terms_versions WHERE published_at <= $1 "
        "ORDER BY published_at DESC LIMIT 1", now)
    return Offer(
        items={r["sku"]: CatalogueItem(r["sku"], r["name"], r["price_cents"]) for r in prices},
        delivery_charges={r["code"]: r["charge_cents"] for r in charges},
        terms_version=terms or "")


async def catalogue(db: Db, now: dt.datetime) -> CatalogueView:
    """The offer in force at ``now`` as the storefront shows it."""
    offer = await offer_at(db, now)
    return CatalogueView(
        terms_version=offer.terms_version, delivery_charges_cents=dict(offer.delivery_charges),
        items=[CatalogueItemView(sku=i.sku, name=i.name, price_cents=i.price_cents)
               for i in offer.items.values()])
