"""The whole suite's session: a fresh local test stack every time (see
``deploy.infrastructure.reset_test_data``)."""

from __future__ import annotations

import pytest

from deploy.infrastructure import reset_test_data


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start from an empty log, empty databases and a fresh clock."""
    del session
    reset_test_data()
