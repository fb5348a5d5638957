"""The benchmark's HTTP load client: closed loop (N clients back to back) and open loop (a fixed
arrival rate), on one aiohttp session with keep-alive connections.

Every request's latency is measured from when it was due (closed loop: when its client sent it;
open loop: its scheduled time, so a server that falls behind shows in the latencies instead of
slowing the arrivals down — no coordinated omission) to its final answer. A 503 with
``Retry-After`` is honoured as a polite client would: wait, then send again; the wait counts in
that request's latency and every 503 counts in ``statuses``. A request that gets no HTTP answer
(connection refused or reset, timeout) counts as status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import inspect
import itertools
import json
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = ["LoadResult", "Request", "closed_loop", "open_loop", "percentiles"]

MAX_IN_FLIGHT = 512
"""The open loop's bound on requests in flight (and on its connections)."""
MAX_RETRIES_503 = 30
"""After this many 503s in a row for one request, the 503 is its final answer."""
TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True)
class Request:
    """What one client call sends: ``path`` is appended to the loop's base URL."""

    method: str
    path: str
    json: Any | None = None
    headers: Mapping[str, str] | None = None


MakeRequest = Callable[[int], Request | Awaitable[Request]]
"""Builds the request of the given index (0, 1, …), directly or as an awaitable."""


@dataclass
class LoadResult:
    """What a loop measured: one latency per request (any final status), every status seen
    (retried 503s included), the wall-clock seconds of the loop and, with ``keep_bodies``, the
    parsed JSON of the 2xx answers in the order they arrived (raw bytes for a body that is
    not JSON)."""

    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    bodies: list[Any] = field(default_factory=list)
    final_statuses: list[int] = field(default_factory=list)
    """The final status of each request, in the order of ``latencies_ms``."""

    def latencies_of(self, status: int) -> list[float]:
        """The latencies of the requests whose final answer had ``status``."""
        return [ms for ms, final in zip(self.latencies_ms, self.final_statuses, strict=True)
                if final == status]

    def summary(self) -> dict[str, float]:
        """count (requests), ok (2xx), per_s (2xx per second), the latency percentiles, one
        ``errors_<status>`` per non-2xx status seen (``errors_0``: no HTTP answer; retried 503s
        included) and ``retried_503``: the 503s that were followed by a retry."""
        ok = sum(n for status, n in self.statuses.items() if 200 <= status < 300)
        figures: dict[str, float] = {
            "count": len(self.latencies_ms), "ok": ok,
            "per_s": round(ok / self.seconds, 1) if self.seconds > 0 else 0.0,
            **percentiles(self.latencies_ms)}
        errors = {status: n for status, n in sorted(self.statuses.items())
                  if not 200 <= status < 300}
        figures.update({f"errors_{status}": n for status, n in errors.items()})
        if 503 in errors:  # only a 503 is retried: every other answer is a request's last
            final_503 = len(self.latencies_ms) - ok - sum(errors.values()) + errors[503]
            figures["retried_503"] = errors[503] - final_503
        return figures


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    """p50, p95, p99 (interpolated between samples, never beyond them) and max, in ms rounded
    to 0.01; all 0.0 for no samples."""
    if not samples_ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(samples_ms)
    cuts = (statistics.quantiles(ordered, n=100, method="inclusive")
            if len(ordered) > 1 else ordered * 99)
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2),
            "p99_ms": round(cuts[98], 2), "max_ms": round(ordered[-1], 2)}


