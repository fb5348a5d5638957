"""The load client against a real HTTP server: without retries, a 503 is a request's final
answer, and its client waits the Retry-After asked for before sending its next request."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.load import Request, closed_loop

pytestmark = pytest.mark.asyncio


async def test_a_client_refused_with_503_waits_retry_after_before_its_next_request() -> None:
    arrivals: list[float] = []

    async def orders(_: web.Request) -> web.Response:
        arrivals.append(time.perf_counter())
        if len(arrivals) == 1:
            return web.json_response({}, status=503, headers={"Retry-After": "0.3"})
        return web.json_response({}, status=201)

    app = web.Application()
    app.router.add_post("/orders", orders)
    async with TestServer(app, host="127.0.0.1") as server:
        result = await closed_loop(str(server.make_url("")), lambda _: Request("POST", "/orders"),
                                   concurrency=1, total=3, retry_503=False)

    assert result.final_statuses == [503, 201, 201]
    assert arrivals[1] - arrivals[0] >= 0.3
    assert len(result.latencies_of(503)) == 1 and len(result.latencies_of(201)) == 2
