"""Overload as an independent client measures it: ``python -m bench.overload <orders URL>
--clients 8,16,32 --seconds 3``, the shop's ``Authorization`` header in ``OVERLOAD_AUTHORIZATION``.

At each concurrency, closed-loop clients place orders back to back; a 503 is a request's
final answer and its client waits the ``Retry-After`` it asked for before its next order. The
accepted orders' latency and the refusals' latency are reported apart: admission control is
meant to keep the first bounded and the second short.

The client is a process of its own (aiohttp, ``bench.load``), as the issue's figures were
measured: from inside the fault suite's process (httpx, sharing that process's event loop and
its share of the two cores), 32 clients saw p99 1.9 s while the server shed nothing, so no
request waited the 500 ms admission control allows; from a process of its own, against the
same kind of stack, p95 was 0.59 s. Prints the results as a JSON list.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid
from collections.abc import Sequence
from typing import Any

from bench.load import Request, closed_loop, percentiles
from deploy.demo import order_body

__all__ = ["main", "overload"]


async def overload(url: str, clients: Sequence[int], seconds: float,
                   authorization: str) -> list[dict[str, Any]]:
    """One closed loop of ``seconds`` per number of ``clients``; orders/s and latencies."""
    def place(_: int) -> Request:
        return Request("POST", "/orders", json=order_body(), headers={
            "Authorization": authorization, "Idempotency-Key": str(uuid.uuid4())})

    results = []
    for count in clients:
        result = await closed_loop(url, place, concurrency=count, duration_s=seconds,
                                   retry_503=False)
        placed, shed = result.latencies_of(201), result.latencies_of(503)
        accepted = percentiles(placed)
        results.append({
            "clients": count, "orders_per_s": round(len(placed) / result.seconds, 1),
            "p50_ms": accepted["p50_ms"], "p99_ms": accepted["p99_ms"],
            "shed_503": len(shed), "shed_p99_ms": percentiles(shed)["p99_ms"],
            "statuses": {str(k): v for k, v in sorted(result.statuses.items())}})
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: prints the JSON list of ``overload``."""
    parser = argparse.ArgumentParser(prog="python -m bench.overload")
    parser.add_argument("url", help="the orders API, e.g. http://127.0.0.1:8001")
    parser.add_argument("--clients", default="8,16,32")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    clients = [int(count) for count in args.clients.split(",")]
    print(json.dumps(asyncio.run(overload(args.url, clients, args.seconds,
                                          os.environ["OVERLOAD_AUTHORIZATION"]))))


if __name__ == "__main__":
    main()
