"""Whole order lifecycles driven through the services' HTTP APIs, as the shop's front end, the
buyer's browser, the warehouse, the carrier and the operators drive them, and robust to the
faults the suite injects: a call that meets a dead process, a 5xx or a 503 is asked again with
the same idempotency key until ``patience`` runs out.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from deploy.demo import APPROVED_CARD, order_body, pay_on_bank_page
from deploy.system import TEST_PORTS, bearer
from services.platform.auth import Role

T = TypeVar("T")
ROLES: tuple[Role, ...] = ("shop", "ops", "warehouse", "carrier")
RETRIED = {500, 502, 503, 504}


def _retryable(response: httpx.Response) -> bool:
    """A failure, an overloaded service, or a command that raced another write on the same
    order (the problem says: reload and retry)."""
    return response.status_code in RETRIED or (
        response.status_code == 409
        and response.headers.get("content-type", "").startswith("application/problem+json")
        and response.json().get("type", "").endswith("/concurrent-modification"))


class LifecycleStuckError(Exception):
    """An order did not reach the state it was driven to within the suite's patience."""


@dataclass(frozen=True)
class Urls:
    """Where each service answers."""

    orders: str = f"http://127.0.0.1:{TEST_PORTS['orders']}"
    payments: str = f"http://127.0.0.1:{TEST_PORTS['payments']}"
    fulfilment: str = f"http://127.0.0.1:{TEST_PORTS['fulfilment']}"
    refunds: str = f"http://127.0.0.1:{TEST_PORTS['refunds']}"


