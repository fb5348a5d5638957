"""The loop of a worker's timed work: a pass when woken or at the interval; after a woken pass
that did nothing, the next waits its whole interval (an outside system failing is not asked
again at every commit), and a pass that did something, or one the interval ran, heeds wakes."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.platform.agents import Periodic, run_timed_work


async def _nothing(_pool: object) -> int:
    return 0


@dataclass
class ScriptedWakeups:
    """Each wait returns the next of ``woken``; what each wait was asked is kept."""

    woken: list[bool]
    heeded: list[bool] = field(default_factory=list)

    async def wait(self, work: str, interval: float, *, heed_wakes: bool = True) -> bool:
        self.heeded.append(heed_wakes)
        return self.woken[len(self.heeded) - 1] and heed_wakes


async def heeded_waits(woken: list[bool], passes_did: list[bool]) -> list[bool]:
    wakeups, done = ScriptedWakeups(woken), iter(passes_did)

    async def run_pass() -> bool:
        return next(done)

    await run_timed_work(Periodic("capture", 0.5, _nothing), wakeups, run_pass,
                         lambda: len(wakeups.heeded) == len(woken))
    return wakeups.heeded


async def test_a_woken_pass_that_did_nothing_makes_the_next_wait_its_interval() -> None:
    # given woken passes the bank does not answer, then one it answers
    heeded = await heeded_waits(woken=[True, True, False, True, True],
                                passes_did=[False, False, False, True, True])

    # then after each woken pass that did nothing the next wait heeds no wake, and the pass
    # the interval ran (which did nothing either: nothing was due) lets the next heed them
    assert heeded == [True, False, True, True, True]


async def test_passes_that_do_something_are_run_at_every_wake() -> None:
    assert await heeded_waits([True, True, True], [True, True, True]) == [True, True, True]


async def test_a_worker_stopping_starts_no_pass() -> None:
    wakeups = ScriptedWakeups([True])
    passes: list[bool] = []

    async def run_pass() -> bool:
        passes.append(True)
        return True

    await run_timed_work(Periodic("mail", 0.5, _nothing), wakeups, run_pass, lambda: True)
    assert (wakeups.heeded, passes) == ([], [])
