"""The operators' console in headless Chromium (Debian's package, driven by Playwright): the
live page follows the log, a whole lifecycle's timeline shows every service's events, and a
re-drive empties the dead letters. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from playwright.async_api import BrowserContext, Page, async_playwright

from contracts.topics import dead_letter_topic
from deploy.demo import order_body
from deploy.faults.shop import Shop, drive
from deploy.system import TEST_PORTS, bearer
from services.ops.timeline import order_state
from services.platform.kafka_io import Record, read_topic
from services.platform.settings import LogSettings
from tests.integration.conftest import System
from tests.support.waiting import eventually, stack_now

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path("test-artifacts")
CONSOLE = f"http://127.0.0.1:{TEST_PORTS['console']}"


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in(system: System) -> AsyncIterator[BrowserContext]:
    """A browser whose operator has signed in with an ops token."""
    del system
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1400, "height": 900})
        page = await context.new_page()
        await page.goto(f"{CONSOLE}/login")
        await page.fill("textarea[name=token]", bearer("ops")["Authorization"][7:])
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{CONSOLE}/streams")
        await page.close()
        try:
            yield context
        finally:
            await browser.close()


async def test_without_a_token_the_console_asks_to_sign_in(system: System) -> None:
    del system
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{CONSOLE}/streams")
        buyer = await http.get(f"{CONSOLE}/streams",
                               cookies={"console_token": bearer("buyer", "b-1")[
                                   "Authorization"][7:]})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert buyer.status_code == 303


async def live_page(context: BrowserContext, query: str = "") -> Page:
    page = await context.new_page()
    await page.goto(f"{CONSOLE}/streams{query}")
    await page.wait_for_selector("#live-status .ok", timeout=15_000)  # positioned at the end
    return page


async def test_a_new_order_appears_live_within_a_second(
        signed_in: BrowserContext, http: httpx.AsyncClient, system: System) -> None:
    page = await live_page(signed_in)
    placed = await http.post(f"{system.orders_url}/orders", json=order_body())
    shown_from = time.monotonic()
    order_id = placed.json()["order_id"]

    await page.wait_for_selector(f"tr[data-order='{order_id}'][data-type='OrderPlaced']",
                                 timeout=1000)
    assert time.monotonic() - shown_from < 1.0
    await page.screenshot(path=ARTIFACTS / "console-live.png")
    row = f"tr[data-order='{order_id}'][data-type='OrderPlaced']"
    await page.click(f"{row} summary")
    envelope = await page.inner_text(f"{row} pre")
    assert f'"order_id": "{order_id}"' in envelope and '"hash"' in envelope


async def test_filters_show_only_the_followed_order(
        signed_in: BrowserContext, http: httpx.AsyncClient, system: System) -> None:
    followed = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    page = await live_page(signed_in, f"?order={followed['order_id']}&service=orders")
    other = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    await http.post(f"{system.orders_url}/orders/{followed['order_id']}/block",
                    json={"reason": "non_payment"}, headers=bearer("ops"))
    await http.post(f"{system.orders_url}/orders/{other['order_id']}/block",
                    json={"reason": "non_payment"}, headers=bearer("ops"))

    await page.wait_for_selector(f"tr[data-order='{followed['order_id']}']", timeout=10_000)
    rows = await page.query_selector_all("#records tr")
    assert {await r.get_attribute("data-order") for r in rows} == {followed["order_id"]}
    assert all(["orders.events" in await r.inner_text() for r in rows])


async def test_the_timeline_of_a_lifecycle_shows_every_services_events(
        signed_in: BrowserContext, system: System) -> None:
    async with httpx.AsyncClient(timeout=30) as client:
        lifecycle = await drive(Shop(client, lambda: stack_now().isoformat()), "refunded")
    assert lifecycle.error is None, lifecycle.error

    page = await signed_in.new_page()
    await page.goto(f"{CONSOLE}/orders/{lifecycle.order_id}")
    rows = await page.query_selector_all("#timeline tbody tr")
    services = {await row.get_attribute("data-service") for row in rows}
    await page.screenshot(path=ARTIFACTS / "console-timeline.png", full_page=True)
    assert services == {"orders", "payments", "fulfilment", "refunds"}
    caused = await page.inner_text("#timeline")
    assert "↳ OrderPlaced (orders)" in caused  # causation arrows across services
    assert "RefundIssued" in caused and "withdrawal" in await page.inner_text("main")
    # in the order the operators' command line shows them (events recorded since the page was
    # read are left out of the comparison)
    shown = [await row.get_attribute("id") for row in rows]
    state = await order_state(LogSettings(kafka_bootstrap=system.infra.kafka_bootstrap,
                                          database_url=system.infra.database_server_url),
                              lifecycle.order_id)
    assert [f"event-{e.event_id}" for e in state.events if f"event-{e.event_id}" in shown] == shown


async def dead_lettered(system: System, http: httpx.AsyncClient) -> str:
    """A real event of a new order, set aside on the dead-letter topic as a consumer does when
    it cannot apply a record (the cause since fixed): its order id."""
    order_id = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()[
        "order_id"]
    bootstrap = system.infra.kafka_bootstrap
    records = await eventually(lambda: _records_of(bootstrap, order_id), what="published")
    original = records[0]
    headers = [*original.headers, ("dlq-reason", b"the projection failed (since fixed)"),
               ("dlq-consumer", b"fulfilment.reserve-stock"),
               ("dlq-source", f"orders.events/{original.partition}/{original.offset}".encode())]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(dead_letter_topic("orders.events"), original.value,
                                     key=original.key, headers=headers)
    finally:
        await producer.stop()
    return str(order_id)


async def _records_of(bootstrap: str, order_id: str) -> list[Record]:
    return [r async for r in read_topic(bootstrap, "orders.events")
            if r.key == order_id.encode()]


async def test_re_drive_empties_the_dead_letters(
        signed_in: BrowserContext, http: httpx.AsyncClient, system: System) -> None:
    order_id = await dead_lettered(system, http)
    page = await signed_in.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "put every dead letter back?"
    await page.goto(f"{CONSOLE}/pipeline")
    rows = await page.query_selector_all("#dead-letters tbody tr")
    assert [await r.inner_text() for r in rows if order_id in await r.inner_text()]
    assert len(rows) == 1, "the tests before this one leave no dead letter behind"
    assert "projection failed" in await page.inner_text("#dead-letters")
    assert await page.query_selector("#lag tbody tr") and await page.query_selector("#outbox")
    await page.screenshot(path=ARTIFACTS / "console-pipeline.png", full_page=True)

    await page.click("text=Re-drive all")
    await page.wait_for_selector("#dlq-empty", timeout=30_000)
    assert "put back" in await page.inner_text("#redrive-outcome")
    await page.screenshot(path=ARTIFACTS / "console-redriven.png", full_page=True)
    await page.goto(f"{CONSOLE}/pipeline")
    assert await page.query_selector("#dlq-empty")
