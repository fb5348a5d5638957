"""Errors raised by the policy functions: always a `ValueError`, never a crash."""


class PolicyError(ValueError):
    """An input a policy function cannot accept (negative amount, unknown version, ...)."""


def require_cents(name: str, value: int) -> int:
    """Return `value` if it is a non-negative integer amount of cents, else raise PolicyError."""
    # bool is an int subclass; True cents would be a silent bug, not an amount.
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{name} must be an integer number of cents, got {value!r}")
    if value < 0:
        raise PolicyError(f"{name} must not be negative, got {value}")
    return value