def retry_after_seconds(value: str | None) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date); None if absent or
    unreadable."""
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    return None


class _Client:
    """Sends requests on one session and records their outcome into one result."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, *, keep_bodies: bool,
                 retry_503: bool) -> None:
        self.session, self.base_url = session, base_url.rstrip("/")
        self.keep_bodies, self.retry_503 = keep_bodies, retry_503
        self.result = LoadResult()

    async def call(self, make_request: MakeRequest, index: int, due: float | None) -> float:
        """Send request ``index`` (retrying polite 503s); its latency runs from ``due``, or
        from when it was built. Returns the wait a final 503 asked for (0.0 otherwise)."""
        request = make_request(index)
        if inspect.isawaitable(request):
            request = await request
        due = time.perf_counter() if due is None else due
        status, retry_after, body = await self._until_final(request)
        self.result.latencies_ms.append((time.perf_counter() - due) * 1000)
        self.result.final_statuses.append(status)
        if self.keep_bodies and 200 <= status < 300:
            self.result.bodies.append(_parsed(body))
        return (retry_after_seconds(retry_after) or 0.0) if status == 503 else 0.0

    async def _until_final(self, request: Request) -> tuple[int, str | None, bytes]:
        for attempt in range(1, MAX_RETRIES_503 + 1):
            status, retry_after, body = await self._attempt(request)
            self.result.statuses[status] += 1
            wait = retry_after_seconds(retry_after) if status == 503 and self.retry_503 else None
            if wait is None or attempt == MAX_RETRIES_503:
                break
            await asyncio.sleep(wait)
        return status, retry_after, body

    async def _attempt(self, request: Request) -> tuple[int, str | None, bytes]:
        try:
            async with self.session.request(request.method, self.base_url + request.path,
                                            json=request.json, headers=request.headers) as answer:
                return answer.status, answer.headers.get("Retry-After"), await answer.read()
        except (aiohttp.ClientError, TimeoutError):
            return 0, None, b""


def _parsed(body: bytes) -> Any:
    """A body's JSON; None if empty, the bytes themselves if not JSON."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


@contextlib.asynccontextmanager
async def _client(base_url: str, connections: int, *, keep_bodies: bool,
                  retry_503: bool) -> AsyncIterator[_Client]:
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections,
                                     keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector, timeout=TIMEOUT) as session:
        yield _Client(session, base_url, keep_bodies=keep_bodies, retry_503=retry_503)


async def closed_loop(base_url: str, make_request: MakeRequest, *, concurrency: int,
                      duration_s: float | None = None, total: int | None = None,
                      keep_bodies: bool = False, retry_503: bool = True) -> LoadResult:
    """``concurrency`` clients each sending a request as soon as their previous one is
    answered, until ``total`` requests were sent or ``duration_s`` has passed (whichever comes
    first; at least one must be given). Requests in flight at the deadline are waited for.
    Without ``retry_503``, a 503 is a request's final answer and its client waits the
    ``Retry-After`` it asked for before sending its next request."""
    if duration_s is None and total is None:
        raise ValueError("closed_loop needs duration_s or total")
    deadline = time.perf_counter() + duration_s if duration_s is not None else float("inf")
    indices = iter(range(total)) if total is not None else itertools.count()
    async with _client(base_url, concurrency, keep_bodies=keep_bodies,
                       retry_503=retry_503) as client:

        async def one_client() -> None:
            for index in indices:
                if time.perf_counter() >= deadline:
                    return
                await asyncio.sleep(await client.call(make_request, index, None))

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        client.result.seconds = time.perf_counter() - started
    return client.result


async def open_loop(base_url: str, make_request: MakeRequest, *, rate_per_s: float,
                    duration_s: float, keep_bodies: bool = False,
                    retry_503: bool = True) -> LoadResult:
    """Requests at a fixed arrival rate for ``duration_s``: request i is due at
    start + i / ``rate_per_s`` and its latency is measured from then, however late it could be
    sent. At most ``MAX_IN_FLIGHT`` are in flight; past that, arrivals wait (and their wait
    counts in their latency). ``seconds`` runs until the last answer."""
    count = int(rate_per_s * duration_s)
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    async with _client(base_url, MAX_IN_FLIGHT, keep_bodies=keep_bodies,
                       retry_503=retry_503) as client:

        async def send(index: int, due: float) -> None:
            try:
                await client.call(make_request, index, due)
            finally:
                slots.release()

        started = time.perf_counter()
        # Only the requests still in flight are kept: gathering every task sent at the end
        # (6,000 in (c)) cost the client 40-65 ms of CPU while the last answers waited.
        in_flight: set[asyncio.Task[None]] = set()
        for index in range(count):
            due = started + index / rate_per_s
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            task = asyncio.create_task(send(index, due))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
        client.result.seconds = time.perf_counter() - started
    return client.result
