"""Unavailable and blocked lines: given the order's events, when the buyer or the seller acts
on a line (or time runs out), then events (or why not)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from contracts.base import Event
from contracts.orders import (
    BuyerDataErased,
    CancelledLinePaid,
    LineExchanged,
    LineUnavailable,
    OrderBlocked,
    OrderCancelled,
    OrderLineCancelled,
    OrderShipped,
    UnavailabilityNotified,
)
from services.orders import domain, lines
from services.orders.lines import LineRefusedError
from tests.unit.orders.test_orders_after_sale import CONFIRMED, DELIVERED, PAID, PLACED

NOW = dt.datetime(2026, 6, 4, 8, tzinfo=dt.UTC)
REPLY_BY = NOW + dt.timedelta(hours=72)
UNAVAILABLE = LineUnavailable(sku="MUSCAT", quantity=2, reply_by=REPLY_BY)
NOTIFIED = UnavailabilityNotified(sku="MUSCAT", message_id="<unavailable.MUSCAT@test>")


def given(*events: Event) -> domain.OrderState | None:
    state = None
    for event in events:
        state = domain.evolve(state, event)
    return state


def test_an_unavailable_line_is_noted_once_with_the_time_to_reply() -> None:
    note = lines.NoteUnavailable("MUSCAT", REPLY_BY)
    assert domain.decide(given(PLACED), note, NOW) == [UNAVAILABLE]
    assert domain.decide(given(PLACED, UNAVAILABLE), note, NOW) == []


def test_the_buyer_cancels_an_unavailable_line_and_its_price_is_owed() -> None:
    assert domain.decide(given(PLACED, PAID, UNAVAILABLE), lines.CancelLine("MUSCAT", "buyer"),
                         NOW) == [OrderLineCancelled(sku="MUSCAT", quantity=2, refund_cents=2380,
                                                     cause="unavailable",
                                                     cancelled_on=dt.date(2026, 6, 4),
                                                     paid_on=PAID.paid_at.date())]


def test_an_available_line_is_firm_for_the_buyer() -> None:
    with pytest.raises(LineRefusedError, match="firm"):
        domain.decide(given(PLACED, UNAVAILABLE), lines.CancelLine("ROUGE", "buyer"), NOW)


def test_an_exchange_is_for_a_wine_at_the_same_price_and_settles_the_line() -> None:
    with pytest.raises(LineRefusedError, match="same price"):
        domain.decide(given(PLACED, UNAVAILABLE),
                      lines.ExchangeLine("MUSCAT", "AMBRE", 2400), NOW)
    [exchanged] = domain.decide(given(PLACED, UNAVAILABLE),
                                lines.ExchangeLine("MUSCAT", "GRENACHE", 1190), NOW)
    assert exchanged == LineExchanged(sku="MUSCAT", replacement_sku="GRENACHE", quantity=2)
    with pytest.raises(LineRefusedError, match="already"):
        domain.decide(given(PLACED, UNAVAILABLE, exchanged), lines.CancelLine("MUSCAT", "buyer"),
                      NOW)


def test_unanswered_lines_are_cancelled_when_the_time_to_reply_is_up() -> None:
    sweep = lines.CancelUnansweredLines()
    state = given(PLACED, UNAVAILABLE, NOTIFIED)
    assert domain.decide(state, sweep, REPLY_BY - dt.timedelta(seconds=1)) == []
    [cancelled] = domain.decide(state, sweep, REPLY_BY)
    assert isinstance(cancelled, OrderLineCancelled) and cancelled.cause == "unavailable"
    assert domain.decide(given(PLACED, UNAVAILABLE, NOTIFIED, cancelled), sweep, REPLY_BY) == []


def test_a_line_whose_buyer_was_not_told_is_not_cancelled_unless_no_one_can_be_told() -> None:
    # given an unavailable line whose notice never went out (the mail server down)
    sweep, late = lines.CancelUnansweredLines(), REPLY_BY + dt.timedelta(days=3)
    # then its time to reply passing cancels nothing: the buyer could not choose
    assert domain.decide(given(PLACED, UNAVAILABLE), sweep, late) == []
    # but once the buyer's data is erased no one can be told, and it is cancelled and owed
    erased = BuyerDataErased(buyer_id=PLACED.buyer_id, erased_at=NOW)
    [cancelled] = domain.decide(given(PLACED, UNAVAILABLE, erased), sweep, late)
    assert isinstance(cancelled, OrderLineCancelled) and cancelled.sku == "MUSCAT"


def test_a_notice_sent_late_gives_the_buyer_their_whole_time_to_reply_from_it() -> None:
    # given the notice sent two days after its planned time to reply
    sent = REPLY_BY + dt.timedelta(days=2)
    command = lines.RecordUnavailabilityNotified("MUSCAT", "<m>", sent + dt.timedelta(hours=72))
    [notice] = domain.decide(given(PLACED, UNAVAILABLE), command, sent)
    assert notice == UnavailabilityNotified(sku="MUSCAT", message_id="<m>",
                                            reply_by=sent + dt.timedelta(hours=72))
    # then the line is cancelled only when that time is up
    sweep, state = lines.CancelUnansweredLines(), given(PLACED, UNAVAILABLE, notice)
    assert domain.decide(state, sweep, sent + dt.timedelta(hours=71)) == []
    assert len(domain.decide(state, sweep, sent + dt.timedelta(hours=72))) == 1
    # and a notice sent in time keeps the line's own time to reply
    [in_time] = domain.decide(given(PLACED, UNAVAILABLE), lines.RecordUnavailabilityNotified(
        "MUSCAT", "<m>", REPLY_BY - dt.timedelta(hours=1)), NOW)
    assert in_time.reply_by is None  # type: ignore[attr-defined]


def test_every_line_unanswered_together_the_last_takes_the_delivery_charge_with_it() -> None:
    # given both lines of an order (ROUGE 5340, MUSCAT 2380; express delivery 1890) unavailable
    both = (LineUnavailable(sku="ROUGE", quantity=6, reply_by=REPLY_BY), UNAVAILABLE,
            UnavailabilityNotified(sku="ROUGE", message_id="<rouge>"), NOTIFIED)
    # when their time to reply is up in the same pass
    cancelled = domain.decide(given(PLACED, *both), lines.CancelUnansweredLines(), REPLY_BY)
    # then the delivery charge goes with the last: nothing is left to deliver
    assert [(e.sku, e.refund_cents) for e in cancelled  # type: ignore[attr-defined]
            ] == [("ROUGE", 5340), ("MUSCAT", 2380 + 1890)]


def test_a_paid_order_whose_every_line_is_cancelled_is_cancelled_with_nothing_more_owed() -> None:
    # given a paid order, confirmed, both of whose lines turn out unavailable
    both = (LineUnavailable(sku="ROUGE", quantity=6, reply_by=REPLY_BY), UNAVAILABLE)
    history = (PLACED, PAID, CONFIRMED, *both)
    # when the buyer cancels one, then the other
    first = domain.decide(given(*history), lines.CancelLine("ROUGE", "buyer"), NOW)
    last = domain.decide(given(*history, *first), lines.CancelLine("MUSCAT", "buyer"), NOW)
    # then the order stands after the first; after the last, nothing is left to deliver: it is
    # cancelled (never shipped nor overdue), each line owing its price, the last the delivery
    assert [type(e) for e in first] == [OrderLineCancelled]
    assert [(e.sku, e.refund_cents) for e in last if isinstance(e, OrderLineCancelled)] == [
        ("MUSCAT", 2380 + 1890)]
    assert last[1:] == [OrderCancelled(reason="every_line_cancelled", cancelled_at=NOW)]
    state = given(*history, *first, *last)
    assert state is not None and state.status == "cancelled"


def test_the_payment_of_an_order_whose_every_line_was_cancelled_cancels_it() -> None:
    # given both lines cancelled, unanswered, before the payment came
    both = (LineUnavailable(sku="ROUGE", quantity=6, reply_by=REPLY_BY), UNAVAILABLE,
            UnavailabilityNotified(sku="ROUGE", message_id="<rouge>"), NOTIFIED)
    cancelled = domain.decide(given(PLACED, *both), lines.CancelUnansweredLines(), REPLY_BY)
    assert not any(isinstance(e, OrderCancelled) for e in cancelled)  # unpaid: it waits
    # when the whole total is paid all the same
    paid = domain.decide(given(PLACED, *both, *cancelled),
                         domain.RecordPayment("p", 9610, REPLY_BY), REPLY_BY)
    # then each line is owed back as paid, and the order, with nothing to deliver, cancelled
    assert [type(e).__name__ for e in paid] == [
        "OrderPaid", "CancelledLinePaid", "CancelledLinePaid", "OrderCancelled"]
    assert sum(e.refund_cents for e in paid if isinstance(e, CancelledLinePaid)) == 9610


def test_the_seller_cancels_a_line_of_a_blocked_order_only() -> None:
    with pytest.raises(LineRefusedError, match="blocked"):
        domain.decide(given(PLACED), lines.CancelLine("ROUGE", "seller"), NOW)
    [cancelled] = domain.decide(given(PLACED, OrderBlocked(reason="buyer_account_problem")),
                                lines.CancelLine("ROUGE", "seller"), NOW)
    assert isinstance(cancelled, OrderLineCancelled)
    assert (cancelled.cause, cancelled.refund_cents) == ("blocked", 5340)


@pytest.mark.parametrize("after", [(), (DELIVERED,)])
def test_a_line_left_out_of_the_parcel_unanswered_is_still_cancelled_and_owed(after) -> None:
    # given a paid order shipped without its unavailable line, the buyer not having answered
    history = (PLACED, PAID, UNAVAILABLE, NOTIFIED, CONFIRMED, OrderShipped(shipped_at=NOW),
               *after)
    # then it cannot be exchanged any more (the parcel is gone)
    with pytest.raises(domain.OrderConflictError, match="can only be cancelled"):
        domain.decide(given(*history), lines.ExchangeLine("MUSCAT", "GRENACHE", 1190), NOW)
    # but the buyer may cancel it, or it is cancelled when the time to reply is up: owed back
    cancelled = OrderLineCancelled(sku="MUSCAT", quantity=2, refund_cents=2380,
                                   cause="unavailable", cancelled_on=dt.date(2026, 6, 7),
                                   paid_on=PAID.paid_at.date())
    assert domain.decide(given(*history), lines.CancelUnansweredLines(), REPLY_BY) == [cancelled]
    assert domain.decide(given(*history), lines.CancelLine("MUSCAT", "buyer"), REPLY_BY) == [
        cancelled]
    # and no other line of the parcel is the buyer's to cancel
    with pytest.raises(LineRefusedError, match="firm"):
        domain.decide(given(*history), lines.CancelLine("ROUGE", "buyer"), NOW)
    with pytest.raises(domain.OrderConflictError, match="settled"):
        domain.decide(given(*history), lines.CancelLine("ROUGE", "seller"), NOW)


def test_an_exchange_for_a_wine_the_order_already_holds_is_refused() -> None:
    for wine in ("MUSCAT", "ROUGE"):
        with pytest.raises(LineRefusedError, match="already in this order"):
            domain.decide(given(PLACED, UNAVAILABLE), lines.ExchangeLine("MUSCAT", wine, 1190),
                          NOW)


def test_a_line_whose_replacement_cannot_be_set_aside_either_is_cancelled_and_owed() -> None:
    # given a paid order whose unavailable MUSCAT was exchanged for GRENACHE
    exchanged = LineExchanged(sku="MUSCAT", replacement_sku="GRENACHE", quantity=2)
    history = (PLACED, PAID, UNAVAILABLE, exchanged)
    # when fulfilment cannot set GRENACHE aside either
    [cancelled] = domain.decide(given(*history), lines.NoteUnavailable("GRENACHE", REPLY_BY),
                                NOW)
    # then the line is cancelled and its price owed back, once
    assert cancelled == OrderLineCancelled(sku="MUSCAT", quantity=2, refund_cents=2380,
                                           cause="unavailable", cancelled_on=NOW.date(),
                                           paid_on=PAID.paid_at.date())
    assert domain.decide(given(*history, cancelled), lines.NoteUnavailable("GRENACHE",
                                                                             REPLY_BY), NOW) == []


def test_the_mailer_gives_the_whole_time_to_reply_from_a_notice_sent_late() -> None:
    from services.orders.confirmation import time_to_reply
    from services.orders.settings import OrdersSettings

    settings = OrdersSettings()
    order = SimpleNamespace(line_changes={"MUSCAT": {"reply_by": REPLY_BY.isoformat()}})
    # sent at once: the line's time to reply, give or take the seconds the mailer took
    on_time = time_to_reply(order, "MUSCAT", NOW, settings)  # type: ignore[arg-type]
    assert on_time == max(REPLY_BY, NOW + settings.unavailable_reply_time)
    # sent two days late (the mail server down): the whole time to reply from then
    late = REPLY_BY + dt.timedelta(days=2)
    assert time_to_reply(order, "MUSCAT", late, settings) == (  # type: ignore[arg-type]
        late + settings.unavailable_reply_time)
