"""The contract after the sale: given the order's events, when the buyer's notice arrives on a
day, then events (or the rule and its date)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from contracts.base import Event
from contracts.orders import (
    ContractTerminated,
    LineExchanged,
    LineUnavailable,
    OrderConfirmed,
    OrderDelivered,
    OrderDeliveryOverdue,
    OrderDeliveryOverdueWithdrawn,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    PerformanceRequested,
    ProofOfDispatchReceived,
    TerminationVoided,
    UnavailabilityNotified,
    WithdrawalRequested,
)
from contracts.vocabulary import LineQuantity, PricedLine
from services.orders import after_sale, domain, lines
from services.orders.after_sale import AfterSaleRefusedError
from tests.support.sealed import SEALED

PARIS = ZoneInfo("Europe/Paris")
T0 = dt.datetime(2026, 6, 4, 10, tzinfo=PARIS)
PLACED = OrderPlaced(
    buyer_id="b-1", personal=SEALED, delivery_method="express", delivery_charge_cents=1890,
    lines=(PricedLine(sku="ROUGE", name="Rouge", quantity=6, unit_price_cents=890,
                      line_total_cents=5340),
           PricedLine(sku="MUSCAT", name="Muscat", quantity=2, unit_price_cents=1190,
                      line_total_cents=2380)),
    products_total_cents=7720, total_cents=9610, terms_version="CGV-2026-01", validated_at=T0)
PAID = OrderPaid(payment_id="p", amount_cents=9610, paid_at=T0)
CONFIRMED = OrderConfirmed(confirmed_at=T0, amount_cents=9610)
DELIVERED = OrderDelivered(delivered_on=dt.date(2026, 6, 5))
OVERDUE = OrderDeliveryOverdue(deadline=dt.date(2026, 6, 11))
WITHDRAW_ALL = after_sale.Withdraw(None, cheapest_standard_cents=990)


def given(*events: Event) -> domain.OrderState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


def on(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), PARIS)


def test_shipment_and_delivery_move_the_status() -> None:
    shipped = domain.decide(given(PLACED, PAID, CONFIRMED), after_sale.NoteShipment(T0), T0)
    assert shipped == [OrderShipped(shipped_at=T0)]
    delivered = domain.decide(given(PLACED, PAID, CONFIRMED, *shipped),
                              after_sale.NoteDelivery(dt.date(2026, 6, 5)), T0)
    state = given(PLACED, PAID, CONFIRMED, *shipped, *delivered)
    assert state is not None and state.status == "delivered"


def test_withdrawal_owes_the_products_and_the_delivery_up_to_the_cheapest_standard() -> None:
    [withdrawn] = domain.decide(given(PLACED, PAID, CONFIRMED, DELIVERED), WITHDRAW_ALL,
                                on("2026-06-25"))
    assert withdrawn == WithdrawalRequested(
        notice_on=dt.date(2026, 6, 25),
        lines=(LineQuantity(sku="ROUGE", quantity=6), LineQuantity(sku="MUSCAT", quantity=2)),
        products_refund_cents=7720, delivery_refund_cents=990)


def test_withdrawal_on_the_15th_working_day_is_refused_with_the_last_day() -> None:
    with pytest.raises(AfterSaleRefusedError, match="ended on 2026-06-25"):
        domain.decide(given(PLACED, PAID, CONFIRMED, DELIVERED), WITHDRAW_ALL,
                      on("2026-06-26", 0))


def test_withdrawing_part_of_an_order_owes_those_products() -> None:
    part = after_sale.Withdraw((LineQuantity(sku="ROUGE", quantity=2),), 990)
    [withdrawn] = domain.decide(given(PLACED, PAID, CONFIRMED, DELIVERED), part,
                                on("2026-06-10"))
    assert isinstance(withdrawn, WithdrawalRequested)
    assert withdrawn.products_refund_cents == 1780
    too_many = after_sale.Withdraw((LineQuantity(sku="ROUGE", quantity=7),), 990)
    with pytest.raises(AfterSaleRefusedError, match="6 bottles were ordered"):
        domain.decide(given(PLACED, PAID, CONFIRMED, DELIVERED), too_many, on("2026-06-10"))


def test_no_withdrawal_before_delivery() -> None:
    with pytest.raises(AfterSaleRefusedError, match="delivered"):
        domain.decide(given(PLACED, PAID, CONFIRMED), WITHDRAW_ALL, on("2026-06-10"))


def test_a_proof_of_dispatch_is_recorded_for_a_day_past_never_for_one_to_come() -> None:
    [withdrawn] = domain.decide(given(PLACED, PAID, CONFIRMED, DELIVERED), WITHDRAW_ALL,
                                on("2026-06-10"))
    history = given(PLACED, PAID, CONFIRMED, DELIVERED, withdrawn)
    sent_today = after_sale.RecordProofOfDispatch(dt.date(2026, 6, 12))
    assert domain.decide(history, sent_today, on("2026-06-12", 0)) == [
        ProofOfDispatchReceived(dispatched_on=dt.date(2026, 6, 12))]
    with pytest.raises(AfterSaleRefusedError, match="on 2026-06-12, after today \\(2026-06-11"):
        domain.decide(history, sent_today, on("2026-06-11", 23))


def test_only_a_proof_of_an_earlier_dispatch_is_recorded_the_earliest_counts() -> None:
    # given a withdrawal whose goods the buyer proved sending on Thursday 11 June
    [withdrawn] = domain.decide(given(PLACED, PAID, CONFIRMED, DELIVERED), WITHDRAW_ALL,
                                on("2026-06-10"))
    proved = ProofOfDispatchReceived(dispatched_on=dt.date(2026, 6, 11))
    state = given(PLACED, PAID, CONFIRMED, DELIVERED, withdrawn, proved)
    # when a proof of a later dispatch comes, then nothing is recorded (the 11th counts)
    later = after_sale.RecordProofOfDispatch(dt.date(2026, 6, 12))
    assert domain.decide(state, later, on("2026-06-13")) == []
    # and a proof of an earlier one is, and counts from then on
    earlier = after_sale.RecordProofOfDispatch(dt.date(2026, 6, 10))
    assert domain.decide(state, earlier, on("2026-06-13")) == [
        ProofOfDispatchReceived(dispatched_on=dt.date(2026, 6, 10))]


def test_performance_then_termination_owes_all_sums_paid() -> None:
    history = (PLACED, PAID, CONFIRMED, OVERDUE)
    with pytest.raises(AfterSaleRefusedError, match="ask for performance"):
        domain.decide(given(*history), after_sale.Terminate(), on("2026-06-12"))
    [requested] = domain.decide(given(*history),
                                after_sale.RequestPerformance(dt.date(2026, 6, 16)),
                                on("2026-06-12"))
    assert requested == PerformanceRequested(requested_on=dt.date(2026, 6, 12),
                                             additional_deadline=dt.date(2026, 6, 16))
    with pytest.raises(AfterSaleRefusedError, match="until 2026-06-16"):
        domain.decide(given(*history, requested), after_sale.Terminate(), on("2026-06-16"))
    assert domain.decide(given(*history, requested), after_sale.Terminate(),
                         on("2026-06-17")) == [
        ContractTerminated(cause="late_delivery", received_on=dt.date(2026, 6, 17),
                           refund_cents=9610, products_cents=7720)]


TERMINATED = ContractTerminated(cause="essential_date_missed", received_on=dt.date(2026, 6, 12),
                                refund_cents=9610, products_cents=7720)


def test_an_overdue_withdrawn_after_the_fact_voids_the_additional_period_and_the_remedies(
) -> None:
    # given an overdue delivery for which the buyer gave an additional period
    requested = PerformanceRequested(requested_on=dt.date(2026, 6, 12),
                                     additional_deadline=dt.date(2026, 6, 16))
    history = (PLACED, PAID, CONFIRMED, OVERDUE, requested)
    # when fulfilment withdraws the overdue (force majeure declared after the fact)
    withdraw = after_sale.NoteOverdueWithdrawn(dt.date(2026, 6, 18))
    [withdrawn] = domain.decide(given(*history), withdraw, on("2026-06-13"))
    # then the remedies wait for the new deadline: no termination, no performance request
    assert withdrawn == OrderDeliveryOverdueWithdrawn(deadline=dt.date(2026, 6, 18))
    state = given(*history, withdrawn)
    assert state is not None and (state.overdue_deadline, state.perform_by) == (None, None)
    with pytest.raises(AfterSaleRefusedError):
        domain.decide(state, after_sale.Terminate(), on("2026-06-17"))
    with pytest.raises(AfterSaleRefusedError, match="has not passed"):
        domain.decide(state, after_sale.RequestPerformance(dt.date(2026, 6, 25)),
                      on("2026-06-17"))
    # and once the new deadline passes, the delivery is overdue again
    assert domain.decide(state, after_sale.NoteOverdue(dt.date(2026, 6, 18)),
                         on("2026-06-19")) == [OrderDeliveryOverdue(deadline=dt.date(2026, 6, 18))]
    assert domain.decide(state, withdraw, on("2026-06-13")) == []


def test_a_termination_received_before_the_overdue_was_withdrawn_stands() -> None:
    history = (PLACED, PAID, CONFIRMED, OVERDUE, TERMINATED)
    assert domain.decide(given(*history), after_sale.NoteOverdueWithdrawn(dt.date(2026, 6, 18)),
                         on("2026-06-13")) == []


def test_a_delivery_before_the_termination_was_received_voids_it() -> None:
    # given: orders recorded the termination before hearing of the delivery of the day before
    history = (PLACED, PAID, CONFIRMED, OrderShipped(shipped_at=T0), OVERDUE, TERMINATED)
    # when
    events = domain.decide(given(*history), after_sale.NoteDelivery(dt.date(2026, 6, 11)),
                           on("2026-06-13"))
    # then: the termination did not take effect (L.216-6); the contract stands, delivered
    assert events == [TerminationVoided(delivered_on=dt.date(2026, 6, 11),
                                        received_on=dt.date(2026, 6, 12)),
                      OrderDelivered(delivered_on=dt.date(2026, 6, 11))]
    state = given(*history, *events)
    assert state is not None and (state.status, state.terminated_on) == ("delivered", None)
    # and the buyer may withdraw from the delivered order as from any other
    [withdrawn] = domain.decide(state, WITHDRAW_ALL, on("2026-06-15"))
    assert isinstance(withdrawn, WithdrawalRequested)


def test_a_delivery_on_or_after_the_day_the_termination_was_received_leaves_it() -> None:
    history = (PLACED, PAID, CONFIRMED, OVERDUE, TERMINATED)
    for delivered_on in (dt.date(2026, 6, 12), dt.date(2026, 6, 14)):
        assert domain.decide(given(*history), after_sale.NoteDelivery(delivered_on),
                             on("2026-06-15")) == []


def test_no_performance_request_before_the_deadline_nor_after_delivery() -> None:
    with pytest.raises(AfterSaleRefusedError, match="has not passed"):
        domain.decide(given(PLACED, PAID, CONFIRMED),
                      after_sale.RequestPerformance(dt.date(2026, 6, 20)), on("2026-06-10"))
    with pytest.raises(AfterSaleRefusedError, match="delivered on 2026-06-05"):
        domain.decide(given(PLACED, PAID, CONFIRMED, OVERDUE, DELIVERED),
                      after_sale.Terminate(), on("2026-06-20"))


def test_termination_at_once_when_a_product_is_unavailable_or_the_date_was_essential() -> None:
    from contracts.orders import LineExchanged, LineUnavailable

    unavailable = LineUnavailable(sku="MUSCAT", quantity=2, reply_by=T0)
    manifest = after_sale.Terminate("manifest_non_delivery")
    [terminated] = domain.decide(given(PLACED, PAID, CONFIRMED, unavailable), manifest,
                                 on("2026-06-05"))
    assert terminated == ContractTerminated(cause="manifest_non_delivery",
                                            received_on=dt.date(2026, 6, 5), refund_cents=9610,
                                            products_cents=7720)
    exchanged = LineExchanged(sku="MUSCAT", replacement_sku="GRENACHE", quantity=2)
    with pytest.raises(AfterSaleRefusedError, match="available"):
        domain.decide(given(PLACED, PAID, CONFIRMED, unavailable, exchanged), manifest,
                      on("2026-06-05"))
    essential = after_sale.Terminate("essential_date_missed")
    with pytest.raises(AfterSaleRefusedError, match="has not passed"):
        domain.decide(given(PLACED, PAID, CONFIRMED), essential, on("2026-06-05"))
    assert domain.decide(given(PLACED, PAID, CONFIRMED, OVERDUE), essential, on("2026-06-12"))


def test_a_withdrawal_never_owes_a_line_twice() -> None:
    from contracts.orders import OrderLineCancelled

    twice = after_sale.Withdraw((LineQuantity(sku="ROUGE", quantity=6),
                                 LineQuantity(sku="ROUGE", quantity=6)), 990)
    with pytest.raises(AfterSaleRefusedError, match="two lines"):
        domain.decide(given(PLACED, PAID, CONFIRMED, DELIVERED), twice, on("2026-06-10"))
    cancelled = OrderLineCancelled(sku="MUSCAT", quantity=2, refund_cents=2380,
                                   cause="unavailable", cancelled_on=dt.date(2026, 6, 4))
    [withdrawn] = domain.decide(given(PLACED, PAID, cancelled, CONFIRMED, DELIVERED),
                                WITHDRAW_ALL, on("2026-06-10"))
    assert isinstance(withdrawn, WithdrawalRequested)
    assert [line.sku for line in withdrawn.lines] == ["ROUGE"]


def test_an_order_whose_every_line_was_cancelled_has_nothing_to_withdraw_from() -> None:
    from contracts.orders import OrderLineCancelled

    # given both lines cancelled after the payment (the last with the express delivery, 1890)
    cancelled = (
        OrderLineCancelled(sku="ROUGE", quantity=6, refund_cents=5340, cause="unavailable",
                           cancelled_on=dt.date(2026, 6, 4), paid_on=dt.date(2026, 6, 1)),
        OrderLineCancelled(sku="MUSCAT", quantity=2, refund_cents=2380 + 1890,
                           cause="unavailable", cancelled_on=dt.date(2026, 6, 4),
                           paid_on=dt.date(2026, 6, 1)))
    # when a delivery is recorded all the same, then no withdrawal refunds the delivery again
    with pytest.raises(AfterSaleRefusedError, match="nothing was delivered"):
        domain.decide(given(PLACED, PAID, CONFIRMED, *cancelled, DELIVERED), WITHDRAW_ALL,
                      on("2026-06-10"))


def test_a_withdrawal_never_owes_more_than_was_paid_and_not_refunded() -> None:
    contract = after_sale.Contract(
        status="delivered", lines=PLACED.lines, delivery_charge_cents=1890, paid_cents=9610,
        delivered_on=dt.date(2026, 6, 5), overdue_deadline=None, perform_by=None,
        refunded_cents=2380 + 1890)  # MUSCAT and the delivery owed back already
    [withdrawn] = after_sale.withdraw(contract, after_sale.Withdraw(
        (LineQuantity(sku="ROUGE", quantity=6),), 990), dt.date(2026, 6, 10))
    assert isinstance(withdrawn, WithdrawalRequested)
    assert (withdrawn.products_refund_cents, withdrawn.delivery_refund_cents) == (5340, 0)


def test_a_termination_owes_what_was_paid_less_the_lines_already_refunded() -> None:
    from contracts.orders import OrderLineCancelled

    cancelled = OrderLineCancelled(sku="MUSCAT", quantity=2, refund_cents=2380,
                                   cause="unavailable", cancelled_on=dt.date(2026, 6, 4),
                                   paid_on=dt.date(2026, 6, 4))
    [terminated] = domain.decide(given(PLACED, PAID, cancelled, CONFIRMED, OVERDUE),
                                 after_sale.Terminate("essential_date_missed"), on("2026-06-12"))
    assert isinstance(terminated, ContractTerminated)
    assert terminated.refund_cents == 9610 - 2380
    assert terminated.products_cents == 7720 - 2380
    with pytest.raises(domain.OrderConflictError):
        from services.orders import lines
        domain.decide(given(PLACED, PAID, CONFIRMED, OVERDUE, terminated),
                      lines.CancelLine("ROUGE", "seller"), on("2026-06-12"))


def test_the_wine_delivered_instead_of_an_exchanged_line_can_be_withdrawn() -> None:
    # given MUSCAT unavailable, exchanged for GRENACHE at the same price, and delivered
    exchanged = (LineUnavailable(sku="MUSCAT", quantity=2, reply_by=T0),
                 LineExchanged(sku="MUSCAT", replacement_sku="GRENACHE", quantity=2))
    history = (PLACED, PAID, *exchanged, CONFIRMED, DELIVERED)
    # then a withdrawal of everything covers the GRENACHE delivered, at MUSCAT's price
    [withdrawn] = domain.decide(given(*history), WITHDRAW_ALL, on("2026-06-25"))
    assert withdrawn.lines == (  # type: ignore[attr-defined]
        LineQuantity(sku="ROUGE", quantity=6), LineQuantity(sku="GRENACHE", quantity=2))
    assert withdrawn.products_refund_cents == 7720  # type: ignore[attr-defined]
    # and so does one of GRENACHE alone; MUSCAT itself was never delivered
    [alone] = domain.decide(given(*history), after_sale.Withdraw(
        (LineQuantity(sku="GRENACHE", quantity=2),), 990), on("2026-06-25"))
    assert alone.products_refund_cents == 2380  # type: ignore[attr-defined]
    with pytest.raises(AfterSaleRefusedError, match="MUSCAT was cancelled or exchanged"):
        domain.decide(given(*history), after_sale.Withdraw(
            (LineQuantity(sku="MUSCAT", quantity=2),), 990), on("2026-06-25"))


def test_a_withdrawal_leaves_out_an_unavailable_line_which_is_owed_back_once() -> None:
    # given MUSCAT unavailable and unanswered, the parcel delivered without it
    unavailable = LineUnavailable(sku="MUSCAT", quantity=2, reply_by=T0)
    history = (PLACED, PAID, unavailable, UnavailabilityNotified(sku="MUSCAT", message_id="<m>"),
               CONFIRMED, DELIVERED)
    # when the buyer withdraws from everything: only what was delivered
    [withdrawn] = domain.decide(given(*history), WITHDRAW_ALL, on("2026-06-08"))
    assert withdrawn.lines == (LineQuantity(sku="ROUGE", quantity=6),)  # type: ignore[attr-defined]
    assert withdrawn.products_refund_cents == 5340  # type: ignore[attr-defined]
    with pytest.raises(AfterSaleRefusedError, match="MUSCAT was unavailable"):
        domain.decide(given(*history), after_sale.Withdraw(
            (LineQuantity(sku="MUSCAT", quantity=2),), 990), on("2026-06-08"))
    # then MUSCAT is still cancelled when its time to reply is up, its price owed back once
    [cancelled] = domain.decide(given(*history, withdrawn), lines.CancelUnansweredLines(),
                                on("2026-06-08"))
    assert (cancelled.sku, cancelled.refund_cents) == ("MUSCAT", 2380)  # type: ignore[attr-defined]


def test_a_line_a_withdrawal_owes_back_is_not_cancelled_too() -> None:
    # given a withdrawal recorded before unavailable lines were left out of it
    unavailable = LineUnavailable(sku="MUSCAT", quantity=2, reply_by=T0)
    withdrawn = WithdrawalRequested(
        notice_on=dt.date(2026, 6, 8), products_refund_cents=7720, delivery_refund_cents=990,
        lines=(LineQuantity(sku="ROUGE", quantity=6), LineQuantity(sku="MUSCAT", quantity=2)))
    history = (PLACED, PAID, unavailable, CONFIRMED, DELIVERED, withdrawn)
    assert domain.decide(given(*history), lines.CancelUnansweredLines(), on("2026-06-09")) == []
    with pytest.raises(domain.OrderConflictError, match="owed back by the withdrawal"):
        domain.decide(given(*history), lines.CancelLine("MUSCAT", "buyer"), on("2026-06-09"))
