"""Command handlers of the payments service: each takes its command and its collaborators,
reads the clock once, and records the decision through the one write path."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs

import asyncpg
import httpx
from prometheus_client import Counter

from contracts.envelope import Envelope
from contracts.payments import PaymentSessionOpened
from contracts.personal import PersonalData
from services.payments import domain, etransactions
from services.payments.projections import project
from services.payments.settings import PaymentsSettings
from services.payments.views import buyer_in_good_standing, payment_record
from services.platform.eventstore import Aggregate, Metadata, load_stream
from services.platform.logs import ThrottledWarning
from services.platform.personal import KeyStore, open_sealed
from services.platform.runtime import Context
from services.platform.write_path import record, record_command

__all__ = [
    "PAYMENTS",
    "UNRECORDED_NOTIFICATIONS",
    "BadNotificationError",
    "Bank",
    "SessionForm",
    "capture_payment",
    "handle",
    "next_question",
    "open_session",
    "pay_out_refund",
    "receive_notification",
]

PAYMENTS = Aggregate(domain.PaymentState, domain.evolve)
log = logging.getLogger(__name__)
UNRECORDED_NOTIFICATIONS = Counter(
    "payments_notifications_unrecorded_total",
    "Notifications that failed verification and were not recorded (they name no payment "
    "session of ours, or the session's forgery is recorded already)")
# anyone can send them, as often as they like: counted each, logged at most once a minute
_unrecorded_warning = ThrottledWarning(log)


@dataclass(frozen=True)
class Bank:
    """The shop's side of the bank: its account, an HTTP client, the URLs the bank calls."""

    settings: PaymentsSettings
    account: etransactions.ShopAccount
    http: httpx.AsyncClient

    @classmethod
    def from_settings(cls, settings: PaymentsSettings) -> Bank:
        """The bank of ``settings``, with a client that gives up on a silent bank in 15 s."""
        return cls(settings, settings.account(), httpx.AsyncClient(timeout=15.0))


@dataclass(frozen=True)
class SessionForm:
    """What a front end puts in a hidden form to send the buyer to the bank's page."""

    action: str
    method: str
    fields: dict[str, str]


class BadNotificationError(ValueError):
    """A notification that names no payment: refused, and there is nothing to record it on."""


async def handle(conn: asyncpg.Connection, order_id: str, command: domain.Command, ctx: Context,
                 cause: Envelope | None = None) -> None:
    """Decide ``command`` on the order's payment and record it: what an order's event means
    for it (with ``cause``: expected, held, released), or what ops say (a dispute, an identity
    verification)."""
    await record_command(conn, order_id, command, ctx, aggregate=PAYMENTS,
                         decide=domain.decide, project=project, cause=cause)


async def open_session(conn: asyncpg.Connection, order_id: str, ctx: Context, bank: Bank,
                       keys: KeyStore) -> SessionForm:
    """Record a new payment reference for the order's total and sign the bank's form for it."""
    now = ctx.clock.now()
    payment = await payment_record(conn, order_id)
    if payment is None:
        raise domain.PaymentNotFoundError(f"no payment is expected for order {order_id}")
    command = domain.OpenSession(f"{order_id}.{secrets.token_hex(4)}",
                                 await buyer_in_good_standing(conn, payment.buyer_id))
    [opened] = await record(conn, PAYMENTS, order_id,
                            lambda state: domain.decide(state, command, now),
                            Metadata.for_command(ctx.emitter, now), project)
    session = opened.event()
    assert isinstance(session, PaymentSessionOpened)  # the one event OpenSession decides
    personal = await open_sealed(keys, payment.personal, PersonalData)
    if personal is None:
        raise domain.PaymentConflictError("the buyer's personal data is erased")
    fields = etransactions.payment_form(
        bank.account, reference=command.payment_id, amount_cents=session.amount_cents,
        email=personal.email, notify_url=bank.settings.notify_url(),
        returns=bank.settings.returns(order_id), now=now)
    return SessionForm(action=bank.account.payment_page_url, method="POST", fields=fields)


async def receive_notification(conn: asyncpg.Connection, query: str, ctx: Context,
                               bank: Bank) -> None:
    """Verify the bank's signed notification and record what it says, or why it is rejected."""
    payment_id = _claimed_payment(query)
    try:
        notice = etransactions.verify_notification(bank.account.bank_public_key_pem, query)
        command: domain.Command = domain.ReceiveNotification(
            payment_id=notice.reference, amount_cents=notice.amount_cents, error=notice.error,
            authorisation=notice.authorisation or "", transaction=notice.transaction,
            call=notice.call)
        payment_id = notice.reference  # what the bank signed, not what the query claims
    except ValueError:  # a bad or missing signature, or a message we cannot even verify
        command = domain.RejectNotification(payment_id)
    now = ctx.clock.now()
    recorded = await record(conn, PAYMENTS, _order_of(payment_id),
                            lambda state: domain.decide(state, command, now),
                            Metadata.for_command(ctx.emitter, now), project)
    if not recorded and isinstance(command, domain.RejectNotification):
        UNRECORDED_NOTIFICATIONS.inc()
        _unrecorded_warning("a notification naming %r failed verification: not recorded (no "
                            "payment session of ours by that name, or its forgery is recorded "
                            "already)", payment_id)


