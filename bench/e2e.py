"""``make bench``: command latency and end-to-end latency of the first order flow, as JSON.

Starts the infrastructure the way the tests find it (environment, testcontainers or the local
launcher) and the services as real processes, places orders over HTTP at a fixed concurrency,
and measures:

* ``place_order``: HTTP latency of ``POST /orders`` (decide + append + project + commit);
* ``order_to_reservation``: from the order's commit in orders to the ``StockReserved`` commit in
  fulfilment (relay → Kafka → faust agent → fulfilment transaction), from the two event stores'
  ``recorded_at`` (one PostgreSQL server, one clock).

Results go to stdout and ``bench-results/e2e.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from deploy.demo import order_body
from deploy.infrastructure import ensure_databases, infrastructure
from deploy.system import TEST_PORTS, bearer, running_system

RESULTS = Path(__file__).resolve().parents[1] / "bench-results"


def summary(samples_ms: list[float]) -> dict[str, float]:
    """Percentiles of a list of milliseconds."""
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100) if len(ordered) > 1 else ordered * 99
    return {"count": len(ordered), "p50_ms": round(q[49], 2), "p95_ms": round(q[94], 2),
            "p99_ms": round(q[98], 2), "max_ms": round(ordered[-1], 2)}


async def place_orders(total: int, concurrency: int, pause: float = 0.0,
                       ) -> tuple[list[str], list[float], float]:
    """Place ``total`` orders with ``concurrency`` clients, each pausing ``pause`` seconds
    between orders; ids, latencies (ms), seconds."""
    latencies: list[float] = []
    ids: list[str] = []
    queue = iter(range(total))
    orders_url = f"http://127.0.0.1:{TEST_PORTS['orders']}"
    async with httpx.AsyncClient(base_url=orders_url, timeout=30,
                                 headers=bearer("shop")) as http:

        async def client() -> None:
            for _ in queue:
                started = time.perf_counter()
                response = await http.post("/orders", json=order_body())
                while response.status_code == 503:  # shed: as a client honouring Retry-After
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    response = await http.post("/orders", json=order_body())
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                ids.append(response.json()["order_id"])
                await asyncio.sleep(pause)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
    return ids, latencies, time.perf_counter() - started


async def reservation_latencies(orders_url: str, fulfilment_url: str,
                                ids: list[str]) -> list[float]:
    """Milliseconds from each order's commit to its reservation's commit (waits for all)."""
    orders, fulfilment = await asyncpg.connect(orders_url), await asyncpg.connect(fulfilment_url)
    try:
        query = ("SELECT order_id, min(recorded_at) AS at FROM events "
                 "WHERE order_id = ANY($1::text[]) GROUP BY order_id")
        deadline = time.monotonic() + 300
        while len(reserved := await fulfilment.fetch(query, ids)) < len(ids):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(reserved)}/{len(ids)} reservations after 300 s")
            await asyncio.sleep(0.2)
        placed = {r["order_id"]: r["at"] for r in await orders.fetch(query, ids)}
        return [(r["at"] - placed[r["order_id"]]).total_seconds() * 1000 for r in reserved]
    finally:
        await orders.close()
        await fulfilment.close()


async def measure(infra: Any, total: int, concurrency: int) -> dict[str, Any]:
    """Warm up, then measure under load and at a gentle pace (5 orders a second)."""
    await place_orders(20, 4)
    loaded = await run(infra, total, concurrency, 0.0)
    paced = await run(infra, 50, 1, 0.2)
    return {"loaded": loaded, "paced_5_per_s": paced}


async def run(infra: Any, total: int, concurrency: int, pause: float) -> dict[str, Any]:
    """One measured run."""
    ids, latencies, seconds = await place_orders(total, concurrency, pause)
    e2e = await reservation_latencies(infra.database_url("orders"),
                                      infra.database_url("fulfilment"), ids)
    return {"orders": total, "concurrency": concurrency,
            "place_order": {**summary(latencies),
                            "throughput_per_s": round(total / seconds, 1)},
            "order_to_reservation": summary(e2e)}


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.e2e")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with infrastructure() as infra:
        asyncio.run(ensure_databases(infra))
        with running_system(infra):
            result = asyncio.run(measure(infra, args.orders, args.concurrency))
    result["infrastructure"] = infra.source
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
