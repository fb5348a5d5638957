"""Lag per partition and per group (pure logic)."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.ops.lag import group_totals, partition_lag
from services.platform.lag import PartitionPosition

TP = TopicPartition("orders.events", 4)
NOW = 1_800_000_000.0


def at(begin: int, end: int, committed: int | None, tp: TopicPartition = TP) -> PartitionPosition:
    return PartitionPosition(tp, begin, end, committed)


def test_lag_is_end_minus_committed_and_its_age_that_of_the_record_at_the_position() -> None:
    row = partition_lag("fulfilment-consumers", at(0, 120, 100), int((NOW - 7.5) * 1000), NOW)
    assert (row.end, row.committed, row.lag, row.oldest_unprocessed_age_s) == (120, 100, 20, 7.5)
    assert (row.topic, row.partition) == ("orders.events", 4)


def test_a_partition_never_committed_counts_from_its_beginning() -> None:
    row = partition_lag("g", at(30, 50, None), None, NOW)
    assert (row.committed, row.lag, row.oldest_unprocessed_age_s) == (None, 20, None)


def test_records_removed_by_retention_before_the_group_read_them_are_not_counted() -> None:
    # as the group's consumer will: it resets to the beginning, past what is gone
    row = partition_lag("g", at(40, 50, 25), None, NOW)
    assert (row.committed, row.lag) == (25, 10)


def test_a_group_caught_up_has_no_age() -> None:
    row = partition_lag("g", at(0, 50, 50), int(NOW * 1000), NOW)
    assert (row.lag, row.oldest_unprocessed_age_s) == (0, None)


def test_a_group_sums_its_partitions_and_keeps_the_oldest_age() -> None:
    rows = [partition_lag("g", at(0, 10, committed, TopicPartition("t", p)), stamp, NOW)
            for p, committed, stamp in ((0, 5, int((NOW - 3) * 1000)), (1, 10, None),
                                        (2, 8, int((NOW - 9) * 1000)))]
    rows.append(partition_lag("h", at(0, 0, None), None, NOW))
    totals = group_totals(rows)
    assert totals["g"].lag == 7 and totals["g"].oldest_unprocessed_age_s == 9.0
    assert totals["h"].lag == 0 and totals["h"].oldest_unprocessed_age_s is None
