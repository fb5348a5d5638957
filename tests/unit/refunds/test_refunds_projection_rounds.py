"""A sweep's batch is folded in rounds: every order's k-th event before any (k+1)-th, so that
a round never holds two events of one order (its set-based statements would apply only one)."""

from __future__ import annotations

import datetime as dt
import uuid

from contracts.envelope import EmittingService, Envelope, seal
from contracts.hashing import GENESIS_HASH
from contracts.refunds import RefundDeadlineMoved
from services.refunds.projections import rounds

AT = dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC)


def events_of(order_id: str, count: int) -> list[Envelope]:
    """``count`` events recorded on ``order_id`` in one decision, versions 1 to ``count``."""
    moved = RefundDeadlineMoved(refund_id=str(uuid.uuid4()), previous_deadline=dt.date(2026, 3, 1),
                                deadline=dt.date(2026, 3, 15), reason="test")
    return [seal(moved, order_id=order_id, version=version, prev_hash=GENESIS_HASH,
                 occurred_at=AT, producer=EmittingService(service="refunds", build="test"),
                 correlation_id=uuid.uuid4()) for version in range(1, count + 1)]


def test_each_round_holds_the_next_event_of_every_order_that_has_one() -> None:
    # given a batch of three orders with three, one and two events, each order's in its order
    first, second, third = events_of("a", 3), events_of("b", 1), events_of("c", 2)
    # when it is cut in rounds
    cut = rounds([*first, *second, *third])
    # then round k holds the k-th event of each order, in the orders' order
    assert cut == [[first[0], second[0], third[0]], [first[1], third[1]], [first[2]]]
    assert all(len({e.order_id for e in round_}) == len(round_) for round_ in cut)


def test_a_batch_without_events_has_no_round() -> None:
    assert rounds([]) == []