async def capture_payment(pool: asyncpg.Pool, order_id: str, ctx: Context, bank: Bank) -> bool:
    """Capture the order's authorised payment at the bank (Paybox Direct) and record the
    answer; False when the bank could not be reached (the next pass asks again).

    The bank is called outside any transaction, after ``PaymentCaptureAsked`` is recorded with
    the question's number (from a sequence), so asking again after a crash or a timeout asks
    the same question, and the bank answers it once. A held order is not asked, unless
    it was asked before the hold came: its answer may have been lost.
    """
    state = await _capture_to_ask(pool, order_id, ctx)
    if state is None or state.authorised is None:
        return True
    now = ctx.clock.now()
    try:
        answer = await etransactions.capture(
            bank.http, bank.account, reference=state.authorised,
            amount_cents=state.capture_cents, transaction=state.transaction, call=state.call,
            question=state.capture_question or _question(state.authorised), now=now)
    except (httpx.HTTPError, etransactions.MalformedAnswerError) as error:
        log.warning("capture of %s: the bank did not answer readably (%s); asking again next "
                    "pass", order_id, type(error).__name__)
        return False
    if answer.unavailable:
        log.warning("capture of %s: the bank failed on its side (%s); asking again next pass",
                    order_id, answer.code)
        return False
    command = domain.RecordCapture(answer.code, answer.comment)
    async with pool.acquire() as conn, conn.transaction():
        await record(conn, PAYMENTS, order_id, lambda state: domain.decide(state, command, now),
                     Metadata.for_command(ctx.emitter, now), project)
    return True


async def _capture_to_ask(pool: asyncpg.Pool, order_id: str,
                          ctx: Context) -> domain.PaymentState | None:
    """The payment whose capture is to be asked now (recording that it is asked, the first
    time), or None: nothing to capture, or held before it was ever asked."""
    async with pool.acquire() as conn:
        state = PAYMENTS.load(await load_stream(conn, order_id))
    if state is None or state.status != "authorised":
        return None
    if state.capture_asked:
        return state
    now = ctx.clock.now()
    async with pool.acquire() as conn, conn.transaction():
        command = domain.AskCapture(await next_question(conn))
        asked = await record(conn, PAYMENTS, order_id,
                             lambda state: domain.decide(state, command, now),
                             Metadata.for_command(ctx.emitter, now), project)
    if not asked:
        return None  # held (its authorisation lapses), or asked meanwhile by another copy
    return PAYMENTS.fold(state, [envelope.event() for envelope in asked])  # its question


async def pay_out_refund(pool: asyncpg.Pool, order_id: str, refund_id: str, ctx: Context,
                         bank: Bank) -> bool:
    """Refund the payout ordered for ``refund_id`` on the order's captured transaction (Paybox
    Direct) and record the answer, paid or declined; False when the bank could not be reached
    (the next pass asks again).

    The bank is called outside any transaction; the question number is derived from the refund
    and its attempt, so asking again after a crash or a timeout asks the same question, and the
    bank pays it once.
    """
    async with pool.acquire() as conn:
        state = PAYMENTS.load(await load_stream(conn, order_id))
    payout = None if state is None else state.payouts.get(refund_id)
    if state is None or state.authorised is None or payout is None or payout.status != "ordered":
        return True
    now = ctx.clock.now()
    answer = await _ask_refund(bank, state, refund_id, payout, now)
    if answer is None:
        return False
    command = domain.RecordRefundPayout(refund_id, payout.attempt, answer.code, answer.comment,
                                        _bank_reference(answer))
    async with pool.acquire() as conn, conn.transaction():
        await record(conn, PAYMENTS, order_id, lambda state: domain.decide(state, command, now),
                     Metadata.for_command(ctx.emitter, now), project)
    return True


async def _ask_refund(bank: Bank, state: domain.PaymentState, refund_id: str,
                      payout: domain.Payout, now: dt.datetime
                      ) -> etransactions.DirectResponse | None:
    """The bank's answer to the payout's refund question, or None if it did not answer."""
    try:
        return await etransactions.refund(
            bank.http, bank.account, reference=state.authorised or "",
            amount_cents=payout.amount_cents,
            transaction=state.transaction, call=state.call,
            question=payout.question or _question(f"{refund_id}#{payout.attempt}"), now=now)
    except (httpx.HTTPError, etransactions.MalformedAnswerError) as error:
        # the same question asked again gets the same answer: never done twice (NUMQUESTION)
        log.warning("payout of refund %s (attempt %d): the bank did not answer readably (%s); "
                    "asking again next pass", refund_id, payout.attempt, type(error).__name__)
        return None


def _bank_reference(answer: etransactions.DirectResponse) -> str:
    """The bank's numbers for a refund it did: its transaction and authorisation."""
    return f"{answer.transaction}/{answer.authorisation}" if answer.approved else ""


def _claimed_payment(query: str) -> str:
    variables = parse_qs(query, keep_blank_values=True)
    if any(len(values) > 1 for values in variables.values()):
        raise BadNotificationError("a variable is repeated")
    references = variables.get("Ref") or [""]
    if not references[0] or "." not in references[0] or len(references[0]) > 200:
        raise BadNotificationError("the notification names no payment of ours")
    return references[0]


def _order_of(payment_id: str) -> str:
    return payment_id.rsplit(".", 1)[0]


async def next_question(conn: asyncpg.Connection) -> int:
    """A Paybox Direct NUMQUESTION never used by this shop (migration 006's sequence), to be
    recorded before the bank is asked."""
    return int(await conn.fetchval("SELECT nextval('direct_questions')"))


def _question(subject: str) -> int:
    """The NUMQUESTION asked about ``subject`` before question numbers were recorded (events
    without one): the same subject asks the same question as it did then."""
    return int(hashlib.sha256(subject.encode()).hexdigest(), 16) % 10**10
