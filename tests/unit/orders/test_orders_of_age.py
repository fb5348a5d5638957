"""Ordering as an adult (L.3342-1), the billing address, and the order held for an address in
doubt: given a request, when placed, then the events (or the refusal naming the field)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import replace

import pytest
from pydantic import ValidationError

from contracts.orders import OrderBlocked, OrderConfirmed, OrderPlaced, OrderUnblocked
from deploy.demo import order_body
from services.orders import domain
from services.orders.api import AGE_STATED, PlaceOrderBody
from services.orders.domain import InvalidOrderError, RequestedAddress
from tests.unit.orders.test_orders_domain import NOW, THUIR, given, place

PARIS_TODAY = dt.date(2026, 5, 13)  # NOW is 08:00 UTC, 10:00 in Paris


def a_buyer(**changes: object) -> domain.PlaceOrder:
    return place(buyer_id=f"buyer-{uuid.uuid4()}", **changes)


def refusal(command: domain.PlaceOrder, now: dt.datetime = NOW) -> tuple[str, str]:
    with pytest.raises(InvalidOrderError) as refused:
        domain.decide(None, command, now)
    return refused.value.field, refused.value.reason


def test_given_a_buyer_17_years_and_364_days_old_when_ordering_then_refused() -> None:
    command = a_buyer(date_of_birth=dt.date(2008, 5, 14))

    assert refusal(command) == ("date_of_birth", domain.UNDER_AGE)
    assert domain.UNDER_AGE == "the buyer must be 18 or over to buy alcohol (L.3342-1)"


def test_given_a_buyer_18_today_when_ordering_then_placed() -> None:
    [placed] = domain.decide(None, a_buyer(date_of_birth=dt.date(2008, 5, 13)), NOW)

    assert isinstance(placed, OrderPlaced)


def test_the_day_of_the_order_is_the_paris_date() -> None:
    # 23:30 UTC on 12 May is already 13 May in Paris: the buyer born 13 May 2008 is 18
    late_evening = dt.datetime(2026, 5, 12, 23, 30, tzinfo=dt.UTC)

    assert domain.decide(None, a_buyer(date_of_birth=dt.date(2008, 5, 13)), late_evening)


@pytest.mark.parametrize(("born", "today", "of_age"), [
    (dt.date(2008, 2, 29), dt.date(2026, 2, 28), False),  # common year: 18 on 1 March
    (dt.date(2008, 2, 29), dt.date(2026, 3, 1), True),
    (dt.date(2012, 2, 29), dt.date(2030, 2, 28), False)])
def test_given_a_29_february_birthday_then_of_age_on_1_march_of_a_common_year(
        born: dt.date, today: dt.date, of_age: bool) -> None:
    now = dt.datetime.combine(today, dt.time(12), tzinfo=dt.UTC)
    command = a_buyer(date_of_birth=born)

    if of_age:
        assert domain.decide(None, command, now)
    else:
        assert refusal(command, now) == ("date_of_birth", domain.UNDER_AGE)


def test_given_neither_a_date_of_birth_nor_a_declaration_then_refused_naming_the_field() -> None:
    command = a_buyer(date_of_birth=None)

    assert refusal(command) == ("date_of_birth", domain.NO_AGE)


def test_given_declared_not_of_age_without_a_date_then_refused() -> None:
    assert refusal(a_buyer(date_of_birth=None, declared_of_age=False))[0] == "date_of_birth"


def test_given_the_buyer_declares_being_of_age_then_placed() -> None:
    [placed] = domain.decide(None, a_buyer(date_of_birth=None, declared_of_age=True), NOW)

    assert isinstance(placed, OrderPlaced)


def test_given_a_declaration_and_a_minors_date_of_birth_then_the_date_decides() -> None:
    command = a_buyer(date_of_birth=dt.date(2010, 1, 1), declared_of_age=True)

    assert refusal(command) == ("date_of_birth", domain.UNDER_AGE)


def test_given_a_date_of_birth_in_the_future_then_refused() -> None:
    assert refusal(a_buyer(date_of_birth=dt.date(2027, 1, 1)))[0] == "date_of_birth"


def test_the_personal_data_carries_the_age_and_the_billing_address() -> None:
    billing = RequestedAddress("Jeanne Martin", "BP 12", "66000", "Perpignan")
    command = a_buyer(billing_address=billing, declared_of_age=True)

    personal = domain.buyer_personal_data(command.request)

    assert (personal.date_of_birth, personal.declared_of_age) == (dt.date(1980, 4, 2), True)
    assert personal.billing_address is not None and personal.billing_address.street == "BP 12"


def test_a_billing_address_abroad_is_refused() -> None:
    billing = RequestedAddress("Jeanne Martin", "1 rue Neuve", "1000", "Bruxelles", country="BE")

    assert refusal(a_buyer(billing_address=billing))[0] == "billing_address.country"


def test_rectifying_the_contact_keeps_the_age_and_the_billing_address() -> None:
    billing = RequestedAddress("Jeanne Martin", "BP 12", "66000", "Perpignan")
    current = domain.buyer_personal_data(a_buyer(billing_address=billing).request)

    after = domain.rectified(current, domain.PersonalDataChanges(email="j@example.org"))

    assert after == current.model_copy(update={"email": "j@example.org"})


# An address in doubt: the order is taken, and held until an operator checks it

def test_given_a_street_naming_a_hotel_when_ordering_then_placed_and_blocked() -> None:
    address = replace(THUIR, street="Hôtel Ibis, 10 avenue du Maréchal Foch")

    placed, blocked = domain.decide(None, a_buyer(delivery_address=address), NOW)

    assert isinstance(placed, OrderPlaced)
    assert isinstance(blocked, OrderBlocked) and blocked.reason == "incorrect_address"
    assert "delivery_address.street" in blocked.detail and "Ibis" not in blocked.detail


def test_given_held_for_the_address_when_unblocked_then_the_sale_proceeds() -> None:
    address = replace(THUIR, street="Camping municipal, route de Sète")
    placed = domain.decide(None, a_buyer(delivery_address=address), NOW)
    paid = domain.decide(given(*placed), domain.RecordPayment("pay-1", 8730, NOW), NOW)
    sent = domain.decide(given(*placed, *paid), domain.RecordConfirmationSent("msg-1"), NOW)
    assert not any(isinstance(event, OrderConfirmed) for event in (*paid, *sent))

    events = domain.decide(given(*placed, *paid, *sent),
                           domain.UnblockOrder("checked with the buyer"), NOW)

    assert events == [OrderUnblocked(resolution="checked with the buyer", unblocked_at=NOW),
                      OrderConfirmed(confirmed_at=NOW, amount_cents=8730)]


@pytest.mark.parametrize("street", ["12 place de l'Hôtel de Ville", "5 rue du Camping",
                                    "8 impasse de la Poste"])
def test_given_a_street_named_after_a_hotel_or_a_post_office_then_placed_unblocked(
        street: str) -> None:
    events = domain.decide(None, a_buyer(delivery_address=replace(THUIR, street=street)), NOW)

    assert [type(event) for event in events] == [OrderPlaced]


def test_given_a_po_box_street_then_refused_with_the_reason() -> None:
    command = a_buyer(delivery_address=replace(THUIR, street="CS 30012"))

    assert refusal(command) == (
        "delivery_address.street",
        "no delivery to temporary residences, P.O. boxes or poste restante (found 'CS 30012')")


# The request body says it too: a date of birth, or declared_of_age: true

@pytest.mark.parametrize("stated", [{}, {"declared_of_age": False}, {"date_of_birth": None}])
def test_given_a_body_without_the_age_stated_then_refused_naming_date_of_birth(
        stated: dict[str, object]) -> None:
    body = {key: value for key, value in order_body().items() if key != "date_of_birth"}
    body.update(stated)

    with pytest.raises(ValidationError) as refused:
        PlaceOrderBody.model_validate_json(json.dumps(body))

    assert [(error["loc"], error["msg"]) for error in refused.value.errors()] == [
        (("date_of_birth",), domain.NO_AGE)]


def test_given_a_body_declaring_the_buyer_of_age_then_valid_and_the_schema_says_so() -> None:
    body = {key: value for key, value in order_body(declared_of_age=True).items()
            if key != "date_of_birth"}

    request = PlaceOrderBody.model_validate_json(json.dumps(body)).request()

    assert (request.date_of_birth, request.declared_of_age) == (None, True)
    assert PlaceOrderBody.model_json_schema()["anyOf"] == AGE_STATED
