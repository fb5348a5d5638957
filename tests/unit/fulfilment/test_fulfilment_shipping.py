"""Fulfilment after confirmation: given events, when shipping, a carrier's report or the
deadline sweep, then events (or the rule that refuses)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from contracts.base import Event
from contracts.fulfilment import (
    Delivered,
    DeliveryAddressCorrected,
    DeliveryAddressGiven,
    DeliveryAttemptFailed,
    DeliveryDeadlineSet,
    DeliveryOverdue,
    DeliveryOverdueWithdrawn,
    DeliveryRefused,
    DeliveryReserved,
    ParcelRestocked,
    Shipped,
    ShippingHeld,
    StockReserved,
)
from contracts.vocabulary import LineQuantity
from services.fulfilment import domain
from services.fulfilment.shipping import (
    CorrectAddress,
    HoldShipping,
    ReportDelivery,
    SetDeadline,
    Ship,
    ShippingConflictError,
)

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY = dt.date(2026, 5, 13)  # Ascension is Thursday 14 May 2026
RESERVED = StockReserved(lines=(LineQuantity(sku="ROUGE", quantity=6),))
CONFIRMED = DeliveryDeadlineSet(confirmed_on=WEDNESDAY, deliver_by=dt.date(2026, 5, 21))
AT = dt.datetime(2026, 5, 15, 10, 0, tzinfo=PARIS)
SHIPPED = Shipped(carrier="Colissimo", tracking_number="6A123", shipped_at=AT)


def given(*events: Event) -> domain.FulfilmentState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


def at_paris(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), PARIS)


def test_confirmation_on_wednesday_13_may_sets_the_deadline_on_thursday_21_may() -> None:
    assert domain.decide(given(RESERVED), SetDeadline(WEDNESDAY), AT) == [CONFIRMED]
    assert domain.decide(given(RESERVED, CONFIRMED), SetDeadline(WEDNESDAY), AT) == []


@pytest.mark.parametrize(("history", "rule"), [
    ((RESERVED,), "not confirmed"),
    ((RESERVED, CONFIRMED, ShippingHeld(reason="blocked")), "blocked"),
    ((RESERVED, CONFIRMED, ShippingHeld(reason="cancelled")), "cancelled"),
    ((RESERVED, CONFIRMED, SHIPPED), "already shipped"),
])
def test_shipping_is_refused_with_the_rule(history, rule: str) -> None:
    with pytest.raises(ShippingConflictError, match=rule):
        domain.decide(given(*history), Ship("Colissimo", "6A124"), AT)


def test_a_confirmed_order_ships_at_the_clocks_time() -> None:
    assert domain.decide(given(RESERVED, CONFIRMED), Ship("Colissimo", "6A123"), AT) == [SHIPPED]


@pytest.mark.parametrize(("report", "expected"), [
    (ReportDelivery("delivered", AT), Delivered(delivered_on=AT.date())),
    (ReportDelivery("delivered_with_reservations", AT, "2 bottles broken"),
     DeliveryReserved(delivered_on=AT.date(), reservations="2 bottles broken")),
    (ReportDelivery("refused", AT, "parcel opened"),
     DeliveryRefused(refused_on=AT.date(), reason="parcel opened")),
    (ReportDelivery("absent", AT, None, "Relais Thuir", dt.date(2026, 5, 29)),
     DeliveryAttemptFailed(outcome="absent", attempted_at=AT, collection_point="Relais Thuir",
                           collect_by=dt.date(2026, 5, 29))),
])
def test_each_outcome_at_the_door_is_its_event(report: ReportDelivery, expected: Event) -> None:
    assert domain.decide(given(RESERVED, CONFIRMED, SHIPPED), report, AT) == [expected]


@pytest.mark.parametrize(("report", "rule"), [
    (ReportDelivery("absent", AT), "at which collection point"),
    (ReportDelivery("absent", AT, None, "Relais Thuir"), "at which collection point"),
    (ReportDelivery("absent", AT, None, "Relais Thuir", dt.date(2026, 5, 14)),
     "until 2026-05-14, before the attempt on 2026-05-15"),
])
def test_an_absent_buyers_notice_says_where_and_until_a_day_not_before_it(
        report: ReportDelivery, rule: str) -> None:
    with pytest.raises(ShippingConflictError, match=rule):
        domain.decide(given(RESERVED, CONFIRMED, SHIPPED), report, AT)


def test_a_report_for_an_order_never_shipped_or_after_a_final_outcome_is_refused() -> None:
    with pytest.raises(ShippingConflictError, match="never shipped"):
        domain.decide(given(RESERVED, CONFIRMED), ReportDelivery("delivered", AT), AT)
    delivered = given(RESERVED, CONFIRMED, SHIPPED, Delivered(delivered_on=AT.date()))
    with pytest.raises(ShippingConflictError, match="already ended"):
        domain.decide(delivered, ReportDelivery("refused", AT), AT)


@pytest.mark.parametrize(("at", "rule"), [
    (AT - dt.timedelta(days=1), "dated 2026-05-14, before the parcel left on 2026-05-15"),
    (AT + dt.timedelta(days=1), "dated 2026-05-16, after today (2026-05-15)")])
def test_a_report_dated_before_the_parcel_left_or_after_today_is_refused(
        at: dt.datetime, rule: str) -> None:
    with pytest.raises(ShippingConflictError, match=re.escape(rule)):
        domain.decide(given(RESERVED, CONFIRMED, SHIPPED), ReportDelivery("delivered", at), AT)
    # the day of shipping and today itself, at any hour, are the carrier's to report
    for hour in (0, 23):
        assert domain.decide(given(RESERVED, CONFIRMED, SHIPPED), ReportDelivery(
            "delivered", at_paris(AT.date(), hour)), AT) == [Delivered(delivered_on=AT.date())]


RETURNED = DeliveryAttemptFailed(outcome="returned_to_sender", attempted_at=AT)


@pytest.mark.parametrize("reason", ["terminated", "cancelled"])
def test_a_parcel_back_at_the_seller_is_restocked_once_the_contract_ends(reason: str) -> None:
    # given a parcel the carrier returned to the seller, when the contract ends for good
    events = domain.decide(given(RESERVED, CONFIRMED, SHIPPED, RETURNED), HoldShipping(reason),
                           AT)
    # then its bottles are in stock again, once
    assert events == [ShippingHeld(reason=reason), ParcelRestocked(lines=RESERVED.lines)]
    history = (RESERVED, CONFIRMED, SHIPPED, RETURNED, *events)
    assert domain.decide(given(*history), HoldShipping(reason), AT) == []


def test_a_parcel_returned_after_the_contract_ended_is_restocked_with_its_report() -> None:
    held = ShippingHeld(reason="terminated")
    events = domain.decide(given(RESERVED, CONFIRMED, SHIPPED, held),
                           ReportDelivery("returned_to_sender", AT), AT)
    assert events == [RETURNED, ParcelRestocked(lines=RESERVED.lines)]


def test_a_parcel_on_its_way_refused_or_merely_returned_is_not_restocked() -> None:
    on_its_way = domain.decide(given(RESERVED, CONFIRMED, SHIPPED),
                               HoldShipping("terminated"), AT)
    assert on_its_way == [ShippingHeld(reason="terminated")]
    refused = DeliveryRefused(refused_on=AT.date(), reason="opened or damaged parcel")
    assert domain.decide(given(RESERVED, CONFIRMED, SHIPPED, refused),
                         HoldShipping("terminated"), AT) == [ShippingHeld(reason="terminated")]
    # a parcel back while the contract stands ships again: nothing is restocked
    assert domain.decide(given(RESERVED, CONFIRMED, SHIPPED), ReportDelivery(
        "returned_to_sender", AT), AT) == [RETURNED]


def test_a_parcel_refused_at_the_door_may_ship_again_and_falls_overdue_past_the_deadline(
) -> None:
    # given a parcel refused at the door (opened), back with the seller
    refused = DeliveryRefused(refused_on=AT.date(), reason="parcel opened")
    state = given(RESERVED, CONFIRMED, SHIPPED, refused)
    # then no report stands for it until a new parcel ships, and the seller may send one
    with pytest.raises(ShippingConflictError, match="came back to the seller"):
        domain.decide(state, ReportDelivery("delivered", AT), AT)
    assert domain.decide(state, Ship("Colissimo", "6A124"), AT)
    # and without a delivery the deadline passes as for any order not delivered
    assert domain.decide(state, domain.MarkOverdue(), at_paris(dt.date(2026, 5, 22))) == [
        DeliveryOverdue(deadline=dt.date(2026, 5, 21))]


def test_a_parcel_back_for_its_address_ships_again_once_corrected_and_is_due_5_days_after(
) -> None:
    # given a parcel the carrier brought back (incorrect or incomplete address)
    state = given(RESERVED, CONFIRMED, SHIPPED, RETURNED)
    # then it neither ships again nor falls overdue while the address is not corrected
    with pytest.raises(ShippingConflictError, match="incorrect or incomplete address"):
        domain.decide(state, Ship("Colissimo", "6A125"), AT)
    assert domain.decide(state, domain.MarkOverdue(), at_paris(dt.date(2026, 6, 30))) == []
    # when the buyer gives the address again on Wednesday 27 May (the deadline long past)
    [corrected] = domain.decide(state, CorrectAddress(dt.date(2026, 5, 27)), AT)
    # then it is due by Wednesday 3 June (Whit Monday 25 May is behind), and may ship
    assert corrected == DeliveryAddressCorrected(corrected_on=dt.date(2026, 5, 27),
                                                 deliver_by=dt.date(2026, 6, 3))
    after = given(RESERVED, CONFIRMED, SHIPPED, RETURNED, corrected)
    assert domain.decide(after, Ship("Colissimo", "6A125"), AT)
    assert domain.decide(after, domain.MarkOverdue(), at_paris(dt.date(2026, 6, 3), 23)) == []
    assert domain.decide(after, domain.MarkOverdue(), at_paris(dt.date(2026, 6, 4))) == [
        DeliveryOverdue(deadline=dt.date(2026, 6, 3))]
    # a second rectification changes nothing more
    assert domain.decide(after, CorrectAddress(dt.date(2026, 5, 28)), AT) == []


def test_an_address_given_while_the_parcel_travelled_lets_it_ship_again_as_it_comes_back(
) -> None:
    # given a parcel with the carrier, when the buyer gives the address again (once noted)
    [given_again] = domain.decide(given(RESERVED, CONFIRMED, SHIPPED),
                                  CorrectAddress(dt.date(2026, 5, 15)), AT)
    assert given_again == DeliveryAddressGiven(given_on=dt.date(2026, 5, 15))
    history = (RESERVED, CONFIRMED, SHIPPED, given_again)
    assert domain.decide(given(*history), CorrectAddress(dt.date(2026, 5, 16)), AT) == []
    # when the parcel comes back for its old address on Monday 18 May
    monday = at_paris(dt.date(2026, 5, 18), 10)
    events = domain.decide(given(*history), ReportDelivery("returned_to_sender", monday), monday)
    # then it is free to ship at once, due 5 working days after the return
    assert events == [DeliveryAttemptFailed(outcome="returned_to_sender", attempted_at=monday),
                      DeliveryAddressCorrected(corrected_on=dt.date(2026, 5, 18),
                                               deliver_by=dt.date(2026, 5, 26))]
    assert domain.decide(given(*history, *events), Ship("Colissimo", "6A126"), monday)


def test_an_address_corrected_for_a_delivery_already_overdue_keeps_the_sellers_delay() -> None:
    late = DeliveryOverdue(deadline=dt.date(2026, 5, 21))
    state = given(RESERVED, CONFIRMED, SHIPPED, late, RETURNED)
    assert domain.decide(state, CorrectAddress(dt.date(2026, 5, 27)), AT) == [
        DeliveryAddressCorrected(corrected_on=dt.date(2026, 5, 27), deliver_by=None)]


def test_an_address_corrected_with_no_parcel_out_or_back_changes_nothing() -> None:
    delivered = Delivered(delivered_on=dt.date(2026, 5, 18))
    for history in ((RESERVED, CONFIRMED), (RESERVED, CONFIRMED, SHIPPED, delivered)):
        assert domain.decide(given(*history), CorrectAddress(dt.date(2026, 5, 27)), AT) == []


def test_a_parcel_reshipped_before_the_address_had_to_be_corrected_is_judged_as_any() -> None:
    # a history recorded before the rule: returned, then shipped again at once
    state = given(RESERVED, CONFIRMED, SHIPPED, RETURNED, SHIPPED)
    assert domain.decide(state, domain.MarkOverdue(), at_paris(dt.date(2026, 5, 22))) == [
        DeliveryOverdue(deadline=dt.date(2026, 5, 21))]


def test_overdue_after_thursday_21_may_and_not_before() -> None:
    state = given(RESERVED, CONFIRMED)
    assert domain.decide(state, domain.MarkOverdue(), at_paris(dt.date(2026, 5, 21), 23)) == []
    assert domain.decide(state, domain.MarkOverdue(), at_paris(dt.date(2026, 5, 22), 0)) == [
        DeliveryOverdue(deadline=dt.date(2026, 5, 21))]
    overdue = DeliveryOverdue(deadline=dt.date(2026, 5, 21))
    assert domain.decide(given(RESERVED, CONFIRMED, overdue), domain.MarkOverdue(),
                         at_paris(dt.date(2026, 5, 28))) == []


def test_a_delivered_cancelled_or_terminated_order_is_never_overdue() -> None:
    later = at_paris(dt.date(2026, 6, 30))
    delivered = Delivered(delivered_on=dt.date(2026, 5, 20))
    assert domain.decide(given(RESERVED, CONFIRMED, SHIPPED, delivered), domain.MarkOverdue(),
                         later) == []
    for reason in ("cancelled", "terminated"):
        assert domain.decide(given(RESERVED, CONFIRMED, ShippingHeld(reason=reason)),
                             domain.MarkOverdue(), later) == []


def test_a_blocked_order_falls_overdue_past_its_deadline_all_the_same() -> None:
    # given an order confirmed on Wednesday 13 May (due Thursday 21 May), then blocked by the
    # seller: only force majeure or an announced closure suspend the deadline (Art. 11, 17)
    blocked = given(RESERVED, CONFIRMED, ShippingHeld(reason="blocked"))
    # when the sweep asks on the 22nd, then it is overdue, while it still may not ship
    assert domain.decide(blocked, domain.MarkOverdue(), at_paris(dt.date(2026, 5, 22))) == [
        DeliveryOverdue(deadline=dt.date(2026, 5, 21))]
    with pytest.raises(ShippingConflictError, match="blocked"):
        domain.decide(blocked, Ship("Colissimo", "6A127"), at_paris(dt.date(2026, 5, 22)))


def test_a_force_majeure_period_pushes_the_deadline_by_its_working_days() -> None:
    # Tuesday 19 and Wednesday 20 May suspended: two working days → Monday 26 May (25 is
    # Whit Monday)
    suspension = ((dt.date(2026, 5, 19), dt.date(2026, 5, 20)),)
    assert domain.extended_deadline(WEDNESDAY, suspension) == dt.date(2026, 5, 26)
    state = given(RESERVED, CONFIRMED)
    assert domain.decide(state, domain.MarkOverdue(suspension),
                         at_paris(dt.date(2026, 5, 26), 23)) == []
    assert domain.decide(state, domain.MarkOverdue(suspension),
                         at_paris(dt.date(2026, 5, 27))) == [
        DeliveryOverdue(deadline=dt.date(2026, 5, 26))]


def test_force_majeure_declared_after_the_overdue_withdraws_it_until_the_new_deadline() -> None:
    # given a delivery recorded overdue on Friday 22 May (deadline Thursday 21 May)
    late = DeliveryOverdue(deadline=dt.date(2026, 5, 21))
    state = given(RESERVED, CONFIRMED, late)
    friday = at_paris(dt.date(2026, 5, 22))
    assert domain.decide(state, domain.MarkOverdue(), friday) == []  # recorded once
    # when force majeure on Tuesday 19 and Wednesday 20 May is declared that day
    suspension = ((dt.date(2026, 5, 19), dt.date(2026, 5, 20)),)
    [withdrawn] = domain.decide(state, domain.MarkOverdue(suspension), friday)
    # then the delivery was never late: its deadline is Monday 26 May
    assert withdrawn == DeliveryOverdueWithdrawn(deadline=dt.date(2026, 5, 26))
    after = given(RESERVED, CONFIRMED, late, withdrawn)
    assert domain.decide(after, domain.MarkOverdue(suspension), friday) == []
    # and it falls overdue again once that deadline passes
    assert domain.decide(after, domain.MarkOverdue(suspension),
                         at_paris(dt.date(2026, 5, 27))) == [
        DeliveryOverdue(deadline=dt.date(2026, 5, 26))]


def test_an_overdue_stands_when_the_new_deadline_passed_too_or_the_order_ended() -> None:
    late = DeliveryOverdue(deadline=dt.date(2026, 5, 21))
    suspension = ((dt.date(2026, 5, 19), dt.date(2026, 5, 20)),)
    # declared after the extended deadline (Monday 26 May) passed too: still late
    assert domain.decide(given(RESERVED, CONFIRMED, late), domain.MarkOverdue(suspension),
                         at_paris(dt.date(2026, 5, 27))) == []
    # delivered meanwhile, or terminated by the buyer: nothing to withdraw
    friday = at_paris(dt.date(2026, 5, 22))
    for ended in (Delivered(delivered_on=dt.date(2026, 5, 22)),
                  ShippingHeld(reason="terminated")):
        shipped = (SHIPPED,) if isinstance(ended, Delivered) else ()
        state = given(RESERVED, CONFIRMED, *shipped, late, ended)
        assert domain.decide(state, domain.MarkOverdue(suspension), friday) == []


def test_an_address_corrected_while_late_restarts_the_deadline_once_it_was_never_late() -> None:
    # given a parcel back for its address, overdue on Friday 22 May, corrected on Tuesday 26
    late = DeliveryOverdue(deadline=dt.date(2026, 5, 21))
    corrected = DeliveryAddressCorrected(corrected_on=dt.date(2026, 5, 26), deliver_by=None)
    history = (RESERVED, CONFIRMED, SHIPPED, RETURNED, late, corrected)
    # when force majeure on Tuesday 19 and Wednesday 20 May is declared on Wednesday 27 May
    suspension = ((dt.date(2026, 5, 19), dt.date(2026, 5, 20)),)
    wednesday = at_paris(dt.date(2026, 5, 27))
    [withdrawn] = domain.decide(given(*history), domain.MarkOverdue(suspension), wednesday)
    # then the delivery was never late, and the correction restarted its deadline: 5 working
    # days from Tuesday 26 May, Tuesday 2 June (not the Monday 26 May the confirmation gives)
    assert withdrawn == DeliveryOverdueWithdrawn(deadline=dt.date(2026, 6, 2))
    after = given(*history, withdrawn)
    assert domain.decide(after, domain.MarkOverdue(suspension),
                         at_paris(dt.date(2026, 6, 2), 23)) == []
    assert domain.decide(after, domain.MarkOverdue(suspension),
                         at_paris(dt.date(2026, 6, 3))) == [
        DeliveryOverdue(deadline=dt.date(2026, 6, 2))]


def test_force_majeure_may_be_declared_after_the_fact_a_closure_only_by_its_first_day() -> None:
    today = dt.date(2026, 5, 22)
    past, coming = dt.date(2026, 5, 19), dt.date(2026, 5, 26)
    assert domain.suspension(past, past, "strike", "force_majeure", today).first_day == past
    assert domain.suspension(coming, coming, "inventory", "closure", today).kind == "closure"
    assert domain.suspension(today, today, "inventory", "closure", today).first_day == today
    with pytest.raises(ShippingConflictError, match="a closure is announced by its first day"):
        domain.suspension(past, coming, "inventory", "closure", today)


def test_a_cancelled_order_is_held_once() -> None:
    held = domain.decide(given(RESERVED, CONFIRMED), HoldShipping("cancelled"), AT)
    assert held == [ShippingHeld(reason="cancelled")]
    assert domain.decide(given(RESERVED, CONFIRMED, *held), HoldShipping("cancelled"), AT) == []


def test_a_terminated_or_cancelled_order_stays_held_whatever_blocks_come_after() -> None:
    from services.fulfilment.shipping import ReleaseShipping

    terminated = given(RESERVED, CONFIRMED, ShippingHeld(reason="terminated"))
    assert domain.decide(terminated, HoldShipping("blocked"), AT) == []
    assert domain.decide(terminated, ReleaseShipping(), AT) == []
    with pytest.raises(ShippingConflictError, match="terminated"):
        domain.decide(terminated, Ship("Colissimo", "6A9"), AT)


def test_a_shipped_line_is_not_released_again() -> None:
    assert domain.decide(given(RESERVED, CONFIRMED, SHIPPED), domain.ReleaseLine("ROUGE"),
                         AT) == []
