"""Orders domain: given events, when a command, then events (or an error)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from contracts.base import Event
from contracts.orders import (
    BillingDataRetained,
    BillingRetentionEnded,
    BuyerDataErased,
    BuyerDataErasureDeferred,
    BuyerDataRestricted,
    CancelledLinePaid,
    ContractTerminated,
    OrderBlocked,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderLineCancelled,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    OrderUnblocked,
    PaymentReceivedAfterCancellation,
    PersonalDataRectified,
)
from services.orders import after_sale, domain, lines
from services.orders.domain import (
    BlockOrder,
    CatalogueItem,
    InvalidOrderError,
    Offer,
    OfferConflictError,
    OrderConflictError,
    OrderNotFoundError,
    OrderRequest,
    PlaceOrder,
    RequestedAddress,
    RequestedLine,
    UnblockOrder,
)
from tests.support.sealed import SEALED

NOW = dt.datetime(2026, 5, 13, 8, 0, tzinfo=dt.UTC)
OFFER = Offer(items={"ROUGE": CatalogueItem("ROUGE", "Rouge 2022", 890),
                     "AMBRE": CatalogueItem("AMBRE", "Ambré 2012", 2400)},
              delivery_charges={"standard": 990, "express": 1890}, terms_version="CGV-2026-01")
THUIR = RequestedAddress(recipient="Jeanne Martin", street="12 rue des Vignes",
                         postcode="66300", city="Thuir")


def given(*events: Event) -> domain.OrderState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


def place(**changes: object) -> PlaceOrder:
    fields: dict[str, object] = {
        "buyer_id": "b-1", "email": "jeanne@example.org",
        "lines": (RequestedLine("ROUGE", 6), RequestedLine("AMBRE", 1)),
        "delivery_address": THUIR, "delivery_method": "standard",
        "accepted_terms_version": "CGV-2026-01", "date_of_birth": dt.date(1980, 4, 2)}
    return PlaceOrder(OrderRequest(**{**fields, **changes}), OFFER,  # type: ignore[arg-type]
                      SEALED)


def placed() -> OrderPlaced:
    [event] = domain.decide(None, place(), NOW)
    assert isinstance(event, OrderPlaced)
    return event


def test_placing_an_order_records_prices_in_force_totals_and_terms() -> None:
    event = placed()
    assert [(line.sku, line.unit_price_cents, line.line_total_cents) for line in event.lines] \
        == [("ROUGE", 890, 5340), ("AMBRE", 2400, 2400)]
    assert (event.products_total_cents, event.delivery_charge_cents, event.total_cents) \
        == (7740, 990, 8730)
    assert event.terms_version == "CGV-2026-01" and event.validated_at == NOW


@pytest.mark.parametrize("postcode", ["01000", "20000", "20290", "75001", "95999"])
def test_metropolitan_postcodes_corsica_included_are_accepted(postcode: str) -> None:
    address = replace(THUIR, postcode=postcode)
    assert domain.decide(None, place(delivery_address=address), NOW)


@pytest.mark.parametrize("country", ["BE", "DE", "ch"])
def test_addresses_in_other_countries_are_refused_as_outside_france(country: str) -> None:
    with pytest.raises(InvalidOrderError) as refused:
        domain.decide(None, place(delivery_address=replace(THUIR, country=country)), NOW)
    assert (refused.value.field, refused.value.reason) == (
        "delivery_address.country", domain.OUTSIDE_FRANCE)


def test_the_country_may_be_written_in_lower_case() -> None:
    personal = domain.personal_data("j@example.org", None, replace(THUIR, country="fr"))
    assert personal.delivery_address.country == "FR"


def test_the_event_carries_personal_data_only_sealed() -> None:
    event = placed()
    assert event.personal == SEALED
    assert "Jeanne" not in event.model_dump_json()


@pytest.mark.parametrize("postcode", ["00999", "96000", "97400", "98000", "7500", "ABCDE"])
def test_other_postcodes_are_refused_as_outside_france(postcode: str) -> None:
    address = replace(THUIR, postcode=postcode)
    with pytest.raises(InvalidOrderError) as refused:
        domain.decide(None, place(delivery_address=address), NOW)
    assert (refused.value.field, refused.value.reason) == (
        "delivery_address.postcode", domain.OUTSIDE_FRANCE)


@pytest.mark.parametrize(("field", "text"), [
    ("recipient", "Hôtel du Centre"), ("street", "BP 32"), ("street", "Boîte postale 7"),
    ("street_extra", "Camping les Pins"), ("street", "Poste restante"),
    ("street_extra", "Chambres d'hôtes La Vigne"), ("recipient", "Bed and Breakfast Mas"),
])
def test_temporary_residences_po_boxes_and_poste_restante_are_refused(field, text) -> None:
    address = replace(THUIR, **{field: text})
    with pytest.raises(InvalidOrderError) as refused:
        domain.decide(None, place(delivery_address=address), NOW)
    assert refused.value.field == f"delivery_address.{field}"


@pytest.mark.parametrize(("changes", "field"), [
    ({"accepted_terms_version": "CGV-2019"}, "accepted_terms_version"),
    ({"lines": (RequestedLine("GHOST", 1),)}, "lines[0].sku"),
    ({"lines": (RequestedLine("ROUGE", 1), RequestedLine("ROUGE", 2))}, "lines[1].sku"),
    ({"lines": ()}, "lines"),
    ({"delivery_method": "pigeon"}, "delivery_method"),
])
def test_invalid_orders_name_the_field(changes, field) -> None:
    with pytest.raises(InvalidOrderError) as refused:
        domain.decide(None, place(**changes), NOW)
    assert refused.value.field == field


def test_the_total_the_buyer_accepted_must_be_the_total_in_force() -> None:
    # given the offer in force: 6 × 8.90 + 24.00 + 9.90 standard delivery = 87.30
    assert domain.decide(None, place(accepted_total_cents=8730), NOW)
    # when the buyer validated a total seen before a price changed, then it is refused
    with pytest.raises(OfferConflictError) as refused:
        domain.decide(None, place(accepted_total_cents=8130), NOW)
    assert (refused.value.field, refused.value.reason) == (
        "accepted_total_cents", "the total in force is 8730 cents (7740 for the products, 990 "
                                "for the delivery); accept it to order")


def test_an_order_is_placed_once() -> None:
    with pytest.raises(OrderConflictError):
        domain.decide(given(placed()), place(), NOW)


def test_given_placed_when_blocked_then_order_blocked() -> None:
    assert domain.decide(given(placed()), BlockOrder("non_payment"), NOW) == [
        OrderBlocked(reason="non_payment")]


def test_given_blocked_when_blocked_again_then_conflict() -> None:
    with pytest.raises(OrderConflictError, match="already blocked"):
        domain.decide(given(placed(), OrderBlocked(reason="non_payment")),
                      BlockOrder("incorrect_address"), NOW)


def test_given_blocked_when_unblocked_then_order_unblocked() -> None:
    state = given(placed(), OrderBlocked(reason="non_payment"))
    assert domain.decide(state, UnblockOrder("paid"), NOW) == [
        OrderUnblocked(resolution="paid", unblocked_at=NOW)]


def test_given_not_blocked_when_unblocked_then_conflict() -> None:
    with pytest.raises(OrderConflictError, match="not blocked"):
        domain.decide(given(placed()), UnblockOrder("paid"), NOW)


def test_commands_on_an_unknown_order_are_not_found() -> None:
    with pytest.raises(OrderNotFoundError):
        domain.decide(None, BlockOrder("non_payment"), NOW)


# The data subject's rights on an order

def test_given_placed_and_unpaid_when_erased_then_cancelled_and_erased_once() -> None:
    state = given(placed())
    cancelled, erased = domain.decide(state, domain.EraseBuyerData("b-1"), NOW)
    assert cancelled == OrderCancelled(reason="buyer_request", cancelled_at=NOW)
    assert erased == BuyerDataErased(buyer_id="b-1", erased_at=NOW)
    assert domain.decide(given(placed(), cancelled, erased), domain.EraseBuyerData("b-1"),
                         NOW) == []


def delivered_order() -> tuple[Event, ...]:
    return (placed(), OrderPaid(payment_id="p", amount_cents=8730, paid_at=NOW),
            OrderConfirmed(confirmed_at=NOW, amount_cents=8730), OrderShipped(shipped_at=NOW),
            OrderDelivered(delivered_on=NOW.date()))


@pytest.mark.parametrize("performed", [2, 3, 4], ids=["paid", "confirmed", "shipped"])
def test_given_paid_and_not_delivered_when_erased_then_the_request_waits_for_it(
        performed: int) -> None:
    # given an order paid and still to be performed
    history = delivered_order()[:performed]
    # when its buyer asks for erasure, then nothing is erased, the request is recorded once
    with pytest.raises(OrderConflictError):
        domain.decide(given(*history), domain.EraseBuyerData("b-1"), NOW)
    waiting = domain.EraseBuyerData("b-1", awaiting=("o-1",))
    [deferred] = domain.decide(given(*history), waiting, NOW)
    assert deferred == BuyerDataErasureDeferred(buyer_id="b-1", requested_at=NOW,
                                                awaiting=["o-1"])
    assert domain.decide(given(*history, deferred), waiting, NOW) == []
    # and once delivered, it is erased
    delivered = given(*delivered_order(), deferred)
    assert domain.decide(delivered, domain.EraseBuyerData("b-1"), NOW) == [
        BuyerDataErased(buyer_id="b-1", erased_at=NOW)]


def test_an_unpaid_order_of_a_buyer_whose_erasure_waits_is_cancelled_all_the_same() -> None:
    events = domain.decide(given(placed()), domain.EraseBuyerData("b-1", awaiting=("o-2",)),
                           NOW)
    assert events == [OrderCancelled(reason="buyer_request", cancelled_at=NOW),
                      BuyerDataErasureDeferred(buyer_id="b-1", requested_at=NOW,
                                               awaiting=["o-2"])]


def test_erasure_of_an_invoiced_order_keeps_whom_it_bills_until_the_retention_ends() -> None:
    # given an order erasure reaches once invoiced: whom it bills, sealed apart, and until when
    until = dt.date(2036, 5, 13)
    erase = domain.EraseBuyerData("b-1", domain.KeptBilling(SEALED, until))
    retained, erased = domain.decide(given(*delivered_order()), erase, NOW)
    assert retained == BillingDataRetained(buyer_id="b-1", billed_to=SEALED, until=until)
    assert erased == BuyerDataErased(buyer_id="b-1", erased_at=NOW)
    history = (*delivered_order(), retained, erased)
    # when the retention sweep asks, nothing ends on its last day
    last_day = dt.datetime(2036, 5, 13, 21, 0, tzinfo=dt.UTC)  # 23:00 in Paris
    assert domain.decide(given(*history), domain.EndBillingRetention(), last_day) == []
    # then, the day after, it ends once
    [ended] = domain.decide(given(*history), domain.EndBillingRetention(),
                            last_day + dt.timedelta(hours=2))
    assert ended == BillingRetentionEnded(ended_on=dt.date(2036, 5, 14))
    assert domain.decide(given(*history, ended), domain.EndBillingRetention(),
                         last_day + dt.timedelta(days=3)) == []
    # an order erased before it was invoiced keeps nothing, and nothing ends
    assert domain.decide(given(placed(), erased), domain.EndBillingRetention(),
                         last_day + dt.timedelta(days=3)) == []


def test_given_erased_when_rectified_or_restricted_then_conflict() -> None:
    state = given(placed(), BuyerDataErased(buyer_id="b-1", erased_at=NOW))
    for command in (domain.RectifyPersonalData("b-1", SEALED),
                    domain.RestrictBuyerData("b-1", dt.date(2036, 5, 13))):
        with pytest.raises(OrderConflictError):
            domain.decide(state, command, NOW)


def test_another_buyers_request_does_not_find_the_order() -> None:
    with pytest.raises(OrderNotFoundError):
        domain.decide(given(placed()), domain.EraseBuyerData("b-2"), NOW)


def test_given_placed_when_rectified_then_the_new_sealed_data_is_recorded() -> None:
    [event] = domain.decide(given(placed()), domain.RectifyPersonalData("b-1", SEALED), NOW)
    assert event == PersonalDataRectified(buyer_id="b-1", personal=SEALED, rectified_at=NOW)
    # a delivery address given again says so in clear (fulfilment may reship a parcel back)
    [again] = domain.decide(given(placed()), domain.RectifyPersonalData(
        "b-1", SEALED, delivery_address=THUIR), NOW)
    assert again.delivery_address_rectified is True  # type: ignore[attr-defined]


def test_a_delivery_address_given_again_that_may_be_a_lodging_blocks_the_order_first() -> None:
    doubtful = RequestedAddress(recipient="Jeanne Martin",
                                street="Hôtel Ibis, 10 avenue du Maréchal Foch",
                                postcode="66000", city="Perpignan")
    shipped = delivered_order()[:4]
    blocked, rectified = domain.decide(given(*shipped), domain.RectifyPersonalData(
        "b-1", SEALED, delivery_address=doubtful), NOW)
    assert (blocked.reason, rectified.delivery_address_rectified) == (  # type: ignore[attr-defined]
        "incorrect_address", True)
    # not once delivered: there is nothing left to send there
    [only] = domain.decide(given(*delivered_order()), domain.RectifyPersonalData(
        "b-1", SEALED, delivery_address=doubtful), NOW)
    assert isinstance(only, PersonalDataRectified)


def test_restriction_runs_to_the_end_of_the_billing_retention_and_is_not_repeated() -> None:
    until = domain.retention_end(dt.date(2028, 2, 29))
    assert until == dt.date(2038, 2, 28)
    [restricted] = domain.decide(given(placed()), domain.RestrictBuyerData("b-1", until), NOW)
    assert restricted == BuyerDataRestricted(buyer_id="b-1", restricted_at=NOW, until=until)
    again = domain.RestrictBuyerData("b-1", until)
    assert domain.decide(given(placed(), restricted), again, NOW) == []


def test_rectification_keeps_what_is_not_corrected_and_checks_the_new_address() -> None:
    current = domain.personal_data("j@example.org", "+33 6 12 34 56 78", THUIR)
    moved = domain.rectified(current, domain.PersonalDataChanges(
        delivery_address=replace(THUIR, street="3 avenue de la Gare")))
    assert (moved.email, moved.phone) == ("j@example.org", "+33 6 12 34 56 78")
    assert moved.delivery_address.street == "3 avenue de la Gare"
    with pytest.raises(InvalidOrderError):
        domain.rectified(current, domain.PersonalDataChanges(
            delivery_address=replace(THUIR, country="BE")))


# The final sale: paid and confirmation sent, in either order, not blocked, not awaiting checks

PAID = domain.RecordPayment("o-1.aa", 8730, NOW)
SENT = domain.RecordConfirmationSent("<c@x>")


def _steps(state: domain.OrderState | None, *commands: domain.Command) -> list[Event]:
    events: list[Event] = []
    for command in commands:
        new = domain.decide(state, command, NOW)
        for event in new:
            state = domain.evolve(state, event)
        events += new
    return events


@pytest.mark.parametrize("order", [(PAID, SENT), (SENT, PAID)])
def test_the_order_is_confirmed_once_paid_and_confirmation_sent_in_either_order(order) -> None:
    events = _steps(given(placed()), *order, *order)
    assert [type(e).__name__ for e in events][-1] == "OrderConfirmed"
    assert sum(isinstance(e, OrderConfirmed) for e in events) == 1


def test_a_blocked_order_is_confirmed_only_when_unblocked() -> None:
    state = given(placed(), OrderBlocked(reason="non_payment"))
    events = _steps(state, PAID, SENT)
    assert not any(isinstance(e, OrderConfirmed) for e in events)
    assert isinstance(_steps(given(placed(), OrderBlocked(reason="non_payment"), *events),
                             UnblockOrder("paid"))[-1], OrderConfirmed)


def test_an_order_awaiting_verification_is_confirmed_once_verified_or_cancelled_if_rejected(
        ) -> None:
    waiting = _steps(given(placed()), domain.AwaitVerification(), PAID, SENT)
    assert not any(isinstance(e, OrderConfirmed) for e in waiting)
    history = (placed(), *waiting)
    assert isinstance(_steps(given(*history), domain.RecordVerification(True))[-1],
                      OrderConfirmed)
    assert _steps(given(*history), domain.RecordVerification(False)) == [
        OrderCancelled(reason="identity_verification_failed", cancelled_at=NOW,
                       refund_cents=8730, products_cents=min(8730, placed().products_total_cents))]


@pytest.mark.parametrize("cancelled", [
    OrderCancelled(reason="unpaid", cancelled_at=NOW),
    OrderCancelled(reason="identity_verification_failed", cancelled_at=NOW)])
def test_a_payment_received_after_the_cancellation_is_owed_back_once(
        cancelled: OrderCancelled) -> None:
    # given an order cancelled before the bank's capture reached it
    state = given(placed(), cancelled)
    # when the payment is recorded, then all of it is owed back (the products' part apart)
    late = domain.RecordPayment("o-1.aa", 8730, NOW + dt.timedelta(seconds=3))
    owed = PaymentReceivedAfterCancellation(
        payment_id="o-1.aa", amount_cents=8730, products_cents=7740,
        received_at=NOW + dt.timedelta(seconds=3))
    assert domain.decide(state, late, NOW) == [owed]
    # and the order stays cancelled; recorded again (the payment redelivered), owed once
    after = given(placed(), cancelled, owed)
    assert after.status == "cancelled" and domain.decide(after, late, NOW) == []


def test_an_order_unpaid_past_the_timeout_is_cancelled_and_not_before() -> None:
    timeout = dt.timedelta(hours=24)
    state = given(placed())
    assert domain.cancel_if_unpaid(state, NOW + timeout - dt.timedelta(seconds=1), timeout) == []
    assert domain.cancel_if_unpaid(state, NOW + timeout, timeout) == [
        OrderCancelled(reason="unpaid", cancelled_at=NOW + timeout)]
    paid = given(placed(), OrderPaid(payment_id="p", amount_cents=8730, paid_at=NOW))
    assert domain.cancel_if_unpaid(paid, NOW + 2 * timeout, timeout) == []


def test_an_order_blocked_for_its_address_is_not_cancelled_as_unpaid_until_payable_again(
        ) -> None:
    # given an order blocked for its address at once, checked and unblocked two days later
    timeout = dt.timedelta(hours=24)
    blocked = (placed(), OrderBlocked(reason="incorrect_address"))
    assert domain.cancel_if_unpaid(given(*blocked), NOW + 2 * timeout, timeout) == []
    unblocked_at = NOW + 2 * timeout
    [unblocked] = domain.decide(given(*blocked), UnblockOrder("address checked"), unblocked_at)
    state = given(*blocked, unblocked)
    # then the buyer has the whole time to pay again, counted from the unblocking
    almost = unblocked_at + timeout - dt.timedelta(seconds=1)
    assert domain.cancel_if_unpaid(state, almost, timeout) == []
    assert domain.cancel_if_unpaid(state, unblocked_at + timeout, timeout) == [
        OrderCancelled(reason="unpaid", cancelled_at=unblocked_at + timeout)]


def test_an_order_blocked_for_non_payment_is_cancelled_as_unpaid_all_the_same() -> None:
    timeout = dt.timedelta(hours=24)
    state = given(placed(), OrderBlocked(reason="non_payment"))
    assert domain.cancel_if_unpaid(state, NOW + timeout, timeout) == [
        OrderCancelled(reason="unpaid", cancelled_at=NOW + timeout)]


# Lines cancelled before the payment: what the payment paid for them is owed back

BLOCKED = OrderBlocked(reason="buyer_account_problem")


def _cancelled_before_payment(*skus: str) -> list[Event]:
    history: list[Event] = [placed(), BLOCKED]
    for sku in skus:
        history += domain.decide(given(*history), lines.CancelLine(sku, "seller"), NOW)
    return [*history, OrderUnblocked(resolution="account checked")]


def test_a_payment_of_the_full_total_pays_a_line_cancelled_before_it_and_owes_it_back() -> None:
    # given the seller cancelled the AMBRE line (2400) of a blocked order, not yet paid
    history = _cancelled_before_payment("AMBRE")
    # when the payment of the whole total (8730) comes, asked before the cancellation
    paid_on = dt.date(2026, 5, 13)
    events = domain.decide(given(*history), PAID, NOW)
    # then the line's price is owed back, as of the payment
    assert events[1:] == [CancelledLinePaid(sku="AMBRE", quantity=1, refund_cents=2400,
                                            cause="blocked", cancelled_on=paid_on,
                                            paid_on=paid_on)]
    assert given(*history, *events).refunded_cents == 2400


def test_a_payment_the_cancellation_was_taken_off_owes_nothing_back() -> None:
    history = _cancelled_before_payment("AMBRE")
    reduced = domain.RecordPayment("o-1.aa", 8730 - 2400, NOW)
    assert [type(e) for e in domain.decide(given(*history), reduced, NOW)] == [OrderPaid]


def test_a_payment_that_missed_the_latest_cancellation_owes_that_line_back_only() -> None:
    # given two lines cancelled, the payments service having taken off the first only
    history = _cancelled_before_payment("AMBRE", "ROUGE")
    payment = domain.RecordPayment("o-1.aa", 8730 - 2400, NOW)
    # then the later line (ROUGE, 5340, and the delivery 990 it took with it, the last line)
    # is owed back, not the one the payment did not include
    events = domain.decide(given(*history), payment, NOW)
    assert [(e.sku, e.refund_cents) for e in events if isinstance(e, CancelledLinePaid)] == [
        ("ROUGE", 5340 + 990)]


def test_the_last_line_cancelled_takes_the_delivery_charge_with_it() -> None:
    history = _cancelled_before_payment("AMBRE", "ROUGE")
    cancellations = [e for e in history if isinstance(e, OrderLineCancelled)]
    assert [(e.sku, e.refund_cents) for e in cancellations] == [("AMBRE", 2400),
                                                                ("ROUGE", 5340 + 990)]
    assert domain._products_kept(given(*history)) == 0


def test_a_termination_owes_what_was_paid_and_counts_no_line_never_charged() -> None:
    # given AMBRE (2400) cancelled before the payment, which was for the rest (6330)
    history = [*_cancelled_before_payment("AMBRE"),
               OrderPaid(payment_id="o-1.aa", amount_cents=6330, paid_at=NOW)]
    contract = replace(domain._contract(given(*history)), status="confirmed",
                       unavailable_lines=True)
    # when the buyer terminates (the rest manifestly undeliverable)
    [terminated] = after_sale.terminate(contract, after_sale.Terminate("manifest_non_delivery"),
                                        NOW.date())
    # then all sums paid are owed, of which products the ROUGE line only (5340), not 6330
    assert isinstance(terminated, ContractTerminated)
    assert (terminated.refund_cents, terminated.products_cents) == (6330, 5340)
