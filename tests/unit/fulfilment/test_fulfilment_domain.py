"""Fulfilment domain: given events, when a command, then events."""

from __future__ import annotations

import datetime as dt

from contracts.fulfilment import ItemUnavailable, StockReserved
from contracts.vocabulary import LineQuantity
from services.fulfilment import domain
from services.fulfilment.domain import ReserveStock

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
