"""Exact decimal arithmetic on cents, independent of the caller's decimal context.

Every figure is kept exact (or to 60 significant digits for the one division legal interest
needs) and rounded once, half up, to the cent at the very end. A fixed context means a replay
gives the same cents whatever decimal settings the replaying process happens to have.
"""

from contextlib import AbstractContextManager
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

EXACT = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
ONE_CENT = Decimal(1)
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def exact_arithmetic() -> AbstractContextManager[Context]:
    """Run the enclosed Decimal operations in the fixed, high-precision context.

    ``localcontext`` itself, not wrapped in a generator: every surcharge enters it several
    times, and the generator's machinery cost 3.7 µs of the 5.3 µs of each entry."""
    return localcontext(EXACT)


def round_to_cent(amount_cents: Decimal) -> int:
    """Round an exact amount of cents half up (0.5 → 1), once, at the end of a computation."""
    return int(amount_cents.quantize(ONE_CENT, rounding=ROUND_HALF_UP, context=EXACT))


def percent_to_fraction(percent: Decimal) -> Decimal:
    """5 → 0.05, 6.67 → 0.0667 (exact)."""
    return EXACT.divide(percent, HUNDRED)
