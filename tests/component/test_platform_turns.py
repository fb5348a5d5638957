"""Copies of a worker take turns at each timed work: one at a time runs a pass, and a copy
that dies mid-pass leaves the next pass to another (on a real PostgreSQL server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest_asyncio

from services.platform.turns import TIMED_WORK_LOCK, Turns


@pytest_asyncio.fixture
async def two_copies(server_url: str) -> AsyncIterator[tuple[Turns, Turns]]:
    first, second = Turns(server_url), Turns(server_url)
    yield first, second
    await first.close()
    await second.close()


def a_work() -> str:
    return f"escalation-{uuid.uuid4()}"


async def test_while_one_copy_runs_a_pass_the_other_leaves_it(two_copies) -> None:
    first, second = two_copies
    work = a_work()
    async with first.turn(work) as mine:
        assert mine
        async with second.turn(work) as theirs:
            assert not theirs
    async with second.turn(work) as theirs:  # given back at the end of the pass
        assert theirs


async def test_different_works_do_not_wait_for_each_other(two_copies) -> None:
    first, second = two_copies
    async with first.turn(a_work()) as mine, second.turn(a_work()) as theirs:
        assert mine and theirs


async def test_a_copy_that_dies_mid_pass_leaves_the_next_pass_to_another(
        two_copies, server_url: str) -> None:
    first, second = two_copies
    work = a_work()
    async with first.turn(work) as mine:
        assert mine
        await _end_the_session_holding(server_url, work)  # as when its process is killed
        async with second.turn(work) as theirs:
            assert theirs


async def test_a_lost_session_is_opened_again_for_the_next_pass(two_copies,
                                                                 server_url: str) -> None:
    first, _ = two_copies
    work = a_work()
    async with first.turn(work) as mine:
        assert mine
        await _end_the_session_holding(server_url, work)
    async with first.turn(work) as mine:
        assert mine


async def test_a_copy_silent_past_the_idle_timeout_leaves_the_next_pass_to_another(
        server_url: str) -> None:
    silent, other = Turns(server_url, idle_timeout="1s"), Turns(server_url)
    work = a_work()
    try:
        async with silent.turn(work) as mine:
            assert mine  # and then silent, as a frozen copy: its session idle past the timeout
            assert await _taken_within(other, work, seconds=15)
        async with silent.turn(work) as mine:  # awake again: a new session, and its turn
            assert mine
    finally:
        await silent.close()
        await other.close()


async def _taken_within(turns: Turns, work: str, seconds: float) -> bool:
    """Whether ``turns`` gets ``work``'s turn (given back at once) within ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        async with turns.turn(work) as mine:
            if mine:
                return True
        await asyncio.sleep(0.2)
    return False


async def _end_the_session_holding(server_url: str, work: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        ended = await admin.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_locks "
            "WHERE locktype = 'advisory' AND classid = $1 AND objid = hashtext($2)::oid "
            "AND granted", TIMED_WORK_LOCK, work)
        assert ended == 1
    finally:
        await admin.close()
