"""The rebuild's projection of many orders side by side, on real PostgreSQL: the read model it
folds equals the one the same events give projected one by one, in the order of the log.

Each test works in the session's rolled-back transaction: the read model is emptied, the events
projected one by one and the result kept, then emptied again and projected together.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg

from contracts.base import Event
from contracts.envelope import EmittingService, Envelope, seal
from contracts.fulfilment import (
    Delivered,
    ItemUnavailable,
    ReservationReleased,
    ReturnReceived,
    Shipped,
    StockReserved,
)
from contracts.hashing import GENESIS_HASH
from contracts.payments import (
    PaymentAuthorised,
    PaymentCaptured,
    PaymentDeclined,
    PaymentExpected,
    PaymentNotificationRejected,
    PaymentSessionOpened,
    RefundPaid,
    RefundPayoutOrdered,
)
from contracts.personal import Sealed
from contracts.vocabulary import LineQuantity
from services.fulfilment.projections import READ_MODEL as FULFILMENT
from services.orders.projections import READ_MODEL as ORDERS
from services.payments.projections import READ_MODEL as PAYMENTS
from services.platform.rebuild import (
    Decoded,
    ReadModel,
    Snapshot,
    project_together,
    snapshot,
)
from tests.component.support import NOW, empty_read_model, seeded_orders


async def one_by_one_and_together(conn: asyncpg.Connection, model: ReadModel,
                                  events: Sequence[Decoded], window: int,
                                  ) -> tuple[Snapshot, Snapshot]:
    """The read model folded from ``events`` one by one, then side by side in windows."""
    await empty_read_model(conn, model)
    for envelope, event in events:
        await model.project(conn, envelope, event)
    one_by_one = await snapshot(conn, model)
    await empty_read_model(conn, model)
    for first in range(0, len(events), window):
        await project_together(conn, model.project, events[first:first + window])
    return one_by_one, await snapshot(conn, model)


async def test_seeded_orders_fold_the_same_side_by_side(orders_conn) -> None:
    events = await seeded_orders(orders_conn, 30)

    one_by_one, together = await one_by_one_and_together(orders_conn, ORDERS, events, 41)

    assert together == one_by_one
    assert len(one_by_one["order_view"]) == 30 and len(one_by_one["invoice_view"]) == 30


def _sealed(order_id: str, version: int, event: Event) -> Decoded:
    envelope = seal(event, order_id=order_id, version=version, prev_hash=GENESIS_HASH,
                    occurred_at=NOW + dt.timedelta(minutes=version),
                    producer=EmittingService(service="fulfilment", build="test"),
                    correlation_id=uuid.uuid4())
    return envelope, envelope.event()


def _fulfilment_log() -> list[Decoded]:
    """Three orders' stock and shipping events, interleaved as on a partition."""
    ship = Shipped(carrier="colissimo", tracking_number="T-1", shipped_at=NOW)
    red, white = "COTES-ROUSSILLON-ROUGE-2022", "COTES-ROUSSILLON-BLANC-2024"
    a, b, c = (f"order-{uuid.uuid4()}" for _ in range(3))
    log: list[tuple[str, int, Event]] = [
        (a, 1, StockReserved(lines=(LineQuantity(sku=red, quantity=6),))),
        (b, 1, StockReserved(lines=(LineQuantity(sku=red, quantity=2),
                                    LineQuantity(sku=white, quantity=3)))),
        (a, 2, ship), (c, 1, ItemUnavailable(sku=white, requested=4, available=0)),
        (b, 2, ReservationReleased(lines=(LineQuantity(sku=white, quantity=3),))),
        (a, 3, Delivered(delivered_on=NOW.date())), (b, 3, ship),
        (a, 2, ship),  # projected again: a shipment already reflected changes nothing
        (a, 4, ReturnReceived(received_on=NOW.date(),
                              lines=(LineQuantity(sku=red, quantity=6),))),
    ]
    return [_sealed(order_id, version, event) for order_id, version, event in log]


async def test_results_the_projection_uses_are_the_real_ones(fulfilment_conn) -> None:
    # fulfilment moves stock only when an upsert or update_view says the row changed
    events = _fulfilment_log()

    one_by_one, together = await one_by_one_and_together(fulfilment_conn, FULFILMENT,
                                                         events, 4)

    assert together == one_by_one
    assert any("shipped" in row for row in one_by_one["reservation_view"])


async def test_a_window_of_one_event_is_the_one_by_one_projection(fulfilment_conn) -> None:
    events = _fulfilment_log()

    one_by_one, together = await one_by_one_and_together(fulfilment_conn, FULFILMENT,
                                                         events, 1)

    assert together == one_by_one


def _envelope_types(events: Sequence[Decoded]) -> set[str]:
    return {envelope.type for envelope, _ in events}


async def test_the_seeded_log_covers_every_event_the_orders_bench_projects(orders_conn) -> None:
    events = await seeded_orders(orders_conn, 8)
    assert _envelope_types(events) == {
        "OrderPlaced", "OrderPaid", "ConfirmationSent", "OrderConfirmed", "InvoiceIssued",
        "OrderShipped", "OrderDelivered"}
    assert all(isinstance(envelope, Envelope) for envelope, _ in events)


def _payments_log() -> list[Decoded]:
    """Two orders' payments and a refund payout, interleaved as on a partition."""
    sealed = Sealed(key_id="key-1", nonce="bm9uY2U", ciphertext="Y2lw")
    a, b = (f"order-{uuid.uuid4()}" for _ in range(2))
    log: list[tuple[str, int, Event]] = [
        (a, 1, PaymentExpected(buyer_id="buyer-a", amount_cents=5000, personal=sealed)),
        (b, 1, PaymentExpected(buyer_id="buyer-b", amount_cents=7000, personal=sealed)),
        (a, 2, PaymentSessionOpened(payment_id="p-a", amount_cents=5000, opened_at=NOW)),
        (b, 2, PaymentSessionOpened(payment_id="p-b", amount_cents=7000, opened_at=NOW)),
        (a, 3, PaymentNotificationRejected(payment_id="p-a", reason="bad_signature")),
        (a, 4, PaymentAuthorised(payment_id="p-a", amount_cents=5000, authorisation_code="A1")),
        (b, 3, PaymentDeclined(payment_id="p-b", amount_cents=7000, reason="refused")),
        (a, 5, PaymentCaptured(payment_id="p-a", amount_cents=5000, captured_at=NOW)),
        (a, 3, PaymentNotificationRejected(payment_id="p-a", reason="replayed")),  # again
        (a, 6, RefundPayoutOrdered(refund_id="r-a", attempt=1, amount_cents=1200)),
        (a, 7, RefundPaid(refund_id="r-a", amount_cents=1200, paid_on=NOW.date())),
    ]
    return [_sealed(order_id, version, event) for order_id, version, event in log]


async def test_payments_fold_the_same_side_by_side(payments_conn) -> None:
    events = _payments_log()

    one_by_one, together = await one_by_one_and_together(payments_conn, PAYMENTS, events, 5)

    assert together == one_by_one
    assert len(one_by_one["payment_view"]) == 2 and one_by_one["refund_payout_view"]
