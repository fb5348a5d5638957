"""Fulfilment domain: given events, when a command, then events."""

from __future__ import annotations

import datetime as dt

from contracts.base import Event
from contracts.fulfilment import (
    DeliveryRefused,
    ItemUnavailable,
    ReservationReleased,
    Shipped,
    StockReserved,
)
from contracts.vocabulary import LineQuantity
from services.fulfilment import domain
from services.fulfilment.domain import (
    ReleaseLine,
    ReleaseReservation,
    ReserveReplacement,
    ReserveStock,
)
from services.fulfilment.shipping import Ship

NOW = dt.datetime(2026, 5, 13, 8, 0, tzinfo=dt.UTC)
ROUGE, AMBRE = LineQuantity(sku="ROUGE", quantity=6), LineQuantity(sku="AMBRE", quantity=2)


def test_lines_covered_by_stock_are_reserved() -> None:
    events = domain.decide(None, ReserveStock((ROUGE, AMBRE), {"ROUGE": 6, "AMBRE": 10}), NOW)
    assert events == [StockReserved(lines=(ROUGE, AMBRE))]


def test_a_line_short_of_stock_is_reported_unavailable_and_the_rest_reserved() -> None:
    events = domain.decide(None, ReserveStock((ROUGE, AMBRE), {"ROUGE": 100, "AMBRE": 1}), NOW)
    assert events == [StockReserved(lines=(ROUGE,)),
                      ItemUnavailable(sku="AMBRE", requested=2, available=1)]


def test_nothing_in_stock_reserves_nothing() -> None:
    events = domain.decide(None, ReserveStock((ROUGE,), {}), NOW)
    assert events == [ItemUnavailable(sku="ROUGE", requested=6, available=0)]


def test_given_a_decided_order_when_reserving_again_then_nothing_new() -> None:
    state = domain.evolve(None, StockReserved(lines=(ROUGE,)))
    assert domain.decide(state, ReserveStock((ROUGE,), {"ROUGE": 100}), NOW) == []


def given(*events: Event) -> domain.FulfilmentState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


SHIPPED = Shipped(carrier="Colissimo", tracking_number="6A123", shipped_at=NOW)


def test_a_reservation_is_given_back_until_the_parcel_leaves_the_warehouse() -> None:
    reserved = StockReserved(lines=(ROUGE, AMBRE))
    assert domain.decide(given(reserved), ReleaseReservation(), NOW) == [
        ReservationReleased(lines=(ROUGE, AMBRE))]
    # shipped, or shipped and refused at the door: the bottles left, nothing is given back
    refused = DeliveryRefused(refused_on=NOW.date(), reason="parcel opened")
    assert domain.decide(given(reserved, SHIPPED), ReleaseReservation(), NOW) == []
    assert domain.decide(given(reserved, SHIPPED, refused), ReleaseReservation(), NOW) == []
    assert domain.decide(given(reserved, SHIPPED, refused), ReleaseLine("ROUGE"), NOW) == []


def test_a_replacement_reserved_after_the_lines_were_given_back_is_given_back_too() -> None:
    # given ROUGE reserved and AMBRE unavailable, ROUGE's line cancelled (its bottles given
    # back), then AMBRE exchanged for BLANC, reserved
    history = (StockReserved(lines=(ROUGE,)),
               ItemUnavailable(sku="AMBRE", requested=2, available=0),
               ReservationReleased(lines=(ROUGE,)))
    blanc = LineQuantity(sku="BLANC", quantity=2)
    [replacement] = domain.decide(given(*history), ReserveReplacement(blanc, 10), NOW)
    assert replacement == StockReserved(lines=(blanc,))
    # when the order is cancelled, BLANC's bottles are given back
    assert domain.decide(given(*history, replacement), ReleaseReservation(), NOW) == [
        ReservationReleased(lines=(blanc,))]


def test_a_replacement_asked_once_the_parcel_left_is_unavailable_to_the_order() -> None:
    blanc = LineQuantity(sku="BLANC", quantity=2)
    shipped = given(StockReserved(lines=(ROUGE,)),
                    ItemUnavailable(sku="AMBRE", requested=2, available=0), SHIPPED)
    assert domain.decide(shipped, ReserveReplacement(blanc, 100), NOW) == [
        ItemUnavailable(sku="BLANC", requested=2, available=0)]


def test_states_kept_before_the_shipping_day_was_still_know_what_left_the_warehouse() -> None:
    # a parcel returned to sender, and one refused (which then kept ``shipped``), as stored
    reserved = domain.evolve(None, StockReserved(lines=(ROUGE,)))
    returned = reserved.model_copy(update={"outcome": "returned_to_sender", "shipped": False})
    refused = reserved.model_copy(update={"outcome": "refused", "shipped": True,
                                          "deliver_by": NOW.date()})
    # the bottles left: nothing goes back to stock when the contract ends
    assert domain.decide(returned, ReleaseReservation(), NOW) == []
    assert domain.decide(refused, ReleaseReservation(), NOW) == []
    # and the refused parcel is back with the seller, who may ship again
    [shipped] = domain.decide(refused, Ship("Colissimo", "6A9"), NOW)
    assert isinstance(shipped, Shipped)
