"""E-mails to the buyer, each sent at least once and recorded once, through the outbox
pattern: the confirmation of acceptance (Art. 5) once the price is received
(``ConfirmationSent``), and the notice of an unavailable line with the buyer's choice
(``UnavailabilityNotified``).

The mailer works from the read model: every paid order whose confirmation is not recorded yet is
due. It sends, then records; a crash between the two sends again on the next pass with the same
``Message-ID``, so mail clients and the sink see one message.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import aiosmtplib
import asyncpg

from contracts.personal import PersonalData
from services.orders import handlers
from services.orders.lines import RecordUnavailabilityNotified
from services.orders.settings import OrdersSettings
from services.orders.views import OrderRecord, confirmations_due, unavailable_lines_to_notify
from services.platform.eventstore import ConcurrencyError
from services.platform.personal import KeyStore, open_sealed
from services.platform.runtime import Context

__all__ = ["confirmation_message", "message_id", "send_confirmations",
           "send_unavailability_notices", "unavailability_message"]
log = logging.getLogger(__name__)


def message_id(order_id: str) -> str:
    """The one Message-ID of an order's confirmation (the same on every retry)."""
    return f"<confirmation.{order_id}@wineshop.example>"


def confirmation_message(order: OrderRecord, personal: PersonalData,
                         settings: OrdersSettings) -> EmailMessage:
    """The confirmation of acceptance: the order, its amounts, the terms version accepted and a
    link to the contract's copy."""
    message = EmailMessage()
    message["From"], message["To"] = settings.mail_from, personal.email
    message["Subject"] = f"Confirmation de votre commande {order.order_id}"
    message["Message-ID"] = message_id(order.order_id)
    lines = [f"  {line.quantity} × {line.name} — {_euros(line.line_total_cents)}"
             + (" (annulée)" if order.line_changes.get(line.sku, {}).get("state") == "cancelled"
                else "") for line in order.lines]
    message.set_content("\n".join([
        "Bonjour,", "", f"Nous confirmons l'acceptation de votre commande {order.order_id} :",
        *lines, f"  Livraison ({order.delivery_method}) — {_euros(order.delivery_charge_cents)}",
        f"  Total payé — {_euros(order.paid_cents or order.total_cents)}", "",
        f"Conditions générales de vente acceptées : version {order.terms_version}.",
        f"Copie du contrat : {settings.orders_public_url}/orders/{order.order_id}", ""]))
    return message


def unavailability_message(order: OrderRecord, sku: str, personal: PersonalData,
                           settings: OrdersSettings, reply_by: dt.datetime) -> EmailMessage:
    """The notice of an unavailable line: cancel it, or take an equivalent wine at the same
    price, by ``reply_by``; without an answer the line is cancelled and refunded."""
    message = EmailMessage()
    message["From"], message["To"] = settings.mail_from, personal.email
    message["Subject"] = f"Produit indisponible dans votre commande {order.order_id}"
    message["Message-ID"] = f"<unavailable.{sku}.{order.order_id}@wineshop.example>"
    base = f"{settings.orders_public_url}/orders/{order.order_id}/lines/{sku}"
    message.set_content("\n".join([
        "Bonjour,", "", f"Le produit {sku} de votre commande {order.order_id} est indisponible.",
        f"Vous pouvez, avant le {reply_by.isoformat()} :",
        f"  - annuler cette ligne (remboursée) : {base}/cancellation",
        f"  - accepter un vin équivalent au même prix : {base}/exchange",
        "Sans réponse, la ligne sera annulée et remboursée.", ""]))
    return message


async def send_unavailability_notices(pool: asyncpg.Pool, ctx: Context, keys: KeyStore,
                                      settings: OrdersSettings) -> int:
    """Tell every buyer not yet told of an unavailable line; record each notice sent."""
    sent = 0
    for order, sku in await unavailable_lines_to_notify(pool):
        personal = await open_sealed(keys, order.personal, PersonalData)
        if personal is None:
            continue
        reply_by = time_to_reply(order, sku, ctx.clock.now(), settings)
        message = unavailability_message(order, sku, personal, settings, reply_by)
        if not await _send(message, settings):
            return sent
        command = RecordUnavailabilityNotified(sku, str(message["Message-ID"]), reply_by)
        sent += await _recorded(pool, functools.partial(
            handlers.handle, order_id=order.order_id, command=command, ctx=ctx))
    return sent


def time_to_reply(order: OrderRecord, sku: str, now: dt.datetime,
                  settings: OrdersSettings) -> dt.datetime:
    """Until when the buyer told now may choose: the line's time to reply, or the whole time
    to reply from now when the notice goes out later than planned (the mail server down)."""
    planned = dt.datetime.fromisoformat(order.line_changes[sku]["reply_by"])
    return max(planned, now + settings.unavailable_reply_time)


async def _send(message: EmailMessage, settings: OrdersSettings) -> bool:
    try:
        await aiosmtplib.send(message, hostname=settings.smtp_host, port=settings.smtp_port,
                              timeout=settings.smtp_timeout)
    except (aiosmtplib.SMTPException, OSError) as error:
        log.warning("mail server unavailable (%s); e-mails retried next pass",
                    type(error).__name__)
        return False
    return True


async def _recorded(pool: asyncpg.Pool,
                    record_it: Callable[[asyncpg.Connection], Awaitable[None]]) -> int:
    try:
        async with pool.acquire() as conn, conn.transaction():
            await record_it(conn)
    except ConcurrencyError:
        return 0  # the order changed meanwhile: still due, so the next pass records it
    return 1


async def send_confirmations(pool: asyncpg.Pool, ctx: Context, keys: KeyStore,
                             settings: OrdersSettings) -> int:
    """Send every due confirmation and record each one sent; stop at the first mail-server
    failure (the next pass retries). Returns how many were recorded."""
    sent = 0
    for order in await confirmations_due(pool):
        personal = await open_sealed(keys, order.personal, PersonalData)
        if personal is None:
            continue  # erased before the confirmation went out: there is no one to write to
        if not await _send(confirmation_message(order, personal, settings), settings):
            return sent
        sent += await _recorded(pool, functools.partial(
            handlers.record_confirmation_sent, order_id=order.order_id,
            message_id=message_id(order.order_id), ctx=ctx))
    return sent


def _euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d} €"
