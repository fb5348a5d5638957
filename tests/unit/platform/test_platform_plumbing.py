"""Pure parts of the plumbing: clock, settings, partitioning, problem field paths."""

from __future__ import annotations

import datetime as dt

import pytest

from services.platform.clock import ControllableClock
from services.platform.http import field_path
from services.platform.kafka_io import partition_for
from services.platform.settings import load_settings

START = dt.datetime(2026, 5, 13, 8, 0, tzinfo=dt.UTC)


def test_a_controllable_clock_moves_only_forward() -> None:
    clock = ControllableClock(START)
    assert clock.advance(dt.timedelta(days=400)) == START + dt.timedelta(days=400)
    with pytest.raises(ValueError, match="backward"):
        clock.set(START)


def test_a_controllable_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ControllableClock(dt.datetime(2026, 5, 13))


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without any of the settings' variables."""
    for name in ("KAFKA_BOOTSTRAP", "DATABASE_URL", "ORDERS_DATABASE_URL",
                 "FULFILMENT_DATABASE_URL", "TOPIC_PARTITIONS", "TOPIC_REPLICATION", "BUILD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_each_service_gets_its_own_database_on_the_shared_server(environment) -> None:
    environment.setenv("DATABASE_URL",
                       "postgresql://u:p@db.example:5432/postgres?sslmode=require")
    assert load_settings("orders").service_database_url == \
        "postgresql://u:p@db.example:5432/orders?sslmode=require"


def test_a_service_specific_url_wins(environment) -> None:
    environment.setenv("DATABASE_URL", "postgresql://x/postgres")
    environment.setenv("FULFILMENT_DATABASE_URL", "postgresql://y/f")
    assert load_settings("fulfilment").service_database_url == "postgresql://y/f"
    assert load_settings("orders").service_database_url == "postgresql://x/orders"


def test_settings_defaults_are_the_local_stack(environment) -> None:
    settings = load_settings("orders")
    assert (settings.kafka_bootstrap, settings.topic_partitions, settings.build) == (
        "127.0.0.1:19092", 6, "dev")


def test_settings_refuse_a_meaningless_value(environment) -> None:
    environment.setenv("TOPIC_PARTITIONS", "0")
    with pytest.raises(ValueError, match="topic_partitions"):
        load_settings("orders")


@pytest.mark.parametrize(("key", "partitions", "expected"), [
    # computed with Kafka 4.4's Java Utils.murmur2 (jshell), so Java and Python clients agree
    ("order-1", 6, 4), ("a", 6, 4), ("", 6, 3), ("01a205dc-0459-7f29-a590-da0c90f3db43", 6, 1)])
def test_partitioning_matches_kafkas_default_partitioner(key, partitions, expected) -> None:
    assert partition_for(key, partitions) == expected


def test_problem_field_paths_read_like_the_request() -> None:
    assert field_path(("body", "lines", 0, "sku")) == "lines[0].sku"
    assert field_path(("header", "Idempotency-Key")) == "Idempotency-Key"
