"""The next escalation day of a refund: never later than the day the sweep records a step,
whatever the rates; on the day itself where no rate can move the tier. And the sweep's steps,
found by bisection from the last one, are the engine's ``escalation_steps``."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.policies import Policy, escalation_steps, load_policy, with_recorded_rates
from contracts.refunds import (
    RefundDeadlineMoved,
    RefundDue,
    RefundPenaltyEscalated,
    RefundSituation,
)
from services.refunds import domain
from services.refunds.next_escalation import Owed, highest_rate, next_escalation_on

SHIPPED = load_policy()
HALF_YEARS = [f"{year}-S{half}" for year in (2026, 2027) for half in (1, 2)]
situations = st.sampled_from(["withdrawal", "late_delivery", "unavailable", "blocked"])
deadlines = st.dates(min_value=dt.date(2025, 12, 1), max_value=dt.date(2027, 6, 30))
# rates from none at all to the highest a log may hold (100 %), so that a cap in the interest
# days or schedule A's capped figure overtaking schedule B happens on arbitrary days
recorded_rates = st.dictionaries(st.sampled_from(HALF_YEARS), st.sampled_from(
    [Decimal(0), Decimal("3.5"), Decimal("40"), Decimal("100")]), max_size=4)
ONE_DAY = dt.timedelta(days=1)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def refunds(draw: st.DrawFn) -> RefundDue:
    base = draw(st.integers(min_value=1, max_value=500_000))
    products = draw(st.one_of(st.integers(min_value=0, max_value=base), st.sampled_from(
        [0, 1, base // 100, base * 27 // 1000, base * 28 // 1000, base // 3, base])))
    return RefundDue(refund_id=str(uuid.uuid4()), situation=draw(situations), base_cents=base,
                     products_cents=products, deadline=draw(deadlines), rule="test",
                     cause_type="Test", cause_event_id=str(uuid.uuid4()),
                     owed_since=dt.date(2025, 1, 1))


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), dt.UTC)


def next_day(state: domain.RefundsState, refund_id: str,
             tier_known: bool = True) -> dt.date | None:
    """The next escalation day as the read model has it: from the last step's tier, or (its
    deadline moved since that step) from the step's day alone."""
    refund = state.refunds[refund_id]
    last = refund.steps[-1] if refund.steps else None
    owed = Owed(refund.situation, refund.base_cents, refund.products_cents, refund.deadline)
    return next_escalation_on(owed, last.on if last else None,
                              last.tier if last and tier_known else None, SHIPPED)


def first_days_with_a_step(due: RefundDue, policy: Policy,
                           days: int) -> list[tuple[dt.date, dt.date | None]]:
    """Sweep every day from the deadline on: each day a step was recorded, with the next
    escalation day the read model had for the refund before."""
    state, recorded = domain.evolve(None, due), []
    for offset in range(days + 1):
        today = due.deadline + dt.timedelta(days=offset)
        expected = next_day(state, due.refund_id)
        steps = domain.decide(state, domain.Escalate(policy), noon(today))
        if steps:
            recorded.append((today, expected))
        for step in steps:
            state = domain.evolve(state, step)
    return recorded


@SLOW
@given(refunds(), recorded_rates)
def test_no_step_is_ever_due_before_the_next_escalation_day(
        due: RefundDue, rates: dict[str, Decimal]) -> None:
    # given any refund, and any rates operators may record (the read model knows none)
    policy = with_recorded_rates(SHIPPED, rates)
    # when the sweep runs every day for more than a year
    recorded = first_days_with_a_step(due, policy, days=420)
    # then each day it recorded a step had come by the refund's next escalation day
    assert recorded and recorded[0][0] == due.deadline + ONE_DAY
    for today, expected in recorded:
        assert expected is not None and expected <= today, (today, expected)


@SLOW
@given(refunds(), recorded_rates, st.integers(min_value=1, max_value=120),
       st.integers(min_value=-45, max_value=45))
def test_no_step_is_ever_due_before_the_next_escalation_day_after_a_moved_deadline(
        due: RefundDue, rates: dict[str, Decimal], moved_after: int, shift: int) -> None:
    # given any refund swept every day, whose deadline moves ``shift`` days on some day
    policy, state = with_recorded_rates(SHIPPED, rates), domain.evolve(None, due)
    tier_known = True
    for offset in range(240):
        today = due.deadline + dt.timedelta(days=offset)
        if offset == moved_after:
            state = domain.evolve(state, RefundDeadlineMoved(
                refund_id=due.refund_id, previous_deadline=due.deadline,
                deadline=due.deadline + dt.timedelta(days=shift), reason="test"))
            tier_known = False
        expected = next_day(state, due.refund_id, tier_known)
        steps = domain.decide(state, domain.Escalate(policy), noon(today))
        # then each day it records a step had come by the next escalation day the read model
        # had (from the recorded tier, or, after the move, from the last step's day)
        if steps:
            assert expected is not None and expected <= today, (today, expected)
            tier_known = True
        for step in steps:
            state = domain.evolve(state, step)


