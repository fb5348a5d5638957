"""One function per deadline rule of RULES.md; each returns the last on-time date.

A deadline date is on time for its whole day (Europe/Paris). "Within N days of X" is X + N,
"within N working days of X" is the N-th working day after X (see `french_calendar`).

Withdrawal refund with unknown dates (buyer-favourable reading): the seller may defer the
refund only on the strength of an event that has happened, so a deferral date that is not
known yet is ignored. With neither "goods received" nor "proof of dispatch" known, the
deadline is notice + 14 days; `withdrawal_refund_deadline_is_provisional` then tells that a
later event may still move it (and the refunds service recomputes from the log when it does).
"""

from datetime import date

from contracts.policies.french_calendar import add_calendar_days, add_working_days, add_years

# The periods, each with its source; RULES.md is authoritative.
DELIVERY_WORKING_DAYS = 5  # Art. 11
WITHDRAWAL_WINDOW_WORKING_DAYS = 14  # Art. 16 says working days, kept over the statutory 14 days
GOODS_RETURN_DAYS = 14  # Art. 16
WITHDRAWAL_REFUND_DAYS = 14  # L.221-24
TERMINATION_REFUND_DAYS = 14  # Art. 11, L.216-7
UNAVAILABLE_REFUND_AFTER_PAYMENT_DAYS = 30  # Art. 11
UNAVAILABLE_REFUND_AFTER_CANCELLATION_DAYS = 14  # RULES.md "which applies" table
BLOCKED_REFUND_DAYS = 14  # RULES.md "which applies" table
RESERVATION_CONFIRMATION_WORKING_DAYS = 2  # Art. 12
RETURN_REQUEST_DAYS = 7  # Art. 12
INCORRECT_DELIVERY_CLAIM_WORKING_DAYS = 1  # Art. 13: delivery day or the first working day after
CONFORMITY_CLAIM_YEARS = 2  # legal guarantee of conformity (Art. 15)


def delivery_deadline(confirmed_on: date) -> date:
    """Last day to deliver: the 5th working day after the order confirmation."""
    return add_working_days(confirmed_on, DELIVERY_WORKING_DAYS)


def withdrawal_window_deadline(delivered_on: date) -> date:
    """Last day to give notice of withdrawal: 14 working days after the last item's delivery."""
    return add_working_days(delivered_on, WITHDRAWAL_WINDOW_WORKING_DAYS)


def goods_return_deadline(notice_on: date) -> date:
    """Last day for the buyer to send the goods back: 14 days after the withdrawal notice."""
    return add_calendar_days(notice_on, GOODS_RETURN_DAYS)


def withdrawal_refund_deadline(
    notice_on: date,
    goods_received_on: date | None = None,
    proof_of_dispatch_on: date | None = None,
) -> date:
    """Last day to refund a withdrawal: max(notice + 14, min(goods received, proof of dispatch)).

    Unknown deferral dates are ignored (see the module docstring).
    """
    statutory = add_calendar_days(notice_on, WITHDRAWAL_REFUND_DAYS)
    known = [day for day in (goods_received_on, proof_of_dispatch_on) if day is not None]
    if not known:
        return statutory
    return max(statutory, min(known))


def withdrawal_refund_deadline_is_provisional(
    notice_on: date,
    goods_received_on: date | None = None,
    proof_of_dispatch_on: date | None = None,
) -> bool:
    """Tell whether a deferral event still to come could move the withdrawal-refund deadline."""
    statutory = add_calendar_days(notice_on, WITHDRAWAL_REFUND_DAYS)
    known = [day for day in (goods_received_on, proof_of_dispatch_on) if day is not None]
    # A known date on or before notice + 14 already fixes min(...) <= notice + 14 for good.
    if any(day <= statutory for day in known):
        return False
    return len(known) < 2


def termination_refund_deadline(terminated_on: date) -> date:
    """Last day to refund all sums paid after a termination: 14 days after it took effect."""
    return add_calendar_days(terminated_on, TERMINATION_REFUND_DAYS)


def unavailable_refund_deadline(paid_on: date, cancelled_on: date) -> date:
    """Last day to refund an unavailable line: min(payment + 30 days, cancellation + 14 days)."""
    return min(
        add_calendar_days(paid_on, UNAVAILABLE_REFUND_AFTER_PAYMENT_DAYS),
        add_calendar_days(cancelled_on, UNAVAILABLE_REFUND_AFTER_CANCELLATION_DAYS),
    )


def blocked_refund_deadline(cancelled_on: date) -> date:
    """Last day to refund a line cancelled after a block: 14 days after the cancellation."""
    return add_calendar_days(cancelled_on, BLOCKED_REFUND_DAYS)


def reservation_confirmation_deadline(received_on: date) -> date:
    """Last day to confirm delivery reservations to the carrier: 2 working days after receipt."""
    return add_working_days(received_on, RESERVATION_CONFIRMATION_WORKING_DAYS)


def return_request_deadline(delivered_on: date) -> date:
    """Last day to request the return of delivered products: 7 days after delivery."""
    return add_calendar_days(delivered_on, RETURN_REQUEST_DAYS)


def incorrect_delivery_claim_deadline(delivered_on: date) -> date:
    """Last day to claim an incorrect delivery: the first working day after delivery."""
    return add_working_days(delivered_on, INCORRECT_DELIVERY_CLAIM_WORKING_DAYS)


def conformity_claim_deadline(delivered_on: date) -> date:
    """Last day of the legal guarantee of conformity: 2 years after delivery (29 Feb → 1 Mar)."""
    return add_years(delivered_on, CONFORMITY_CLAIM_YEARS)
