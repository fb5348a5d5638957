"""The confirmation of acceptance (Art. 5): an e-mail to the buyer once the price is received,
sent at least once and recorded once (``ConfirmationSent``), through the outbox pattern.

The mailer works from the read model: every paid order whose confirmation is not recorded yet is
due. It sends, then records; a crash between the two sends again on the next pass with the same
``Message-ID``, so mail clients and the sink see one message.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib
import asyncpg

from contracts.personal import PersonalData
from services.orders import handlers
from services.orders.settings import OrdersSettings
from services.orders.views import OrderRecord, confirmations_due
from services.platform.eventstore import ConcurrencyError
from services.platform.personal import KeyStore, open_sealed
from services.platform.runtime import Context

__all__ = ["confirmation_message", "message_id", "send_confirmations"]
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
             for line in order.lines]
    message.set_content("\n".join([
        "Bonjour,", "", f"Nous confirmons l'acceptation de votre commande {order.order_id} :",
        *lines, f"  Livraison ({order.delivery_method}) — {_euros(order.delivery_charge_cents)}",
        f"  Total payé — {_euros(order.total_cents)}", "",
        f"Conditions générales de vente acceptées : version {order.terms_version}.",
        f"Copie du contrat : {settings.orders_public_url}/orders/{order.order_id}", ""]))
    return message


async def send_confirmations(pool: asyncpg.Pool, ctx: Context, keys: KeyStore,
                             settings: OrdersSettings) -> int:
    """Send every due confirmation and record each one sent; stop at the first mail-server
    failure (the next pass retries). Returns how many were recorded."""
    sent = 0
    for order in await confirmations_due(pool):
        personal = await open_sealed(keys, order.personal, PersonalData)
        if personal is None:
            continue  # erased before the confirmation went out: there is no one to write to
        try:
            await aiosmtplib.send(confirmation_message(order, personal, settings),
                                  hostname=settings.smtp_host, port=settings.smtp_port,
                                  timeout=settings.smtp_timeout)
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("mail server unavailable (%s); confirmations retried next pass",
                        type(error).__name__)
            return sent
        sent += await _record_sent(pool, order.order_id, ctx)
    return sent


async def _record_sent(pool: asyncpg.Pool, order_id: str, ctx: Context) -> int:
    try:
        async with pool.acquire() as conn, conn.transaction():
            await handlers.record_confirmation_sent(conn, order_id, message_id(order_id), ctx)
    except ConcurrencyError:
        return 0  # the order changed meanwhile: still due, so the next pass records it
    return 1


def _euros(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d} €"
