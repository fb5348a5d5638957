"""Which events of the log make money owed back, and on which terms (RULES.md "Which applies").

Pure: each function turns one cause event into the ``OweRefund`` it means (or None when it
owes nothing: nothing was paid). The refund id is derived from the cause event's id, so a
redelivered cause names the same refund and is recorded once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from contracts.base import Event
from contracts.orders import (
    CancelledLinePaid,
    ContractTerminated,
    OrderCancelled,
    OrderLineCancelled,
    PaymentReceivedAfterCancellation,
    WithdrawalRequested,
)
from contracts.policies import (
    blocked_refund_deadline,
    paris_date,
    termination_refund_deadline,
    unavailable_refund_deadline,
    withdrawal_refund_deadline,
)
from contracts.refunds import RefundSituation
from services.refunds.domain import OweRefund

__all__ = ["CAUSES", "for_cancelled_line", "for_cancelled_line_paid", "for_cancelled_order",
           "for_payment_after_cancellation", "for_termination", "for_withdrawal",
           "obligation_for", "refund_id_of"]

_REFUNDS = uuid.UUID("6b1f3c1e-7f4e-5d0a-9a55-0c2c1f9e5a10")


def refund_id_of(cause_event_id: uuid.UUID | str) -> str:
    """The refund a cause event creates: the same id however often the cause is delivered."""
    return str(uuid.uuid5(_REFUNDS, str(cause_event_id)))


def for_termination(event: ContractTerminated, cause_id: str) -> OweRefund | None:
    """All sums paid, within 14 days of the termination; max(A, B) (Art. 11, L.216-7)."""
    if event.refund_cents <= 0:
        return None
    products = event.refund_cents if event.products_cents is None else event.products_cents
    return OweRefund(
        refund_id_of(cause_id), "late_delivery", event.refund_cents, products,
        termination_refund_deadline(event.received_on),
        f"termination ({event.cause}) received {event.received_on}: all sums paid within "
        "14 days (Art. 11, L.216-7)", "ContractTerminated", cause_id)


def for_withdrawal(event: WithdrawalRequested, cause_id: str) -> OweRefund | None:
    """The products withdrawn and the initial delivery, by max(notice + 14 d, min(goods
    received, proof of dispatch)); schedule A (Art. 16, L.221-24)."""
    base = event.products_refund_cents + event.delivery_refund_cents
    if base <= 0:
        return None
    return OweRefund(
        refund_id_of(cause_id), "withdrawal", base, event.products_refund_cents,
        withdrawal_refund_deadline(event.notice_on),
        f"withdrawal notice {event.notice_on}: max(notice + 14 days, min(goods received, "
        "proof of dispatch)) (Art. 16, L.221-24)", "WithdrawalRequested", cause_id,
        notice_on=event.notice_on)


def for_cancelled_line(event: OrderLineCancelled, cause_id: str) -> OweRefund | None:
    """A paid line cancelled: unavailable, min(payment + 30 d, cancellation + 14 d); after a
    block, cancellation + 14 d; schedule B either way."""
    if event.paid_on is None or event.refund_cents <= 0:
        return None
    if event.cause == "blocked":
        deadline = blocked_refund_deadline(event.cancelled_on)
        rule = f"line {event.sku} of a blocked order cancelled {event.cancelled_on}: " \
               "within 14 days (Art. 4)"
        situation: RefundSituation = "blocked"
    else:
        deadline = unavailable_refund_deadline(event.paid_on, event.cancelled_on)
        rule = f"unavailable line {event.sku} cancelled {event.cancelled_on}, paid " \
               f"{event.paid_on}: min(payment + 30 days, cancellation + 14 days) (Art. 11)"
        situation = "unavailable"
    return OweRefund(refund_id_of(cause_id), situation, event.refund_cents, event.refund_cents,
                     deadline, rule, "OrderLineCancelled", cause_id)


def for_cancelled_line_paid(event: CancelledLinePaid, cause_id: str) -> OweRefund | None:
    """A line cancelled before the payment and paid with it all the same: owed back by the
    deadline its cancellation's row gives (after a block: cancellation + 14 d; unavailable:
    min(payment + 30 d, cancellation + 14 d)), but never before the day it was paid;
    schedule B. See decision 0010."""
    if event.refund_cents <= 0:
        return None
    if event.cause == "blocked":
        situation: RefundSituation = "blocked"
        deadline = blocked_refund_deadline(event.cancelled_on)
    else:
        situation = "unavailable"
        deadline = unavailable_refund_deadline(event.paid_on, event.cancelled_on)
    return OweRefund(
        refund_id_of(cause_id), situation, event.refund_cents, event.refund_cents,
        max(deadline, event.paid_on),
        f"line {event.sku} cancelled {event.cancelled_on} ({event.cause.replace('_', ' ')}) "
        f"and paid {event.paid_on} all the same: by its cancellation's deadline, not before "
        "the payment (Art. 4, 11)", "CancelledLinePaid", cause_id)


def for_cancelled_order(event: OrderCancelled, cause_id: str) -> OweRefund | None:
    """An order refused after its payment was captured (identity not verified): the seller
    withholds it as for a block (Art. 4, 10), so it is owed back like a blocked line's
    cancellation: within 14 days, schedule B. See docs/decisions/0010."""
    cancelled_on: dt.date = paris_date(event.cancelled_at)
    return _withheld(
        event.refund_cents, event.products_cents, cancelled_on,
        f"order cancelled {cancelled_on} ({event.reason.replace('_', ' ')}) after payment: "
        "all sums paid within 14 days (Art. 4, 10)", "OrderCancelled", cause_id)


def for_payment_after_cancellation(event: PaymentReceivedAfterCancellation,
                                   cause_id: str) -> OweRefund | None:
    """A payment the bank took while the order was being cancelled: withheld as for a
    cancellation after payment, so owed back within 14 days of its receipt, schedule B.
    See docs/decisions/0010."""
    received_on: dt.date = paris_date(event.received_at)
    return _withheld(
        event.amount_cents, event.products_cents, received_on,
        f"payment received {received_on} for an order already cancelled: all of it within "
        "14 days (Art. 4, 10)", "PaymentReceivedAfterCancellation", cause_id)


def _withheld(base_cents: int, products_cents: int, since: dt.date, rule: str,
              cause_type: str, cause_id: str) -> OweRefund | None:
    """Money the seller holds for an order it cancelled: as a blocked line's cancellation,
    within 14 days of ``since``, schedule B (nothing when nothing was paid)."""
    if base_cents <= 0:
        return None
    return OweRefund(refund_id_of(cause_id), "blocked", base_cents, products_cents,
                     blocked_refund_deadline(since), rule, cause_type, cause_id)


_OBLIGATIONS: dict[str, Callable[[Any, str], OweRefund | None]] = {
    "ContractTerminated": for_termination,
    "WithdrawalRequested": for_withdrawal,
    "OrderLineCancelled": for_cancelled_line,
    "CancelledLinePaid": for_cancelled_line_paid,
    "OrderCancelled": for_cancelled_order,
    "PaymentReceivedAfterCancellation": for_payment_after_cancellation,
}
CAUSES = tuple(_OBLIGATIONS)
"""The orders' event types that may make money owed back."""


def obligation_for(cause_type: str, event: Event, cause_id: str) -> OweRefund | None:
    """What the cause event ``cause_id`` of type ``cause_type`` makes owed, if anything."""
    return _OBLIGATIONS[cause_type](event, cause_id)
