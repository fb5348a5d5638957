"""Logs without secrets: tokens, key material, e-mail addresses and database passwords are
masked in every log record of the process, whoever logs it (our code, uvicorn, faust, aiokafka).

Personal fields have no shape a pattern could catch (a name is just words); they stay out of the
logs by construction, since no handler logs a payload or a request body and the log only ever
holds sealed personal data. This filter is the second line, for what has a recognisable shape.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["ThrottledWarning", "configure_logging", "install_redaction", "redact"]

_PATTERNS = [
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), "[token]"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]{8,}"), r"\1 [token]"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "[private key]"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s]+@"), r"\1:[password]@"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[email]"),
]


def redact(text: str) -> str:
    """``text`` with every token, private key, URL password and e-mail address masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redacted(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        return record
    masked = redact(message)
    if masked != message:  # untouched records keep their args (uvicorn's access log reads them)
        record.msg, record.args = masked, ()
    if record.exc_info and record.exc_info[1] is not None:
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    return record


def install_redaction() -> None:
    """Mask secrets in every log record created from now on in this process (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redacted(previous(*args, **kwargs))

    factory.redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure_logging(level: int = logging.INFO) -> None:
    """The processes' log format, with secrets masked."""
    install_redaction()
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(levelname)s %(message)s")


class ThrottledWarning:
    """A warning that outsiders can trigger at will (a forged request), logged at most once per
    ``interval`` seconds: the first at once, the ones in between counted and told with the next
    one logged, so that a flood of them cannot fill the disk or bury the other lines (the count
    of a last burst reaches the log only with the next such warning: a metric should count
    them too)."""

    def __init__(self, logger: logging.Logger, interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger, self._interval, self._clock = logger, interval, clock
        self._next: float | None = None
        self._held = 0

    def __call__(self, message: str, *args: object) -> bool:
        """Log ``message % args`` unless one was logged less than ``interval`` seconds ago
        (then it is only counted); True when it was logged."""
        now = self._clock()
        if self._next is not None and now < self._next:
            self._held += 1
            return False
        if self._held:
            message, args = f"{message} (%d more like it not logged since the last)", \
                (*args, self._held)
        self._logger.warning(message, *args)
        self._next, self._held = now + self._interval, 0
        return True
