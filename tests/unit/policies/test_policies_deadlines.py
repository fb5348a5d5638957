"""Every deadline rule of RULES.md, table-driven; expected dates worked out by hand."""

from collections.abc import Callable
from datetime import date

import pytest

from contracts.policies import (
    blocked_refund_deadline,
    conformity_claim_deadline,
    delivery_deadline,
    goods_return_deadline,
    incorrect_delivery_claim_deadline,
    reservation_confirmation_deadline,
    return_request_deadline,
    termination_refund_deadline,
    withdrawal_window_deadline,
)
from contracts.policies import (
    unavailable_refund_deadline as unavailable,
)
from contracts.policies import (
    withdrawal_refund_deadline as withdrawal_refund,
)
from contracts.policies import (
    withdrawal_refund_deadline_is_provisional as withdrawal_refund_provisional,
)

D = date

# (rule, counted from, expected deadline, why)
SINGLE_DATE_CASES: list[tuple[Callable[[date], date], date, date, str]] = [
    (delivery_deadline, D(2026, 5, 13), D(2026, 5, 21), "RULES.md example: Ascension skipped"),
    (delivery_deadline, D(2026, 1, 9), D(2026, 1, 16), "Friday: weekend skipped"),
    (delivery_deadline, D(2026, 1, 10), D(2026, 1, 16), "confirmed on a Saturday"),
    (delivery_deadline, D(2026, 1, 11), D(2026, 1, 16), "confirmed on a Sunday"),
    (delivery_deadline, D(2026, 4, 2), D(2026, 4, 10), "Easter Monday skipped"),
    (delivery_deadline, D(2026, 4, 30), D(2026, 5, 11), "1 May and 8 May skipped"),
    (delivery_deadline, D(2025, 12, 24), D(2026, 1, 2), "Christmas and New Year skipped"),
    (delivery_deadline, D(2026, 5, 22), D(2026, 6, 1), "Whit Monday skipped"),
    (withdrawal_window_deadline, D(2026, 5, 13), D(2026, 6, 4), "Ascension, Whit Monday"),
    (withdrawal_window_deadline, D(2025, 12, 22), D(2026, 1, 13), "year end"),
    (goods_return_deadline, D(2026, 12, 20), D(2027, 1, 3), "calendar days over the year end"),
    (goods_return_deadline, D(2026, 2, 20), D(2026, 3, 6), "February of a common year"),
    (goods_return_deadline, D(2024, 2, 20), D(2024, 3, 5), "February of a leap year"),
    (termination_refund_deadline, D(2026, 12, 25), D(2027, 1, 8), "holidays do not matter"),
    (termination_refund_deadline, D(2028, 2, 20), D(2028, 3, 5), "leap year"),
    (blocked_refund_deadline, D(2026, 2, 20), D(2026, 3, 6), "14 days after cancellation"),
    (reservation_confirmation_deadline, D(2026, 5, 8), D(2026, 5, 12), "received on 8 May"),
    (reservation_confirmation_deadline, D(2026, 5, 13), D(2026, 5, 18), "Ascension, weekend"),
    (reservation_confirmation_deadline, D(2026, 12, 24), D(2026, 12, 29), "Christmas"),
    (return_request_deadline, D(2026, 12, 28), D(2027, 1, 4), "7 calendar days"),
    (return_request_deadline, D(2026, 5, 13), D(2026, 5, 20), "holidays do not matter"),
    (incorrect_delivery_claim_deadline, D(2026, 4, 3), D(2026, 4, 7), "Easter Monday"),
    (incorrect_delivery_claim_deadline, D(2026, 1, 10), D(2026, 1, 12), "Saturday delivery"),
    (incorrect_delivery_claim_deadline, D(2026, 5, 13), D(2026, 5, 15), "Ascension"),
    (incorrect_delivery_claim_deadline, D(2026, 12, 31), D(2027, 1, 4), "New Year, weekend"),
    (conformity_claim_deadline, D(2026, 5, 13), D(2028, 5, 13), "two years"),
    (conformity_claim_deadline, D(2024, 2, 29), D(2026, 3, 1), "29 February, buyer-favourable"),
    (conformity_claim_deadline, D(2028, 2, 29), D(2030, 3, 1), "29 February again"),
    (conformity_claim_deadline, D(2026, 2, 28), D(2028, 2, 28), "28 February stays"),
]


@pytest.mark.parametrize(("rule", "start", "expected", "why"), SINGLE_DATE_CASES)
def test_single_date_rules(
    rule: Callable[[date], date], start: date, expected: date, why: str
) -> None:
    assert rule(start) == expected, why


# (notice, goods received, proof of dispatch, expected deadline, still provisional)
WITHDRAWAL_REFUND_CASES = [
    (D(2026, 3, 2), None, None, D(2026, 3, 16), True),
    (D(2026, 3, 2), D(2026, 3, 10), None, D(2026, 3, 16), False),
    (D(2026, 3, 2), None, D(2026, 3, 5), D(2026, 3, 16), False),
    (D(2026, 3, 2), D(2026, 3, 16), None, D(2026, 3, 16), False),
    (D(2026, 3, 2), D(2026, 3, 20), None, D(2026, 3, 20), True),
    (D(2026, 3, 2), None, D(2026, 3, 19), D(2026, 3, 19), True),
    (D(2026, 3, 2), D(2026, 3, 25), D(2026, 3, 18), D(2026, 3, 18), False),
    (D(2026, 3, 2), D(2026, 3, 25), D(2026, 3, 30), D(2026, 3, 25), False),
    (D(2026, 12, 24), D(2027, 1, 12), D(2027, 1, 9), D(2027, 1, 9), False),
]


@pytest.mark.parametrize(
    ("notice", "goods", "proof", "expected", "provisional"), WITHDRAWAL_REFUND_CASES
)
def test_withdrawal_refund_deadline(
    notice: date, goods: date | None, proof: date | None, expected: date, provisional: bool
) -> None:
    assert withdrawal_refund(notice, goods, proof) == expected
    assert withdrawal_refund_provisional(notice, goods, proof) is provisional


@pytest.mark.parametrize(
    ("paid", "cancelled", "expected"),
    [
        (D(2026, 1, 10), D(2026, 1, 20), D(2026, 2, 3)),  # cancellation + 14 comes first
        (D(2026, 1, 10), D(2026, 2, 1), D(2026, 2, 9)),  # payment + 30 comes first
        (D(2026, 1, 10), D(2026, 1, 26), D(2026, 2, 9)),  # both on the same day
    ],
)
def test_unavailable_refund_deadline(paid: date, cancelled: date, expected: date) -> None:
    assert unavailable(paid, cancelled) == expected
