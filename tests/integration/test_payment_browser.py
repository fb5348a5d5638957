"""Paying through the bank's real hosted page in headless Chromium (Debian's package, driven by
Playwright): the shop's hidden form, the bank's card form and the redirect back all work in a
browser, not only from httpx. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import pytest
from playwright.async_api import async_playwright

from deploy.demo import APPROVED_CARD
from tests.integration.conftest import System
from tests.support.lifecycle import placed_and_payable, session_for, status_is
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path("test-artifacts")


def storefront_page(session: dict) -> str:
    """What a storefront serves: the session's fields in a hidden form, and a pay button."""
    fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                     for k, v in session["fields"].items())
    return (f'<!doctype html><form method="{session["method"]}" '
            f'action="{html.escape(session["action"])}">{fields}'
            '<button type="submit">Payer</button></form>')


async def test_a_buyer_pays_through_the_hosted_page_in_a_browser(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = (await placed_and_payable(http, system))["order_id"]
    session = await session_for(http, system, order_id)
    ARTIFACTS.mkdir(exist_ok=True)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                   args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.set_content(storefront_page(session))
            await page.click("text=Payer")
            await page.wait_for_selector("input[name=card_number]")
            await page.fill("input[name=card_number]", APPROVED_CARD)
            await page.fill("input[name=expiry]", "12/30")
            await page.fill("input[name=cvv]", "123")
            await page.screenshot(path=ARTIFACTS / "bank-card-form.png")
            await page.click("form[action='/cgi/pay'] [type=submit]")
            await page.wait_for_url("**/payments/return?**")
            await page.screenshot(path=ARTIFACTS / "payment-return.png")
            returned = await page.inner_text("h1")
        finally:
            await browser.close()

    assert returned == "Paiement accepté"
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
