"""Queries on the orders read model and the offer in force."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from services.orders.domain import CatalogueItem, Offer


async def order_view(conn: asyncpg.Connection | asyncpg.Pool, order_id: str,
                     ) -> dict[str, Any] | None:
    """The order as the read model shows it, JSON-ready, or None."""
    row = await conn.fetchrow("SELECT * FROM order_view WHERE order_id = $1", order_id)
    if row is None:
        return None
    view = dict(row)
    view["placed_at"] = _utc(view["placed_at"])
    view["updated_at"] = _utc(view["updated_at"])
    return view


async def offer_at(conn: asyncpg.Connection | asyncpg.Pool, now: dt.datetime) -> Offer:
    """Prices, delivery charges and terms version in force at ``now``."""
    prices = await conn.fetch(
        "SELECT DISTINCT ON (sku) sku, name, price_cents FROM catalogue_prices "
        "WHERE valid_from <= $1 ORDER BY sku, valid_from DESC", now)
    charges = await conn.fetch("SELECT code, charge_cents FROM delivery_methods")
    terms = await conn.fetchval(
        "SELECT version FROM terms_versions WHERE published_at <= $1 "
        "ORDER BY published_at DESC LIMIT 1", now)
    return Offer(
        items={r["sku"]: CatalogueItem(r["sku"], r["name"], r["price_cents"]) for r in prices},
        delivery_charges={r["code"]: r["charge_cents"] for r in charges},
        terms_version=terms or "")


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
