"""A projection written as changes (``services.platform.changes``), on real PostgreSQL: the
read model a rebuild folds a window at a time equals the one the same events give projected one
by one, live, for every kind of orders event, events projected twice, and any window size.

Each test works in the session's rolled-back transaction.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import pytest

from contracts.base import Event
from contracts.envelope import EmittingService, seal
from contracts.hashing import GENESIS_HASH
from contracts.orders import (
    BuyerDataErased,
    BuyerDataRestricted,
    CancelledLinePaid,
    ContractTerminated,
    CreditNoteIssued,
    LineExchanged,
    LineUnavailable,
    OrderAwaitingVerification,
    OrderBlocked,
    OrderCancelled,
    OrderDeliveryOverdue,
    OrderDeliveryOverdueWithdrawn,
    OrderLineCancelled,
    OrderUnblocked,
    OrderVerified,
    PaymentReceivedAfterCancellation,
    PerformanceRequested,
    PersonalDataRectified,
    ProofOfDispatchReceived,
    UnavailabilityNotified,
    WithdrawalRequested,
)
from contracts.personal import Sealed
from contracts.vocabulary import LineQuantity
from services.orders.projections import READ_MODEL as ORDERS
from services.platform.changes import DuplicateRowError, Folding, Insert, Table
from services.platform.rebuild import Decoded, ReadModel, Snapshot, snapshot
from tests.component.support import NOW, empty_read_model, seeded_orders

SKU = "COTES-ROUSSILLON-ROUGE-2022"


async def one_by_one_and_folded(conn: asyncpg.Connection, model: ReadModel,
                                events: Sequence[Decoded], window: int,
                                ) -> tuple[Snapshot, Snapshot]:
    """The read model from ``events`` projected one by one, then folded in windows."""
    assert model.changes is not None
    await empty_read_model(conn, model)
    for envelope, event in events:
        await model.project(conn, envelope, event)
    one_by_one = await snapshot(conn, model)
    await empty_read_model(conn, model)
    folding = Folding(model.changes)
    for first in range(0, len(events), window):
        await folding.apply(conn, events[first:first + window])
    return one_by_one, await snapshot(conn, model)


def _after(placed: list[Decoded], events: Sequence[Event]) -> list[Decoded]:
    """``events`` appended to the stream of the order of ``placed``, after its last event."""
    last = placed[-1][0]
    producer = EmittingService(service="orders", build="test")
    decoded = []
    for step, event in enumerate(events, start=1):
        envelope = seal(event, order_id=last.order_id, version=last.version + step,
                        prev_hash=GENESIS_HASH, producer=producer,
                        occurred_at=last.occurred_at + dt.timedelta(minutes=step),
                        correlation_id=uuid.uuid4())
        decoded.append((envelope, envelope.event()))
    return decoded


def _after_sale() -> list[Event]:
    """Every orders event the seeded log does not hold, in an order a stream could have."""
    day = NOW.date()
    sealed = Sealed(key_id="key-1", nonce="bm9uY2U", ciphertext="Y2lw")
    return [
        OrderAwaitingVerification(), OrderVerified(),
        OrderBlocked(reason="incorrect_address", detail="no such street"),
        OrderUnblocked(resolution="address corrected"),
        LineUnavailable(sku=SKU, quantity=2, reply_by=NOW + dt.timedelta(days=3)),
        UnavailabilityNotified(sku=SKU, message_id="m-1"),
        LineExchanged(sku=SKU, replacement_sku="COTES-ROUSSILLON-BLANC-2024", quantity=2),
        OrderLineCancelled(sku=SKU, quantity=2, refund_cents=3000, cause="unavailable",
                           cancelled_on=day, paid_on=day),
        CancelledLinePaid(sku=SKU, quantity=2, refund_cents=3000, cause="unavailable",
                          cancelled_on=day, paid_on=day),
        PersonalDataRectified(buyer_id="buyer-0", personal=sealed, rectified_at=NOW),
        OrderDeliveryOverdue(deadline=day), ProofOfDispatchReceived(dispatched_on=day),
        PerformanceRequested(requested_on=day, additional_deadline=day + dt.timedelta(days=7)),
        OrderDeliveryOverdueWithdrawn(deadline=day + dt.timedelta(days=2)),
        OrderDeliveryOverdue(deadline=day + dt.timedelta(days=2)),
        ContractTerminated(cause="late_delivery", received_on=day, refund_cents=4200,
                           products_cents=3000),
        WithdrawalRequested(notice_on=day, lines=(LineQuantity(sku=SKU, quantity=1),),
                            products_refund_cents=1500, delivery_refund_cents=0),
        CreditNoteIssued(number=1, credit_note_id=f"cn-{uuid.uuid4()}", invoice_id="inv-1",
                         refund_id="r-1", issued_on=day, total_excl_vat_cents=1250,
                         vat_cents=250, total_incl_vat_cents=1500, surcharge_cents=0,
                         vat_version="2014"),
        OrderCancelled(reason="buyer_request", cancelled_at=NOW, refund_cents=0,
                       products_cents=0),
        PaymentReceivedAfterCancellation(payment_id="p-late", amount_cents=4200,
                                         products_cents=3000, received_at=NOW),
        BuyerDataRestricted(buyer_id="buyer-0", restricted_at=NOW, until=day),
        BuyerDataErased(buyer_id="buyer-0", erased_at=NOW),
    ]


async def _log(conn: asyncpg.Connection) -> list[Decoded]:
    """Seeded orders, one of them with every other orders event after its own, and events
    projected a second time (as a relay publishing again after a crash would)."""
    seeded = await seeded_orders(conn, 12)
    first = [decoded for decoded in seeded if decoded[0].order_id == seeded[0][0].order_id]
    after = _after(first, _after_sale())
    return [*seeded, *after, *seeded[:5], after[4], *after[:3]]


@pytest.mark.parametrize("window", [1, 7, 1000])
async def test_folded_in_windows_equals_projected_one_by_one(orders_conn, window) -> None:
    events = await _log(orders_conn)

    one_by_one, folded = await one_by_one_and_folded(orders_conn, ORDERS, events, window)

    assert folded == one_by_one
    assert len(one_by_one["order_view"]) == 12 and len(one_by_one["credit_note_view"]) == 1
    assert await orders_conn.fetchval(  # the folded one, merged as jsonb's || merges
        "SELECT line_changes FROM order_view WHERE line_changes <> '{}'") == {SKU: {
            "state": "cancelled", "reply_by": (NOW + dt.timedelta(days=3)).isoformat(),
            "notified": "m-1", "replacement_sku": "COTES-ROUSSILLON-BLANC-2024",
            "cause": "unavailable", "refund_cents": 3000, "cancelled_on": NOW.date().isoformat(),
            "paid_on": NOW.date().isoformat(), "owed_back_cents": 3000}}


async def test_a_second_row_under_a_unique_key_is_refused_as_the_statement_is(
        orders_conn) -> None:
    table = Table("credit_note_view", key="credit_note_id")
    row = {"credit_note_id": "cn-1", "number": 1, "order_id": "o-1", "invoice_id": "i-1",
           "refund_id": "r-1", "issued_on": NOW.date(), "total_incl_vat_cents": 1,
           "surcharge_cents": 0}
    again = Insert(table, {**row, "number": 2})
    folding = Folding(lambda envelope, event: [Insert(table, row), again])
    await empty_read_model(orders_conn, ORDERS)

    with pytest.raises(DuplicateRowError, match="cn-1"):
        await folding.apply(orders_conn, [(None, None)])  # type: ignore[list-item]
