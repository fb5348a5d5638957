"""Properties that hold for every input, checked with hypothesis."""

from datetime import date, timedelta
from decimal import ROUND_DOWN, Context, localcontext

from hypothesis import given
from hypothesis import strategies as st

from contracts.policies import Schedule, Situation, compute_surcharge, load_policy, schedule_outcome

amounts = st.integers(min_value=0, max_value=10**9)
deadlines = st.dates(min_value=date(2019, 6, 1), max_value=date(2027, 12, 31))
delays = st.integers(min_value=0, max_value=2_000)
situations = st.sampled_from(list(Situation))


@given(situations, amounts, amounts, deadlines, delays, delays)
def test_surcharge_never_decreases_as_the_delay_grows(
    situation: Situation, base: int, products: int, deadline: date, first: int, second: int
) -> None:
    shorter, longer = sorted((first, second))
    early = compute_surcharge(situation, base, products, deadline, deadline + timedelta(shorter))
    late = compute_surcharge(situation, base, products, deadline, deadline + timedelta(longer))
    assert early.surcharge_cents <= late.surcharge_cents


@given(amounts, amounts, deadlines, delays)
def test_schedule_a_percentage_part_never_exceeds_the_products_price(
    base: int, products: int, deadline: date, delay: int
) -> None:
    paid_on = deadline + timedelta(delay)
    outcome = schedule_outcome(Schedule.A, base, products, deadline, paid_on, load_policy())
    assert outcome.capped_part <= products
    assert outcome.interest_after_cap >= 0


@given(amounts, amounts, deadlines, delays)
def test_late_delivery_is_at_least_each_schedule(
    base: int, products: int, deadline: date, delay: int
) -> None:
    paid_on = deadline + timedelta(delay)
    both = compute_surcharge("late_delivery", base, products, deadline, paid_on)
    only_a = compute_surcharge("withdrawal", base, products, deadline, paid_on)
    only_b = compute_surcharge("unavailable", base, products, deadline, paid_on)
    assert both.surcharge_cents == max(only_a.surcharge_cents, only_b.surcharge_cents)


@given(situations, amounts, amounts, deadlines, delays)
def test_same_inputs_same_output_whatever_the_decimal_context(
    situation: Situation, base: int, products: int, deadline: date, delay: int
) -> None:
    paid_on = deadline + timedelta(delay)
    first = compute_surcharge(situation, base, products, deadline, paid_on)
    # A replaying process with careless decimal settings must still get the same cents.
    with localcontext(Context(prec=3, rounding=ROUND_DOWN)):
        second = compute_surcharge(situation, base, products, deadline, paid_on)
    assert first == second
    assert first.to_json() == second.to_json()
