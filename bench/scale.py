"""How much ``make bench`` measures: the full run, and the smoke run CI makes."""

from __future__ import annotations

from dataclasses import dataclass

GB = 1_000_000_000


@dataclass(frozen=True)
class Scale:
    """Counts and durations of one bench run."""

    name: str
    ceilings: float
    peer_orders: int
    warm_up_seconds: float
    concurrency: int
    commands_seconds: float
    lifecycle_concurrency: int
    lifecycle_seconds: float
    rate: float
    paced_seconds: float
    refunds: int
    growth_orders: int
    rebuild_events: int

    def disk_bytes(self) -> int:
        """About the most disk the run fills at once: the sweep's scratch database (11 GB a
        million open refunds) and the grown orders log (its database, its topic, the WAL
        between checkpoints: about 8 GB after 130,000 seeded orders), with a GB to spare."""
        return (11 * GB * self.refunds // 1_000_000 + 8 * GB * self.growth_orders // 130_000
                + GB)

    def disk_shortfall(self, free: int) -> str | None:
        """Why ``free`` bytes cannot hold the run, or None when they can."""
        needed = self.disk_bytes()
        if free >= needed:
            return None
        return (f"the {self.name} bench fills about {needed / GB:.0f} GB of disk and "
                f"{free / GB:.1f} GB are free (fewer open refunds: --refunds N)")


FULL = Scale("full", ceilings=0.5, peer_orders=1000, warm_up_seconds=20, concurrency=16,
             commands_seconds=15, lifecycle_concurrency=16, lifecycle_seconds=20, rate=100,
             paced_seconds=60, refunds=1_000_000, growth_orders=130_000, rebuild_events=200_000)
"""The issue's measures: (a) after 20 s of the same load (the broker's JIT compiles the hot paths
of a fetch of a few records, which the ceilings' large batches do not exercise); 60 s at 100
orders/s; the rebuild over 200,000 events, then the log grown
past 1,000,000 events (6.25 per seeded order); the sweep over the issue's 1,000,000 open
refunds (seeding them takes 2.5 to 3.5 minutes of the bench's time, by the machine's speed: a
scratch database of 11 GB, its indexes built after the load; docs/decisions/0017)."""

SMOKE = Scale("smoke", ceilings=0.01, peer_orders=20, warm_up_seconds=1, concurrency=4,
              commands_seconds=2, lifecycle_concurrency=2, lifecycle_seconds=3, rate=20,
              paced_seconds=2, refunds=2000, growth_orders=500, rebuild_events=200)
"""Every measure at tiny counts: CI runs it so that the benchmark cannot rot. The orders placed
by (a) to (c) already give the rebuild its 200 events: it replays the live ones, and seeding
(which stops and starts the workers, 11 s) is left to the growth step."""
