"""One order's life through the running system's HTTP APIs, in the tests' own terms: placed,
paid on the bank's page, confirmed, shipped and delivered, withdrawn and returned, refunded; and
the operators' commands the tests run against the test stack (the clock, the auditors' verify).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import httpx

from deploy.demo import APPROVED_CARD, order_body, pay_on_bank_page
from deploy.system import TEST_CLOCK, TEST_PORTS, bearer
from tests.support.waiting import eventually

if TYPE_CHECKING:
    from tests.integration.conftest import System


async def placed_and_payable(http: httpx.AsyncClient, system: System) -> dict:
    order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    await eventually(lambda: payment_of(http, system, order["order_id"]), what="payment expected")
    return order


async def payment_of(http: httpx.AsyncClient, system: System, order_id: str) -> dict | None:
    response = await http.get(f"{system.payments_url}/payments/{order_id}")
    return response.json() if response.status_code == 200 else None


async def session_for(http: httpx.AsyncClient, system: System, order_id: str) -> dict:
    response = await http.post(f"{system.payments_url}/payments/{order_id}/session")
    assert response.status_code == 201, response.text
    return response.json()


async def status_is(http: httpx.AsyncClient, system: System, order_id: str, status: str,
                    service: str = "orders") -> dict | None:
    url = {"orders": f"{system.orders_url}/orders/{order_id}",
           "payments": f"{system.payments_url}/payments/{order_id}"}[service]
    body = (await http.get(url)).json()
    return body if body.get("status") == status else None


def clock(system: System, *args: str) -> str:
    """Run the clock command against the test stack, as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "services.platform.clock", *args],
        env={"PATH": "/usr/bin:/bin", "CLOCK_FILE": str(TEST_CLOCK),
             "DATABASE_URL": system.infra.database_server_url},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def confirmed_order(http: httpx.AsyncClient, system: System) -> str:
    """Place an order, pay it with the approved card and wait until the sale is final."""
    order_id = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()[
        "order_id"]
    await eventually(lambda: found(http, f"{system.payments_url}/payments/{order_id}"))
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    await eventually(lambda: found(http, f"{system.fulfilment_url}/shipments/{order_id}"))
    return order_id


async def found(http: httpx.AsyncClient, url: str) -> bool:
    return (await http.get(url, headers=bearer("ops"))).status_code == 200


async def shipped_and_delivered(http: httpx.AsyncClient, system: System, order_id: str,
                                at: str, outcome: str = "delivered", **report: str) -> dict:
    """The warehouse ships the order and the carrier reports ``outcome`` at ``at``: the shared
    clock is moved on to ``at`` first when it is later (a report is never dated after it is
    made)."""
    shipped = await http.post(f"{system.fulfilment_url}/shipments/{order_id}",
                              headers=bearer("warehouse"),
                              json={"carrier": "Colissimo", "tracking_number": "6A" + at[:10]})
    assert shipped.status_code == 201, shipped.text
    if dt.datetime.fromisoformat(at) > dt.datetime.fromisoformat(clock(system, "show")):
        clock(system, "set", at)
    reported = await http.post(f"{system.fulfilment_url}/deliveries/{order_id}",
                               headers=bearer("carrier"),
                               json={"outcome": outcome, "at": at, **report})
    assert reported.status_code == 200, reported.text
    return reported.json()


SOLD_OUT = "IGP-COTES-CATALANES-2024"  # no stock in the demo warehouse, 6.90 a bottle


async def with_a_sold_out_line(http: httpx.AsyncClient, system: System) -> dict:
    body = order_body(lines=[{"sku": "COTES-ROUSSILLON-ROUGE-2022", "quantity": 6},
                             {"sku": SOLD_OUT, "quantity": 3}])
    order = (await http.post(f"{system.orders_url}/orders", json=body)).json()
    await eventually(lambda: line_is(http, system, order["order_id"], SOLD_OUT, "notified"))
    return order


async def line_is(http: httpx.AsyncClient, system: System, order_id: str, sku: str,
                   key: str, value: object = None) -> bool:
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    change = order["line_changes"].get(sku, {})
    return key in change and (value is None or change[key] == value)


REFUNDS = f"http://127.0.0.1:{TEST_PORTS['refunds']}"


OPS = bearer("ops")


async def refunds_of(http: httpx.AsyncClient, order_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"{REFUNDS}/refunds", params={"order_id": order_id}, headers=OPS)
    assert response.status_code == 200, response.text
    return list(response.json())


async def the_refund(http: httpx.AsyncClient, order_id: str) -> dict[str, Any]:
    async def one() -> dict[str, Any] | None:
        found = await refunds_of(http, order_id)
        return found[0] if found else None

    refund = await eventually(one, what=f"a refund owed on order {order_id}")
    assert refund is not None
    return refund


async def paid(http: httpx.AsyncClient, refund_id: str) -> dict[str, Any] | None:
    refund = (await http.get(f"{REFUNDS}/refunds/{refund_id}", headers=OPS)).json()
    return refund if refund["status"] == "paid" else None


async def delivered_order(http: httpx.AsyncClient, system: System) -> str:
    order_id = await confirmed_order(http, system)
    now = dt.datetime.fromisoformat(clock(system, "show"))
    await shipped_and_delivered(http, system, order_id, now.isoformat())
    await eventually(lambda: status_is(http, system, order_id, "delivered"))
    return order_id


async def withdrawn_and_returned(http: httpx.AsyncClient, system: System) -> str:
    order_id = await delivered_order(http, system)
    withdrawn = await http.post(f"{system.orders_url}/orders/{order_id}/withdrawal", json={})
    assert withdrawn.status_code == 200, withdrawn.text

    async def return_expected() -> bool:
        shipment = (await http.get(f"{system.fulfilment_url}/shipments/{order_id}",
                                   headers=OPS)).json()
        return bool(shipment["return_by"])

    await eventually(return_expected)
    returned = await http.post(f"{system.fulfilment_url}/returns/{order_id}",
                               headers=bearer("warehouse"), json={"complete": True})
    assert returned.status_code == 200, returned.text
    return order_id


def run_verify(system: System, *orders: str) -> tuple[int, dict]:
    import subprocess
    import sys

    args = [arg for order in orders for arg in ("--order", order)]
    result = subprocess.run([sys.executable, "-m", "services.platform.verify", *args],
                            env={**system["orders-api"].env, "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120, check=False)
    return result.returncode, json.loads(result.stdout)
