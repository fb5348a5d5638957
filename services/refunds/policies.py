"""Reactions of the refunds service to the other services' events (``when_<event>_<action>``):
what each means for the money owed back on the order."""

from __future__ import annotations

import asyncpg

from contracts.base import Event
from contracts.envelope import Envelope
from contracts.fulfilment import ReturnReceived
from contracts.orders import ProofOfDispatchReceived, TerminationVoided
from contracts.payments import RefundPaid, RefundPayoutDeclined
from services.platform.runtime import Context
from services.refunds import domain, handlers, obligations

__all__ = ["when_a_cause_is_recorded_owe_the_refund", "when_goods_are_returned_note_it",
           "when_proof_of_dispatch_is_received_note_it", "when_refund_paid_issue_it",
           "when_refund_payout_declined_keep_it_open",
           "when_termination_voided_void_its_refund"]

CAUSES = obligations.CAUSES

async def when_a_cause_is_recorded_owe_the_refund(conn: asyncpg.Connection, envelope: Envelope,
                                                  event: Event, ctx: Context) -> None:
    """A termination, a withdrawal, a cancelled paid line or order: a refund is owed."""
    command = obligations.obligation_for(envelope.type, event, str(envelope.event_id))
    if command is not None:
        await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_goods_are_returned_note_it(conn: asyncpg.Connection, envelope: Envelope,
                                          event: Event, ctx: Context) -> None:
    """The seller received the withdrawn goods back: the refund may be deferred to then."""
    assert isinstance(event, ReturnReceived)
    command = domain.return_of_goods(event, envelope.occurred_at)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_proof_of_dispatch_is_received_note_it(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """The buyer proved sending the goods back: the refund may be deferred to that date."""
    assert isinstance(event, ProofOfDispatchReceived)
    command = domain.return_of_goods(event, envelope.occurred_at)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_refund_paid_issue_it(conn: asyncpg.Connection, envelope: Envelope, event: Event,
                                    ctx: Context) -> None:
    """The bank refunded the buyer: the refund is issued for what was ordered paid, and the
    figure of the day it paid owed, when later and more (its balance)."""
    assert isinstance(event, RefundPaid)
    command = domain.RecordPayoutOutcome(event.refund_id, event.attempt, event.bank_reference,
                                         paid_on=event.paid_on,
                                         policy=await handlers.current_policy(conn))
    recorded = await handlers.handle(conn, envelope.order_id, command, ctx, envelope)
    # the figure of a later day may borrow a rate not recorded: operators are alerted
    handlers.alert_if_provisional(envelope.order_id, [
        issued for issued in recorded if issued.type == "RefundIssuedLater"])


async def when_refund_payout_declined_keep_it_open(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """The bank refused: the refund stays open, and keeps escalating."""
    assert isinstance(event, RefundPayoutDeclined)
    command = domain.RecordPayoutOutcome(event.refund_id, event.attempt, code=event.code,
                                         reason=event.reason)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)


async def when_termination_voided_void_its_refund(
        conn: asyncpg.Connection, envelope: Envelope, event: Event, ctx: Context) -> None:
    """The order was delivered before the termination was received: its refund is owed no
    more (what was paid of it already is for operators to recover)."""
    assert isinstance(event, TerminationVoided)
    command = domain.VoidTerminationRefund(str(envelope.event_id), event.delivered_on,
                                           event.received_on)
    await handlers.handle(conn, envelope.order_id, command, ctx, envelope)