class Shop:
    """The callers of the APIs, sharing one connection pool; ``now`` is the stack's clock."""

    def __init__(self, http: httpx.AsyncClient, now: Callable[[], str], urls: Urls = Urls(),
                 patience: float = 180.0,
                 token: Callable[[Role], dict[str, str]] = bearer) -> None:
        self.http, self.now, self.urls, self.patience = http, now, urls, patience
        self.roles: dict[str, dict[str, str]] = {role: token(role) for role in ROLES}
        self.retries = 0

    async def call(self, method: str, url: str, role: str = "shop",
                   ok: tuple[int, ...] = (200, 201, 202), *, conflict_means_done: bool = True,
                   headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """One request, asked again while the service is down or failing; the first answer in
        ``ok``. A 409 to a repeated command means the first attempt went through (its answer
        was lost): the state waits that follow check it."""
        deadline, attempt = time.monotonic() + self.patience, 0
        while True:
            attempt += 1
            try:
                response = await self.http.request(
                    method, url, headers={**self.roles[role], **(headers or {})}, **kwargs)
                if response.status_code in ok or (
                        conflict_means_done and attempt > 1 and response.status_code == 409
                        and not _retryable(response)):
                    return response
                if not _retryable(response):
                    raise LifecycleStuckError(f"{method} {url}: {response.status_code} "
                                              f"{response.text[:300]}")
            except httpx.TransportError:
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise LifecycleStuckError(f"{method} {url}: no answer in {self.patience} s")
            await asyncio.sleep(min(0.2 * attempt, 2.0))

    async def until(self, probe: Callable[[], Awaitable[T | None]], what: str) -> T:
        """Poll ``probe`` until it returns something; fail as stuck after ``patience``."""
        deadline = time.monotonic() + self.patience
        while True:
            value = await probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise LifecycleStuckError(f"{what} not reached in {self.patience} s")
            await asyncio.sleep(0.2)

    async def status(self, order_id: str, wanted: str) -> dict[str, Any] | None:
        """The order's view once it has ``wanted`` status."""
        body = (await self.call("GET", f"{self.urls.orders}/orders/{order_id}")).json()
        return body if body.get("status") == wanted else None

    async def found(self, url: str) -> bool:
        """True once ``url`` answers 200 to operators."""
        response = await self.call("GET", url, role="ops", ok=(200, 404))
        return response.status_code == 200

    async def place(self) -> str:
        """A new order of one bottle of each of two wines; its id. The same idempotency key on
        every attempt: placed once whatever happens to the answers."""
        body = order_body(lines=[{"sku": "COTES-ROUSSILLON-ROUGE-2022", "quantity": 1},
                                 {"sku": "MUSCAT-RIVESALTES-2023", "quantity": 1}])
        placed = await self.call("POST", f"{self.urls.orders}/orders", json=body, ok=(201,),
                                 conflict_means_done=False,
                                 headers={"Idempotency-Key": str(uuid.uuid4())})
        return str(placed.json()["order_id"])

    async def pay(self, order_id: str) -> None:
        """The buyer pays with the approved card on the bank's page; the sale is confirmed."""
        await self.until(lambda: self.found(f"{self.urls.payments}/payments/{order_id}"),
                         f"payment of {order_id} expected")
        for _ in range(3):  # a page that never answered is paid again, as a buyer would
            if await self._pay_on_bank_page(order_id):
                break
        await self.until(lambda: self.status(order_id, "confirmed"), f"{order_id} confirmed")

    async def _pay_on_bank_page(self, order_id: str) -> bool:
        session = (await self.call("POST", f"{self.urls.payments}/payments/{order_id}/session",
                                   ok=(201,))).json()
        try:
            answer = await pay_on_bank_page(self.http, session, APPROVED_CARD)
        except httpx.TransportError:  # the answer was lost: paid or not, the shop will know
            await asyncio.sleep(5)
            payment = (await self.call("GET", f"{self.urls.payments}/payments/{order_id}")).json()
            return payment.get("status") != "awaiting_payment"
        if answer.status_code >= 400:
            raise LifecycleStuckError(f"the bank refused the payment of {order_id}")
        return True

    async def ship_and_deliver(self, order_id: str) -> None:
        """The warehouse ships the order, the carrier delivers it now."""
        shipments = f"{self.urls.fulfilment}/shipments/{order_id}"
        await self.until(lambda: self.found(shipments), f"shipment of {order_id} expected")
        await self.call("POST", shipments, "warehouse", json={
            "carrier": "Colissimo", "tracking_number": "6A" + order_id[:8]})
        await self.call("POST", f"{self.urls.fulfilment}/deliveries/{order_id}", "carrier",
                        json={"outcome": "delivered", "at": self.now()})
        await self.until(lambda: self.status(order_id, "delivered"), f"{order_id} delivered")

    async def withdraw_and_refund(self, order_id: str) -> str:
        """The buyer withdraws, the goods come back, operators pay the refund; its id."""
        await self.call("POST", f"{self.urls.orders}/orders/{order_id}/withdrawal", json={})
        shipments = f"{self.urls.fulfilment}/shipments/{order_id}"

        async def return_expected() -> bool:
            body = (await self.call("GET", shipments, "ops")).json()
            return bool(body.get("return_by"))

        await self.until(return_expected, f"return of {order_id} expected")
        await self.call("POST", f"{self.urls.fulfilment}/returns/{order_id}", "warehouse",
                        json={"complete": True})
        refund = await self.until(lambda: self._refund(order_id), f"refund of {order_id} owed")
        refund_id = str(refund["refund_id"])
        await self.call("POST", f"{self.urls.refunds}/refunds/{refund_id}/pay", "ops")
        await self.until(lambda: self._refund(order_id, "paid"), f"refund of {order_id} paid")
        return refund_id

    async def _refund(self, order_id: str, status: str | None = None) -> dict[str, Any] | None:
        found = (await self.call("GET", f"{self.urls.refunds}/refunds", "ops",
                                 params={"order_id": order_id})).json()
        return next((r for r in found if status is None or r["status"] == status), None)


@dataclass
class Lifecycle:
    """One order driven to its end: ``delivered``, or ``refunded`` after a withdrawal."""

    kind: str
    order_id: str | None = None
    error: str | None = None
    seconds: float = 0.0


async def drive(shop: Shop, kind: str) -> Lifecycle:
    """Drive one order through its whole life; what happened (never raises)."""
    lifecycle, started = Lifecycle(kind), time.monotonic()
    try:
        lifecycle.order_id = await shop.place()
        await shop.pay(lifecycle.order_id)
        await shop.ship_and_deliver(lifecycle.order_id)
        if kind == "refunded":
            await shop.withdraw_and_refund(lifecycle.order_id)
    except Exception as error:  # reported as a stuck lifecycle, never ends the suite
        lifecycle.error = f"{type(error).__name__}: {error}"
    lifecycle.seconds = time.monotonic() - started
    return lifecycle
