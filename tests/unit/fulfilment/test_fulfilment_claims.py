"""The buyer's claims and questions: given fulfilment's events, when a claim or an answer,
then events (or why it is refused)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from contracts.base import Event
from contracts.fulfilment import (
    ClaimAnswered,
    ClaimRecorded,
    Delivered,
    DeliveryDeadlineSet,
    Shipped,
    StockReserved,
)
from contracts.personal import Sealed
from contracts.vocabulary import LineQuantity
from services.fulfilment import domain
from services.fulfilment.claims import AnswerClaim, Claim
from services.fulfilment.shipping import ShippingConflictError

PARIS = ZoneInfo("Europe/Paris")
RESERVED = StockReserved(lines=(LineQuantity(sku="ROUGE", quantity=6),))
CONFIRMED = DeliveryDeadlineSet(confirmed_on=dt.date(2026, 5, 13),
                                deliver_by=dt.date(2026, 5, 21))
ASKED = dt.datetime(2026, 5, 18, 9, 30, tzinfo=PARIS)


def words(text: str) -> Sealed:
    """Stands for the words the handler sealed: the domain only carries them into the event."""
    return Sealed(key_id="claims-key", nonce="bm9uY2U", ciphertext=text.encode().hex())


def when(history: tuple[Event, ...], command: Claim | AnswerClaim,
         at: dt.datetime = ASKED) -> list[Event]:
    state = None
    for event in history:
        state = domain.evolve(state, event)
    return domain.decide(state, domain.OnClaim("o-1", command), at)


def test_a_question_about_an_order_not_delivered_yet_is_recorded_for_an_answer() -> None:
    # given a confirmed order, not shipped
    # when the buyer asks where it is
    [asked] = when((RESERVED, CONFIRMED), Claim("inquiry", words("where is my parcel?")))
    # then the question waits for the shop's answer, due within 2 working days
    assert asked == ClaimRecorded(kind="inquiry", claimed_on=dt.date(2026, 5, 18),
                                  window_ends=dt.date(2026, 5, 18),
                                  sealed_detail=words("where is my parcel?"))
    # and the buyer's words are in the log only sealed
    assert asked.detail == ""


def test_one_question_waits_at_a_time_and_another_is_taken_once_it_is_answered() -> None:
    [asked] = when((RESERVED, CONFIRMED), Claim("inquiry", words("where is it?")))
    with pytest.raises(ShippingConflictError, match="waiting for the shop's answer"):
        when((RESERVED, CONFIRMED, asked), Claim("inquiry", words("and now?")))
    [answered] = when((RESERVED, CONFIRMED, asked),
                      AnswerClaim("inquiry", words("it leaves today")))
    assert answered == ClaimAnswered(kind="inquiry", sealed_answer=words("it leaves today"))
    assert answered.answer == ""
    history = (RESERVED, CONFIRMED, asked, answered)
    with pytest.raises(ShippingConflictError, match="no inquiry claim is waiting"):
        when(history, AnswerClaim("inquiry", words("again")))
    [again] = when(history, Claim("inquiry", words("still nothing")),
                   ASKED + dt.timedelta(days=3))
    assert isinstance(again, ClaimRecorded) and again.claimed_on == dt.date(2026, 5, 21)
    [second_answer] = when((*history, again),
                           AnswerClaim("inquiry", words("delivered tomorrow")))
    assert isinstance(second_answer, ClaimAnswered)


def test_no_question_is_recorded_for_an_order_fulfilment_never_heard_of() -> None:
    with pytest.raises(ShippingConflictError, match="knows no order o-1"):
        when((), Claim("inquiry", words("hello?")))


def test_a_claim_about_the_delivery_still_needs_the_delivery() -> None:
    with pytest.raises(ShippingConflictError, match="not delivered"):
        when((RESERVED, CONFIRMED), Claim("conformity", words("corked")))


def test_a_second_conformity_defect_is_taken_once_the_first_is_answered() -> None:
    # given an order delivered on 1 June 2026, a conformity claim answered
    delivered = (RESERVED, CONFIRMED, Shipped(carrier="Colissimo", tracking_number="6A1",
                                              shipped_at=ASKED),
                 Delivered(delivered_on=dt.date(2026, 6, 1)))
    june = dt.datetime(2026, 6, 10, 9, 0, tzinfo=PARIS)
    [first] = when(delivered, Claim("conformity", words("corked bottle")), june)
    with pytest.raises(ShippingConflictError, match="waiting for the shop's answer"):
        when((*delivered, first), Claim("conformity", words("another one")), june)
    [answered] = when((*delivered, first), AnswerClaim("conformity", words("replaced")), june)
    # when another defect shows the next winter, within the 2 years, then it is recorded
    [second] = when((*delivered, first, answered), Claim("conformity", words("leaking cork")),
                    dt.datetime(2027, 2, 1, 9, 0, tzinfo=PARIS))
    assert isinstance(second, ClaimRecorded) and second.claimed_on == dt.date(2027, 2, 1)
    # while a return request stays one per delivery
    early = dt.datetime(2026, 6, 3, 9, 0, tzinfo=PARIS)
    [returned] = when(delivered, Claim("return_request", words("wrong vintage")), early)
    with pytest.raises(ShippingConflictError, match="already received"):
        answered_return = ClaimAnswered(kind="return_request", sealed_answer=words("ok"))
        when((*delivered, returned, answered_return), Claim("return_request", words("again")),
             early)
