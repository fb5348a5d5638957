"""Reactions of the orders service to other services' events (``when_<event>_<action>``).

Each policy turns the event into a command and calls its handler in ``handlers.py``;
``subscriptions.py`` wires them.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.fulfilment import (
    Delivered,
    DeliveryOverdue,
    DeliveryOverdueWithdrawn,
    DeliveryReserved,
    ItemUnavailable,
    Shipped,
)
from contracts.payments import PaymentCaptured, VerificationCompleted
from services.orders import after_sale, domain, handlers, lines
from services.platform.runtime import Context

__all__ = [
    "when_delivered_record_it",
    "when_delivery_overdue_record_it",
    "when_item_unavailable_ask_the_buyer",
    "when_payment_captured_record_payment",
    "when_shipped_record_it",
    "when_verification_completed_record_it",
    "when_verification_requested_await_it",
]


async def when_payment_captured_record_payment(conn: asyncpg.Connection, envelope: Envelope,
                                               event: Event, ctx: Context) -> None:
    """The price is received: record it on the order (the sale is final once the buyer has
    been sent the confirmation too)."""
    assert isinstance(event, PaymentCaptured)
    command = domain.RecordPayment(event.payment_id, event.amount_cents, event.captured_at)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_verification_requested_await_it(conn: asyncpg.Connection, envelope: Envelope,
                                               event: Event, ctx: Context) -> None:
    """The seller requires identity documents: the order waits for their check."""
    await handlers.handle(conn, envelope.order_id, domain.AwaitVerification(), ctx,
                                    envelope)


async def when_verification_completed_record_it(conn: asyncpg.Connection, envelope: Envelope,
                                                event: Event, ctx: Context) -> None:
    """Documents accepted: the order may become final; rejected: it is cancelled."""
    assert isinstance(event, VerificationCompleted)
    command = domain.RecordVerification(accepted=event.outcome == "accepted")
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_shipped_record_it(conn: asyncpg.Connection, envelope: Envelope, event: Event,
                                 ctx: Context) -> None:
    """The order is on its way."""
    assert isinstance(event, Shipped)
    await handlers.handle(conn, envelope.order_id, after_sale.NoteShipment(event.shipped_at),
                              ctx, envelope)


async def when_delivered_record_it(conn: asyncpg.Connection, envelope: Envelope, event: Event,
                                   ctx: Context) -> None:
    """Delivered (with or without reservations): the withdrawal window opens."""
    assert isinstance(event, Delivered | DeliveryReserved)
    command = after_sale.NoteDelivery(event.delivered_on)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_delivery_overdue_record_it(conn: asyncpg.Connection, envelope: Envelope,
                                          event: Event, ctx: Context) -> None:
    """The deadline passed: the buyer may now ask for performance."""
    assert isinstance(event, DeliveryOverdue)
    await handlers.handle(conn, envelope.order_id, after_sale.NoteOverdue(event.deadline),
                              ctx, envelope)


async def when_delivery_overdue_withdrawn_withdraw_it(conn: asyncpg.Connection,
                                                     envelope: Envelope, event: Event,
                                                     ctx: Context) -> None:
    """A suspension declared after the fact moved the deadline: the delivery is not late."""
    assert isinstance(event, DeliveryOverdueWithdrawn)
    await handlers.handle(conn, envelope.order_id,
                          after_sale.NoteOverdueWithdrawn(event.deadline), ctx, envelope)


async def when_item_unavailable_ask_the_buyer(conn: asyncpg.Connection, envelope: Envelope,
                                              event: Event, ctx: Context,
                                              reply_within: dt.timedelta) -> None:
    """The line could not be reserved: the buyer has ``reply_within`` to cancel it or take an
    equivalent wine (the e-mail goes out through the mailer)."""
    assert isinstance(event, ItemUnavailable)
    command = lines.NoteUnavailable(event.sku, ctx.clock.now() + reply_within)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)
