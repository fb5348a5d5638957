"""The fulfilment read model: ``reservation_view`` per order and SKU, and the quantities set
aside in ``stock.reserved``. Both are folded from ``fulfilment.events`` in the transaction that
records the events, so a replay of the log gives them back (the warehouse's quantities on hand
are not events and stay as they are)."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.fulfilment import (
    ClaimAnswered,
    ClaimRecorded,
    DeadlinesSuspended,
    Delivered,
    DeliveryAddressCorrected,
    DeliveryAttemptFailed,
    DeliveryDeadlineSet,
    DeliveryOverdue,
    DeliveryOverdueWithdrawn,
    DeliveryRefused,
    DeliveryReserved,
    ExchangeReferenceAllocated,
    ItemUnavailable,
    ParcelRestocked,
    ReservationReleased,
    ReturnExpected,
    ReturnReceived,
    Shipped,
    ShippingHeld,
    ShippingReleased,
    StockReserved,
)
from contracts.personal import Sealed
from contracts.policies import paris_date
from services.platform.rebuild import ReadModel, update_view

__all__ = ["READ_MODEL", "project"]

_UPSERT = (
    "INSERT INTO reservation_view (order_id, sku, quantity, status, available, version, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT (order_id, sku) DO UPDATE SET quantity = EXCLUDED.quantity, "
    "status = EXCLUDED.status, available = EXCLUDED.available, version = EXCLUDED.version, "
    "updated_at = EXCLUDED.updated_at WHERE reservation_view.version < EXCLUDED.version "
    "RETURNING 1")


async def project(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> None:
    """Fold one fulfilment event into the read models and the stock set aside."""
    if await _project_shipping(conn, envelope, event):
        return
    match event:
        case StockReserved():
            for line in event.lines:
                changed = await conn.fetchval(
                    _UPSERT, envelope.order_id, line.sku, line.quantity, "reserved", None,
                    envelope.version, envelope.occurred_at)
                if changed:  # an event seen before sets nothing aside twice
                    await conn.execute("UPDATE stock SET reserved = reserved + $2 "
                                       "WHERE sku = $1", line.sku, line.quantity)
        case ItemUnavailable():
            await conn.fetchval(_UPSERT, envelope.order_id, event.sku, event.requested,
                               "unavailable", event.available, envelope.version,
                               envelope.occurred_at)
        case ReservationReleased():
            for line in event.lines:
                changed = await conn.fetchval(
                    _UPSERT, envelope.order_id, line.sku, line.quantity, "released", None,
                    envelope.version, envelope.occurred_at)
                if changed:  # given back once, however often the event is projected
                    await conn.execute("UPDATE stock SET reserved = reserved - $2 "
                                       "WHERE sku = $1", line.sku, line.quantity)


async def _project_shipping(conn: asyncpg.Connection, envelope: Envelope, event: Event) -> bool:
    match event:
        case DeliveryDeadlineSet():
            await conn.execute(
                "INSERT INTO shipment_view (order_id, version, confirmed_on, deliver_by, "
                "updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO UPDATE SET "
                "confirmed_on = $3, deliver_by = $4, version = $2, updated_at = $5 "
                "WHERE shipment_view.version < $2", envelope.order_id, envelope.version,
                event.confirmed_on, event.deliver_by, envelope.occurred_at)
        case DeliveryAddressCorrected():
            restarted = {} if event.deliver_by is None else {
                "deliver_by": event.deliver_by, "deadline_restarted_on": event.corrected_on}
            await _upsert(conn, envelope, address_to_correct=False, **restarted)
        case ShippingHeld() | ShippingReleased():
            await _upsert(conn, envelope, held=getattr(event, "reason", None))
        case Shipped():
            if await _upsert(conn, envelope, carrier=event.carrier, shipped_at=event.shipped_at,
                             tracking_number=event.tracking_number, outcome=None,
                             address_to_correct=False):
                await _ship_stock(conn, envelope)
        case Delivered() | DeliveryReserved():
            await _upsert(conn, envelope, outcome=_outcome(event), outcome_on=event.delivered_on,
                          reservations=getattr(event, "reservations", None))
        case DeliveryRefused():
            await _upsert(conn, envelope, outcome="refused", outcome_on=event.refused_on,
                          reservations=event.reason)
        case DeliveryAttemptFailed():
            await _upsert(conn, envelope, outcome=event.outcome,
                          outcome_on=paris_date(event.attempted_at),
                          collection_point=event.collection_point, collect_by=event.collect_by,
                          address_to_correct=event.outcome == "returned_to_sender")
        case DeliveryOverdue():
            await _upsert(conn, envelope, overdue_since=paris_date(envelope.occurred_at),
                          overdue_deadline=event.deadline)
        case DeliveryOverdueWithdrawn():
            await _upsert(conn, envelope, overdue_since=None, overdue_deadline=None)
        case ReturnExpected():
            await _upsert(conn, envelope, return_by=event.return_by)
        case ReturnReceived():
            if await _upsert(conn, envelope, returned_on=event.received_on,
                             return_complete=event.complete, return_reason=event.reason):
                await _restock(conn, envelope, event)
        case ParcelRestocked():
            await _parcel_restocked(conn, envelope)
        case ClaimRecorded():
            # a question asked once the last was answered takes its place (one row per kind)
            await conn.execute(
                "INSERT INTO claim_view (order_id, kind, claimed_on, window_ends, detail, "
                "sealed_detail) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id, kind) "
                "DO UPDATE SET claimed_on = $3, window_ends = $4, detail = $5, "
                "sealed_detail = $6, answer = NULL, sealed_answer = NULL, answered_at = NULL "
                "WHERE claim_view.answered_at IS NOT NULL",
                envelope.order_id, event.kind, event.claimed_on, event.window_ends,
                event.detail, _as_json(event.sealed_detail))
        case ExchangeReferenceAllocated():
            await conn.execute(
                "UPDATE claim_view SET exchange_reference = $2 WHERE order_id = $1 "
                "AND kind = 'incorrect_delivery'", envelope.order_id, event.exchange_reference)
        case ClaimAnswered():
            await conn.execute(
                "UPDATE claim_view SET answer = $3, sealed_answer = $5, answered_at = $4 "
                "WHERE order_id = $1 AND kind = $2 AND answered_at IS NULL", envelope.order_id,
                event.kind, event.answer, envelope.occurred_at, _as_json(event.sealed_answer))
        case DeadlinesSuspended():
            await conn.execute(
                "INSERT INTO deadline_suspensions (event_id, first_day, last_day, reason) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", envelope.event_id,
                event.first_day, event.last_day, event.reason)
        case _:
            return False
    return True


def _as_json(value: Sealed | None) -> dict[str, str] | None:
    return value.model_dump(mode="json") if value else None


def _outcome(event: Event) -> str:
    return "delivered" if isinstance(event, Delivered) else "delivered_with_reservations"


async def _upsert(conn: asyncpg.Connection, envelope: Envelope, **columns: object) -> bool:
    """Update the order's shipment row (created if needed); False if it already reflects the
    event."""
    await conn.execute(
        "INSERT INTO shipment_view (order_id, version, updated_at) VALUES ($1, 0, $2) "
        "ON CONFLICT (order_id) DO NOTHING", envelope.order_id, envelope.occurred_at)
    return await update_view(conn, "shipment_view", envelope, **columns)


async def _restock(conn: asyncpg.Connection, envelope: Envelope,
                   event: ReturnReceived) -> None:
    """Goods back complete and in their original condition can be sold again: at most what
    this order shipped of each wine."""
    if not event.complete:
        return
    for line in event.lines:
        await conn.execute(
            "UPDATE stock SET shipped = shipped - LEAST($2, coalesce(("
            "SELECT quantity FROM reservation_view WHERE order_id = $3 AND sku = $1 "
            "AND status = 'shipped'), 0)) WHERE sku = $1",
            line.sku, line.quantity, envelope.order_id)


async def _parcel_restocked(conn: asyncpg.Connection, envelope: Envelope) -> None:
    """The order's shipped bottles are back in stock: shipped → on hand again, once (its
    reservation rows leave the shipped status)."""
    await conn.execute(
        "UPDATE stock SET shipped = stock.shipped - r.quantity "
        "FROM reservation_view r WHERE r.order_id = $1 AND r.status = 'shipped' "
        "AND r.sku = stock.sku", envelope.order_id)
    await conn.execute("UPDATE reservation_view SET status = 'restocked' WHERE order_id = $1 "
                       "AND status = 'shipped'", envelope.order_id)


async def _ship_stock(conn: asyncpg.Connection, envelope: Envelope) -> None:
    """The order's reserved bottles leave the warehouse: reserved → shipped."""
    await conn.execute(
        "UPDATE stock SET reserved = stock.reserved - r.quantity, "
        "shipped = stock.shipped + r.quantity "
        "FROM reservation_view r WHERE r.order_id = $1 AND r.status = 'reserved' "
        "AND r.sku = stock.sku", envelope.order_id)
    await conn.execute("UPDATE reservation_view SET status = 'shipped' WHERE order_id = $1 "
                       "AND status = 'reserved'", envelope.order_id)


READ_MODEL = ReadModel(service="fulfilment", project=project,
                       tables=("reservation_view", "shipment_view", "deadline_suspensions",
                               "claim_view"),
                       derived_columns=(("stock", "reserved = 0, shipped = 0"),))
"""What ``python -m services.fulfilment.main rebuild`` replays."""
