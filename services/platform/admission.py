"""Admission control: a bounded number of requests in flight per API process.

Beyond saturation, queueing more requests only makes every one of them slower (the database pool
and the event loop are shared), until clients time out and retry into an even longer queue. So a
process works on at most ``MAX_IN_FLIGHT`` requests at once; a request that finds no free slot
within ``ADMISSION_WAIT_MS`` is answered at once with 503 and ``Retry-After``, having done
nothing, and the admitted ones keep their latency. Commands (every method but GET, HEAD and
OPTIONS) have their own, smaller bound, ``MAX_COMMANDS_IN_FLIGHT``: each one decides, seals
personal data and appends in one transaction, so a handful at once already keeps both cores
busy (measured in docs/decisions/0012), while reads are cheap and many. Operational routes
(health, metrics, the OpenAPI documents) bypass it: an orchestrator must still see an
overloaded process alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Receive, Scope, Send

from services.platform.http import ProblemError

__all__ = ["ADMISSIONS", "IN_FLIGHT", "AdmissionControl", "overloaded"]

ADMISSIONS = Counter("http_admissions_total", "Requests admitted or shed by admission control",
                     ["service", "outcome"])
IN_FLIGHT = Gauge("http_requests_in_flight", "Requests being served under admission control",
                  ["service"])
RETRY_AFTER_SECONDS = 1


def overloaded(detail: str) -> ProblemError:
    """The 503 answered when the service cannot take a request now (with ``Retry-After``)."""
    return ProblemError(503, "overloaded", "The service is overloaded", detail,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


READS = frozenset({"GET", "HEAD", "OPTIONS"})


class AdmissionControl:
    """ASGI middleware: at most ``limit`` reads and ``command_limit`` commands in flight; one
    waits at most ``wait`` seconds for a slot, else it is answered 503. Paths for which
    ``exempt`` is true bypass it."""

    def __init__(self, app: ASGIApp, *, service: str, limit: int, wait: float,
                 exempt: Callable[[str], bool], command_limit: int | None = None) -> None:
        self._app, self._service, self._wait, self._exempt = app, service, wait, exempt
        self._reads = asyncio.Semaphore(limit)
        self._commands = asyncio.Semaphore(command_limit or limit)
        self._admitted = ADMISSIONS.labels(service, "admitted")
        self._shed = ADMISSIONS.labels(service, "shed")
        self._in_flight = IN_FLIGHT.labels(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope["path"]):
            await self._app(scope, receive, send)
            return
        slots = self._reads if scope.get("method") in READS else self._commands
        if not await self._admit(slots):
            self._shed.inc()
            await self._refusal()(scope, receive, send)
            return
        self._admitted.inc()
        self._in_flight.inc()
        try:
            await self._app(scope, receive, send)
        finally:
            self._in_flight.dec()
            slots.release()

    async def _admit(self, slots: asyncio.Semaphore) -> bool:
        """Take a slot, waiting ``wait`` seconds at most; False when none came free."""
        if not slots.locked():
            await slots.acquire()  # free: returns without suspending
            return True
        try:
            async with asyncio.timeout(self._wait):
                await slots.acquire()
        except TimeoutError:
            return False
        return True

    def _refusal(self) -> ASGIApp:
        return overloaded(f"{self._service} is at capacity; nothing was done. Retry after "
                          f"{RETRY_AFTER_SECONDS} s (with the same Idempotency-Key for a "
                          "command).").response()