@pytest.mark.parametrize(("situation", "products", "delays"), [
    ("withdrawal", 9000, [1, 11, 21, 31, 61, 91, 121, 151, 181, 211, 241, 271, 301]),
    ("withdrawal", 7000, [1, 11, 21, 31, 61, 91, 121, 151, 181]),
    ("unavailable", 9000, [1, 15, 31]),
    ("late_delivery", 9000, [1, 15, 31, 91, 121, 151, 181, 211, 241, 271, 301]),
])
def test_a_refund_whose_tier_changes_on_day_d_is_due_on_d_and_not_before(
        situation: RefundSituation, products: int, delays: list[int]) -> None:
    # given an overdue refund of 100 euros
    due = RefundDue(refund_id=str(uuid.uuid4()), situation=situation, base_cents=10_000,
                    products_cents=products, deadline=dt.date(2025, 3, 3), rule="test",
                    cause_type="Test", cause_event_id=str(uuid.uuid4()),
                    owed_since=dt.date(2025, 2, 17))
    state = domain.evolve(None, due)
    for delay in delays:
        day = due.deadline + dt.timedelta(days=delay)
        expected = next_day(state, due.refund_id)
        # when nothing is due the day before its next tier, and its step on the day
        assert domain.decide(state, domain.Escalate(SHIPPED), noon(day - ONE_DAY)) == []
        [step] = domain.decide(state, domain.Escalate(SHIPPED), noon(day))
        # then that day was its next escalation day
        assert isinstance(step, RefundPenaltyEscalated) and step.delay_days == delay
        assert expected == day
        state = domain.evolve(state, step)
    # and once capped (or in schedule B's last band) it is never looked at again
    assert state.refunds[due.refund_id].steps[-1].tier in {"A:cap", "B:31+"}
    assert next_day(state, due.refund_id) is None


def test_interest_days_are_looked_at_every_day_where_a_rate_could_reach_the_cap() -> None:
    # given a withdrawal whose products are 2 % of the base (10 days at 100 % a year: 2.7 %)
    # and one whose products are 90 %, both at their first step (day 1)
    small = Owed("withdrawal", 10_000, 200, dt.date(2025, 3, 3))
    usual = Owed("withdrawal", 10_000, 9_000, dt.date(2025, 3, 3))
    # then the first is looked at from the day interest at the highest rate could reach its
    # products' price, every day; the second on its first band only
    assert highest_rate() == Decimal(100)
    assert next_escalation_on(small, small.on(1), "A:1-10", SHIPPED) == small.on(8)
    assert next_escalation_on(small, small.on(8), "A:1-10", SHIPPED) == small.on(9)
    assert next_escalation_on(usual, usual.on(1), "A:1-10", SHIPPED) == usual.on(11)


def test_a_late_delivery_capped_under_the_terms_is_looked_at_daily_until_they_win() -> None:
    # given a termination refund whose products are 40 % of what was paid: schedule A caps at
    # 40 % (day 61) while the law's 50 % is owed, until A's interest after the cap overtakes
    owed = Owed("late_delivery", 10_000, 4_000, dt.date(2025, 3, 3))
    # then from day 61 on it is looked at every day
    assert next_escalation_on(owed, owed.on(31), "B:31+", SHIPPED) == owed.on(61)
    assert next_escalation_on(owed, owed.on(61), "B:31+", SHIPPED) == owed.on(62)


def test_after_a_moved_deadline_the_last_step_is_followed_under_the_new_one() -> None:
    # given a withdrawal stepped into A:cap on 2 April (31 days late, its products 15 % of the
    # base), whose deadline then moved 15 days later (the step is now 16 days late), or 20
    # days earlier (51 days late)
    later = Owed("withdrawal", 10_000, 1_500, dt.date(2026, 3, 17))
    earlier = Owed("withdrawal", 10_000, 1_500, dt.date(2026, 2, 10))
    last_on = dt.date(2026, 4, 2)
    # then the recorded tier (the old deadline's) is not what it is followed from: the first
    # is looked at again on its new 21st day, where the domain records A:21-30 (A:cap would
    # never be looked at again); the second, capped under its new deadline too, never
    assert next_escalation_on(later, last_on, "A:cap", SHIPPED) is None
    assert next_escalation_on(later, last_on, None, SHIPPED) == later.on(21)
    assert next_escalation_on(earlier, last_on, "A:21-30", SHIPPED) == earlier.on(61)
    assert next_escalation_on(earlier, last_on, None, SHIPPED) is None


def test_a_refund_not_yet_late_is_first_looked_at_the_day_after_its_deadline() -> None:
    owed = Owed("blocked", 10_000, 9_000, dt.date(2025, 3, 3))
    assert next_escalation_on(owed, None, None, SHIPPED) == dt.date(2025, 3, 4)


@SLOW
@given(refunds(), recorded_rates, st.integers(min_value=0, max_value=400),
       st.integers(min_value=1, max_value=400))
def test_the_steps_found_by_bisection_are_the_engines_steps(
        due: RefundDue, rates: dict[str, Decimal], swept: int, later: int) -> None:
    # given a refund escalated up to some day
    policy = with_recorded_rates(SHIPPED, rates)
    state = domain.evolve(None, due)
    swept_on = due.deadline + dt.timedelta(days=swept)
    for step in domain.decide(state, domain.Escalate(policy), noon(swept_on)):
        state = domain.evolve(state, step)
    last = state.refunds[due.refund_id].steps[-1].on if swept else due.deadline
    # when the sweep runs again some days later
    today = swept_on + dt.timedelta(days=later)
    steps = domain.decide(state, domain.Escalate(policy), noon(today))
    # then it records what the engine's escalation steps give after the last step recorded
    expected = [step for step in escalation_steps(due.situation, due.base_cents,
                                                  due.products_cents, due.deadline, today,
                                                  policy) if step.date > last]
    if steps or not state.refunds[due.refund_id].steps:
        assert [(s.escalated_on, s.tier, s.surcharge_cents)  # type: ignore[attr-defined]
                for s in steps] == [(s.date, s.tier, s.surcharge_cents) for s in expected]
    else:  # still in the last tier recorded
        assert expected == [] or expected[-1].tier == state.refunds[
            due.refund_id].steps[-1].tier
