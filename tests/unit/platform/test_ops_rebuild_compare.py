"""A rebuilt read model held against the live one, table by table (the shared snapshot logic of
``services.platform.rebuild``, used by the command line and the fault suite)."""

from __future__ import annotations

from services.platform.rebuild import Comparison, Replay, compare


def test_equal_tables_are_equal_whatever_the_order_of_their_rows() -> None:
    [table] = compare({"order_view": ["(a,1)", "(b,2)"]}, {"order_view": ["(b,2)", "(a,1)"]})
    assert table.equal and (table.live_rows, table.rebuilt_rows) == (2, 2)


def test_a_missing_a_changed_and_a_doubled_row_each_make_a_table_differ() -> None:
    live = {"t": ["(a,1)", "(b,2)"], "u": ["(c,3)"]}
    rebuilt = {"t": ["(a,1)", "(b,9)"], "u": ["(c,3)", "(c,3)"], "v": ["(d,4)"]}
    result = {row.table: row for row in compare(live, rebuilt)}
    assert (result["t"].only_live, result["t"].only_rebuilt) == (1, 1)
    assert (result["u"].only_live, result["u"].only_rebuilt) == (0, 1)
    assert (result["v"].live_rows, result["v"].equal) == (0, False)
    assert not Comparison(Replay(), list(result.values())).equal
    assert Comparison(Replay(), compare(live, live)).equal
