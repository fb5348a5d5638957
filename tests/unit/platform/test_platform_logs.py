"""Logs without secrets: whatever logs a token, a key, a URL password or an e-mail address, the
line that reaches the log has it masked."""

from __future__ import annotations

import logging

import pytest

from services.platform.logs import ThrottledWarning, install_redaction, redact

TOKEN = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJidXllci0xIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(("line", "secret"), [
    (f"Authorization: Bearer {TOKEN}", TOKEN),
    ("Authorization: Basic b3BzOm9wcw==", "b3BzOm9wcw=="),
    ("connecting to postgresql://shop:s3cr3t@127.0.0.1:5432/orders", "s3cr3t"),
    ("mail for jeanne.martin@example.org bounced", "jeanne.martin@example.org"),
    ("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----", "MC4CAQ"),
])
def test_secrets_are_masked(line: str, secret: str) -> None:
    assert secret not in redact(line)


def test_every_record_of_the_process_is_masked_including_tracebacks(caplog) -> None:
    install_redaction()
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        logging.getLogger("any.library").exception("refused %s", "jeanne@example.org")
    [record] = caplog.records
    assert "jeanne@example.org" not in record.getMessage()
    assert TOKEN not in (record.exc_text or "") and "ValueError" in (record.exc_text or "")


def test_a_line_without_secrets_keeps_its_arguments() -> None:
    install_redaction()
    record = logging.getLogRecordFactory()("n", logging.INFO, "f", 1, "%s %d", ("GET", 200),
                                           None)
    assert record.args == ("GET", 200)


def test_a_throttled_warning_is_logged_once_per_interval_and_tells_how_many_it_held(
        caplog) -> None:
    now = [100.0]
    warn = ThrottledWarning(logging.getLogger("test.throttled"), interval=60,
                            clock=lambda: now[0])

    with caplog.at_level(logging.WARNING, logger="test.throttled"):
        logged = [warn("forged %r", n) for n in range(3)]  # a flood
        now[0] += 59.9
        logged.append(warn("forged %r", 3))
        now[0] += 0.1
        logged.append(warn("forged %r", 4))
        logged.append(warn("forged %r", 5))

    assert logged == [True, False, False, False, True, False]
    assert [record.getMessage() for record in caplog.records] == [
        "forged 0", "forged 4 (3 more like it not logged since the last)"]
