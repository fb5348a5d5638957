"""Health: how the dependency checks make the service's status, and how findings are reused."""

from __future__ import annotations

import asyncio

import pytest

from services.platform.health import (
    Cached,
    DatabaseProbe,
    GroupLag,
    KafkaProbe,
    Limits,
    consumers_status,
    http_status,
    outbox_status,
    overall_status,
)

LIMITS = Limits(max_consumer_lag=100, max_lag_seconds=60.0, max_outbox_seconds=30.0)


@pytest.mark.parametrize(("database", "others", "expected"), [
    ("ok", ("ok", "ok", "ok"), "ok"),
    ("ok", ("unavailable", "unavailable", "ok"), "degraded"),  # Kafka down: still serving
    ("ok", ("ok", "degraded", "ok"), "degraded"),  # consumers lagging
    ("ok", ("ok", "ok", "degraded"), "degraded"),  # outbox backing up
    ("unavailable", ("ok", "ok", "ok"), "unavailable"),
    ("unavailable", ("unavailable", "unavailable", "unavailable"), "unavailable"),
    ("degraded", ("ok",), "degraded"),
    ("ok", (), "ok"),
])
def test_the_database_alone_makes_a_service_unavailable(database, others, expected) -> None:
    assert overall_status(database, others) == expected


def test_only_an_unavailable_service_answers_503_by_default() -> None:
    assert [http_status(s) for s in ("ok", "degraded", "unavailable")] == [200, 200, 503]


def test_degraded_can_be_made_to_answer_503() -> None:
    assert [http_status(s, unavailable_when_degraded=True)
            for s in ("ok", "degraded", "unavailable")] == [200, 503, 503]


@pytest.mark.parametrize(("lag", "age", "expected"), [
    (0, None, "ok"),
    (100, 59.0, "ok"),
    (101, 1.0, "degraded"),  # too many records left
    (1, 61.0, "degraded"),  # a few, but stuck for too long
])
def test_consumers_are_degraded_by_too_much_lag_or_too_old_a_record(lag, age, expected) -> None:
    groups = {"orders-consumers": GroupLag(lag=0),
              "other-consumers": GroupLag(lag=lag, oldest_unprocessed_age_s=age)}
    assert consumers_status(groups, LIMITS) == expected


def test_no_group_is_no_lag() -> None:
    assert consumers_status({}, LIMITS) == "ok"


@pytest.mark.parametrize(("age", "expected"), [(None, "ok"), (30.0, "ok"), (30.5, "degraded")])
def test_an_outbox_is_degraded_when_an_event_waits_too_long(age, expected) -> None:
    assert outbox_status(age, LIMITS) == expected


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    async def produce(self) -> int:
        self.calls += 1
        await asyncio.sleep(0.01)
        return self.calls


async def test_concurrent_callers_share_one_check_and_reuse_it_until_it_expires() -> None:
    now = [0.0]
    counting = _Counting()
    cached = Cached(counting.produce, ttl=5.0, clock=lambda: now[0])

    assert await asyncio.gather(*(cached.get() for _ in range(10))) == [1] * 10
    now[0] = 4.9
    assert await cached.get() == 1
    now[0] = 5.0
    assert await cached.get() == 2
    assert counting.calls == 2


async def test_an_unreachable_database_is_unavailable_within_the_bound() -> None:
    probe = DatabaseProbe("postgresql://nobody@127.0.0.1:9/none", timeout=0.5, limits=LIMITS)
    database, outbox = await asyncio.wait_for(probe.check(), 2.0)
    assert database.status == outbox.status == "unavailable"
    assert database.error and "127.0.0.1" not in database.error  # no address for the open route


async def test_an_unreachable_kafka_is_unavailable_within_the_bound() -> None:
    probe = KafkaProbe("127.0.0.1:9", "orders-consumers", "orders.events", timeout=0.5,
                       limits=LIMITS)
    try:
        kafka, consumers = await asyncio.wait_for(probe.check(), 2.0)
    finally:
        await probe.close()
    assert kafka.status == consumers.status == "unavailable"
    assert consumers.groups == {}
