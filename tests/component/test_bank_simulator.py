"""The E-transactions simulator in-process, driven by the shop's own client library.

Given the simulator (its own keys in a temporary directory) and the shop's ``ShopAccount``
pointing at it, when the shop sends a buyer to the hosted page, a card is entered, or Direct is
asked to capture or refund, then the answers are the bank's and verify with the bank's key.
No PostgreSQL, no Kafka: the bank is an ASGI app and the shop's notification endpoint a mock
transport that records what it receives.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio

from deploy.bank_simulator import create_app, ensure_keys
from deploy.bank_simulator.ledger import Answer, Ledger, TransactionRecord
from services.payments.etransactions import (
    DirectResponse,
    Notification,
    ReturnUrls,
    ShopAccount,
    capture,
    hmac_seal,
    payment_form,
    refund,
    verify_notification,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

BANK = "http://bank.test"
RETURNS = ReturnUrls(effectue="http://shop.test/paid?lang=fr", refuse="http://shop.test/refused",
                     annule="http://shop.test/cancelled")
NOTIFY_URL = "http://shop.test/payments/notification"
APPROVED_CARD = "4111111111111111"
FUTURE_EXPIRY = "12/39"


@dataclass
class ShopEndpoint:
    """The shop's notification URL: records every call, fails the first ``failures`` ones."""

    failures: int = 0
    received: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.failures:
            self.failures -= 1
            return httpx.Response(500)
        return httpx.Response(200, text="OK")


@dataclass
class Bank:
    client: httpx.AsyncClient
    account: ShopAccount
    shop: ShopEndpoint
    data_dir: Path


async def _open_bank(data_dir: Path, shop: ShopEndpoint) -> Bank:
    notifier = httpx.AsyncClient(transport=httpx.MockTransport(shop))
    app = create_app(data_dir, notifier=notifier, notify_backoff_seconds=0.01)
    keys = ensure_keys(data_dir)
    account = ShopAccount(site="1999888", rang="32", identifiant="107904482",
                          hmac_key_hex=keys.shop_hmac_key_hex(),
                          payment_page_url=f"{BANK}/cgi/MYchoix_pagepaiement.cgi",
                          direct_url=f"{BANK}/PPPS.php",
                          bank_public_key_pem=keys.public_key_pem())
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BANK)
    return Bank(client=client, account=account, shop=shop, data_dir=data_dir)


@pytest_asyncio.fixture(loop_scope="session")
async def bank(tmp_path: Path) -> AsyncIterator[Bank]:
    """A fresh simulator whose shop endpoint accepts every notification."""
    opened = await _open_bank(tmp_path, ShopEndpoint())
    yield opened
    await opened.client.aclose()


def _reference() -> str:
    return f"order-{uuid.uuid4()}"


def _question() -> int:
    return secrets.randbelow(2_000_000_000) + 1


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _form(bank: Bank, reference: str, amount_cents: int) -> dict[str, str]:
    return payment_form(bank.account, reference=reference, amount_cents=amount_cents,
                        email="jeanne.martin@example.org", notify_url=NOTIFY_URL,
                        returns=RETURNS, now=_now())


async def _open_page(bank: Bank, reference: str, amount_cents: int) -> str:
    """Post the shop's form as the browser does; the payment session of the card page."""
    page = await bank.client.post(urlsplit(bank.account.payment_page_url).path,
                                  data=_form(bank, reference, amount_cents))
    assert page.status_code == 200, page.text
    session = re.search(r'name="session" value="([^"]+)"', page.text)
    assert session is not None
    return session[1]


async def _pay(bank: Bank, session: str, card: str = APPROVED_CARD,
               expiry: str = FUTURE_EXPIRY, cvv: str = "123") -> httpx.Response:
    return await bank.client.post("/cgi/pay", data={"session": session, "card_number": card,
                                                    "expiry": expiry, "cvv": cvv})


def _verified(bank: Bank, url: httpx.URL | str) -> Notification:
    """The notification an URL carries, verified with the bank's public key."""
    return verify_notification(bank.account.bank_public_key_pem,
                               httpx.URL(url).query.decode("ascii"))


async def _authorised(bank: Bank, amount_cents: int) -> tuple[str, Notification]:
    reference = _reference()
    paid = await _pay(bank, await _open_page(bank, reference, amount_cents))
    assert paid.status_code == 303
    notification = _verified(bank, bank.shop.received[-1].url)
    assert notification.approved
    return reference, notification


async def _capture(bank: Bank, reference: str, notification: Notification, amount_cents: int,
                   question: int | None = None) -> DirectResponse:
    return await capture(bank.client, bank.account, reference=reference,
                         amount_cents=amount_cents, transaction=notification.transaction,
                         call=notification.call, question=question or _question(), now=_now())


async def _refund(bank: Bank, reference: str, notification: Notification, amount_cents: int,
                  question: int | None = None) -> DirectResponse:
    return await refund(bank.client, bank.account, reference=reference,
                        amount_cents=amount_cents, transaction=notification.transaction,
                        call=notification.call, question=question or _question(), now=_now())


async def _transaction(bank: Bank, numtrans: str) -> dict[str, object]:
    listed = (await bank.client.get("/_simulator/transactions")).json()
    return next(t for t in listed if t["numtrans"] == numtrans)


# --- the hosted page ---------------------------------------------------------------------------

async def test_the_shops_form_is_accepted_and_shows_the_card_form(bank: Bank) -> None:
    # given the shop's sealed form for an order
    reference = _reference()

    # when the browser posts it to the hosted page
    page = await bank.client.post("/cgi/MYchoix_pagepaiement.cgi",
                                  data=_form(bank, reference, 4590))

    # then the card form is shown for that amount and order
    assert page.status_code == 200
    assert "E-transactions — paiement" in page.text
    assert "45,90 EUR" in page.text and reference in page.text
    assert 'action="/cgi/pay"' in page.text and 'action="/cgi/cancel"' in page.text
    for name in ("session", "card_number", "expiry", "cvv"):
        assert f'name="{name}"' in page.text


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda form: {**form, "PBX_TOTAL": "1"}, id="changed total"),
    pytest.param(lambda form: {**form, "PBX_CMD": "someone-else"}, id="changed reference"),
    pytest.param(lambda form: {k: v for k, v in form.items() if k != "PBX_HMAC"},
                 id="no hmac"),
    pytest.param(lambda form: dict(reversed(list(form.items()))), id="reordered fields"),
])
async def test_a_tampered_form_is_refused(bank: Bank, tamper) -> None:
    # given the shop's form changed on the way
    form = tamper(_form(bank, _reference(), 4590))

    # when it reaches the hosted page, then it is refused with an error page
    page = await bank.client.post("/cgi/MYchoix_pagepaiement.cgi", data=form)
    assert page.status_code == 400
    assert "E-transactions — erreur" in page.text
    assert "session" not in page.text


async def test_a_form_sealed_with_another_key_is_refused(bank: Bank) -> None:
    other_shop = replace(bank.account, hmac_key_hex=secrets.token_hex(64))
    form = payment_form(other_shop, reference=_reference(), amount_cents=100, email="a@b.fr",
                        notify_url=NOTIFY_URL, returns=RETURNS, now=_now())
    page = await bank.client.post("/cgi/MYchoix_pagepaiement.cgi", data=form)
    assert page.status_code == 400


# --- the card form, the notification and the return URLs --------------------------------------

@pytest.mark.parametrize(("card", "expiry", "cvv", "code"), [
    pytest.param(APPROVED_CARD, FUTURE_EXPIRY, "123", "00000", id="approved"),
    pytest.param("4000000000000002", FUTURE_EXPIRY, "123", "00105", id="declined by issuer"),
    pytest.param("4000000000009995", FUTURE_EXPIRY, "123", "00151", id="insufficient funds"),
    pytest.param("5555555555554444", FUTURE_EXPIRY, "123", "00004", id="unknown card"),
    pytest.param("4111 1111 abcd 1111", FUTURE_EXPIRY, "123", "00004", id="not a number"),
    pytest.param(APPROVED_CARD, FUTURE_EXPIRY, "12", "00004", id="short cvv"),
    pytest.param(APPROVED_CARD, "01/20", "123", "00008", id="expired"),
    pytest.param(APPROVED_CARD, "13/39", "123", "00008", id="no such month"),
])
async def test_each_test_card_gets_its_code_in_a_signed_notification(
        bank: Bank, card: str, expiry: str, cvv: str, code: str) -> None:
    # given a buyer on the card page of an order
    reference = _reference()
    session = await _open_page(bank, reference, 12345)

    # when the card is entered
    paid = await _pay(bank, session, card=card, expiry=expiry, cvv=cvv)

    # then the shop was notified once, server to server, with a notification that verifies
    assert len(bank.shop.received) == 1
    notified = bank.shop.received[0]
    assert notified.method == "GET"
    assert str(notified.url).startswith(f"{NOTIFY_URL}?Mt=12345&Ref={reference}&")
    notification = _verified(bank, notified.url)
    assert (notification.error, notification.amount_cents) == (code, 12345)
    assert notification.reference == reference
    assert re.fullmatch(r"\d{10}", notification.transaction)
    assert re.fullmatch(r"\d{10}", notification.call)
    # and the browser goes to the page of the outcome with the same signed variables
    assert paid.status_code == 303
    location = paid.headers["location"]
    expected_page = RETURNS.effectue if code == "00000" else RETURNS.refuse
    assert location.startswith(f"{expected_page}{'&' if '?' in expected_page else '?'}Mt=")
    assert _verified(bank, location) == notification
    if code == "00000":
        assert notification.authorisation is not None
        assert len(notification.authorisation) == 6
    else:
        assert notification.authorisation is None


async def test_no_card_data_is_kept(bank: Bank) -> None:
    # given a payment with the approved card
    _, notification = await _authorised(bank, 2000)

    # then neither the transactions list nor the ledger on disk holds card data
    listed = (await bank.client.get("/_simulator/transactions")).text
    on_disk = "".join(p.read_text() for p in bank.data_dir.glob("transactions.json*"))
    assert on_disk
    for secret in (APPROVED_CARD, FUTURE_EXPIRY):
        assert secret not in listed and secret not in on_disk
    record = await _transaction(bank, notification.transaction)
    assert set(record) >= {"reference", "numtrans", "numappel", "status"}
    assert not {"card_number", "expiry", "cvv"} & set(record)


async def test_cancelling_returns_to_the_cancel_page_with_a_signed_00001(bank: Bank) -> None:
    # given a buyer on the card page
    reference = _reference()
    session = await _open_page(bank, reference, 990)

    # when they cancel
    cancelled = await bank.client.post("/cgi/cancel", data={"session": session})

    # then they go back to the shop's cancel page with signed variables, and nobody is notified
    assert cancelled.status_code == 303
    assert cancelled.headers["location"].startswith(f"{RETURNS.annule}?")
    notification = _verified(bank, cancelled.headers["location"])
    assert (notification.error, notification.reference) == ("00001", reference)
    assert bank.shop.received == []


async def test_a_payment_session_is_used_once(bank: Bank) -> None:
    session = await _open_page(bank, _reference(), 990)
    assert (await _pay(bank, session)).status_code == 303
    again = await _pay(bank, session)
    assert again.status_code == 400
    assert len(bank.shop.received) == 1


async def test_a_failing_notification_is_retried(tmp_path: Path) -> None:
    # given a shop whose notification endpoint fails twice
    failing = await _open_bank(tmp_path, ShopEndpoint(failures=2))
    try:
        # when a card is approved
        paid = await _pay(failing, await _open_page(failing, _reference(), 990))

        # then the same signed notification was sent until the shop took it
        assert paid.status_code == 303
        urls = {str(request.url) for request in failing.shop.received}
        assert len(failing.shop.received) == 3 and len(urls) == 1
        assert _verified(failing, failing.shop.received[-1].url).approved
    finally:
        await failing.client.aclose()


async def test_a_notification_the_shop_never_takes_does_not_block_the_buyer(
        tmp_path: Path) -> None:
    failing = await _open_bank(tmp_path, ShopEndpoint(failures=1_000))
    try:
        paid = await _pay(failing, await _open_page(failing, _reference(), 990))
        assert paid.status_code == 303
        assert len(failing.shop.received) == 4  # a few attempts, then the redirect anyway
    finally:
        await failing.client.aclose()


# --- Paybox Direct -----------------------------------------------------------------------------

async def test_capture_then_refund(bank: Bank) -> None:
    # given an authorised payment
    reference, notification = await _authorised(bank, 5000)

    # when the shop captures it, then refunds part of it twice
    captured = await _capture(bank, reference, notification, 5000)
    first = await _refund(bank, reference, notification, 2000)
    second = await _refund(bank, reference, notification, 3000)

    # then every operation is done
    assert [captured.code, first.code, second.code] == ["00000"] * 3
    assert captured.approved and captured.transaction == notification.transaction
    assert captured.call == notification.call
    assert captured.authorisation == notification.authorisation
    record = await _transaction(bank, notification.transaction)
    assert (record["captured_cents"], record["refunded_cents"]) == (5000, 5000)
    assert record["status"] == "refunded"


async def test_a_form_without_autoseule_is_debited_at_once_and_cannot_be_captured(
        bank: Bank) -> None:
    # given the shop's form without PBX_AUTOSEULE=O (resealed), as Paybox takes it
    reference = _reference()
    form = {name: value for name, value in _form(bank, reference, 5000).items()
            if name not in ("PBX_AUTOSEULE", "PBX_HMAC")}
    form["PBX_HMAC"] = hmac_seal(bank.account.hmac_key_hex, form)
    page = await bank.client.post(urlsplit(bank.account.payment_page_url).path, data=form)
    session = re.search(r'name="session" value="([^"]+)"', page.text)
    assert page.status_code == 200 and session is not None
    # when the buyer pays
    assert (await _pay(bank, session[1])).status_code == 303
    notification = _verified(bank, bank.shop.received[-1].url)
    # then the card is debited at once, and the shop's later capture refused
    record = await _transaction(bank, notification.transaction)
    assert (record["status"], record["captured_cents"]) == ("captured", 5000)
    assert not (await _capture(bank, reference, notification, 5000)).approved


async def test_the_shops_form_only_authorises(bank: Bank) -> None:
    _, notification = await _authorised(bank, 5000)
    record = await _transaction(bank, notification.transaction)
    assert (record["status"], record["captured_cents"]) == ("authorised", 0)


async def test_a_second_capture_is_refused(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    assert (await _capture(bank, reference, notification, 3000)).approved
    again = await _capture(bank, reference, notification, 1000)
    assert again.code == "00015"
    assert not again.approved
    assert (await _transaction(bank, notification.transaction))["captured_cents"] == 3000


async def test_a_capture_above_the_authorised_amount_is_refused(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    assert (await _capture(bank, reference, notification, 5001)).code == "00011"
    assert (await _capture(bank, reference, notification, 5000)).approved


async def test_a_refund_may_exceed_the_captured_amount(bank: Bank) -> None:
    # given a payment captured for less than authorised
    reference, notification = await _authorised(bank, 5000)
    assert (await _capture(bank, reference, notification, 4000)).approved

    # when the shop refunds the price and a late-refund surcharge on top (decision 0009)
    question = _question()
    beyond = await _refund(bank, reference, notification, 4600, question=question)
    more = await _refund(bank, reference, notification, 250)

    # then both are done, and the refunded total is kept beyond the captured amount
    assert beyond.approved and more.approved
    record = await _transaction(bank, notification.transaction)
    assert (record["captured_cents"], record["refunded_cents"]) == (4000, 4850)
    assert record["status"] == "refunded"
    # and the same question asked again is still answered once, without refunding twice
    assert await _refund(bank, reference, notification, 4600, question=question) == beyond
    assert (await _transaction(bank, notification.transaction))["refunded_cents"] == 4850


async def test_a_partial_refund_leaves_the_transaction_partially_refunded(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    assert (await _capture(bank, reference, notification, 5000)).approved
    assert (await _refund(bank, reference, notification, 1500)).approved
    record = await _transaction(bank, notification.transaction)
    assert (record["refunded_cents"], record["status"]) == (1500, "partially_refunded")


async def test_a_refund_before_capture_is_refused(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    assert (await _refund(bank, reference, notification, 100)).code == "00015"
    assert (await _refund(bank, reference, notification, 9000)).code == "00015"
    assert (await _transaction(bank, notification.transaction))["refunded_cents"] == 0


async def test_a_refund_of_a_refused_payment_is_refused(bank: Bank) -> None:
    reference = _reference()
    await _pay(bank, await _open_page(bank, reference, 700), card="4000000000000002")
    refused = _verified(bank, bank.shop.received[-1].url)
    assert (await _refund(bank, reference, refused, 700)).code == "00018"


async def test_unknown_or_refused_transactions_cannot_be_captured(bank: Bank) -> None:
    # given a refused payment and an approved one
    refused_reference = _reference()
    await _pay(bank, await _open_page(bank, refused_reference, 700), card="4000000000000002")
    refused = _verified(bank, bank.shop.received[-1].url)
    reference, approved = await _authorised(bank, 700)

    # then the refused one, a made-up one and one under another reference are not found
    assert (await _capture(bank, refused_reference, refused, 700)).code == "00018"
    made_up = replace(approved, transaction="0000000001")
    assert (await _capture(bank, reference, made_up, 700)).code == "00018"
    assert (await _capture(bank, _reference(), approved, 700)).code == "00018"


async def test_a_question_sealed_with_another_key_is_refused(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    intruder = replace(bank, account=replace(bank.account, hmac_key_hex=secrets.token_hex(64)))
    answer = await _capture(intruder, reference, notification, 5000)
    assert answer.code == "00006"
    assert (await _transaction(bank, notification.transaction))["status"] == "authorised"


async def test_the_same_question_is_answered_once(bank: Bank) -> None:
    # given an authorised payment, captured by question q1
    reference, notification = await _authorised(bank, 5000)
    q1, q2 = _question(), _question()
    first = await _capture(bank, reference, notification, 5000, question=q1)

    # when the same questions are asked again (lost answers)
    repeated = await _capture(bank, reference, notification, 5000, question=q1)
    refunded = await _refund(bank, reference, notification, 1000, question=q2)
    refunded_again = await _refund(bank, reference, notification, 1000, question=q2)

    # then the same answers come back and nothing was done twice
    assert first == repeated and first.approved
    assert refunded == refunded_again and refunded.approved
    record = await _transaction(bank, notification.transaction)
    assert (record["captured_cents"], record["refunded_cents"]) == (5000, 1000)
    # and the same number with other content is an invalid question
    assert (await _refund(bank, reference, notification, 500, question=q2)).code == "00005"


async def test_fault_refuse_answers_an_error_code_until_cleared(bank: Bank) -> None:
    # given the bank set to refuse captures
    reference, notification = await _authorised(bank, 5000)
    set_fault = await bank.client.post("/_simulator/faults", json={"capture": "refuse"})
    assert set_fault.status_code == 200
    question = _question()

    # when the shop captures, it is refused and nothing is captured
    refused = await _capture(bank, reference, notification, 5000, question=question)
    assert not refused.approved and refused.code == "00003"
    assert (await _transaction(bank, notification.transaction))["status"] == "authorised"

    # and once the fault is cleared, the retry of the same question goes through
    await bank.client.post("/_simulator/faults", json={})
    assert (await _capture(bank, reference, notification, 5000, question=question)).approved


async def test_fault_unavailable_is_an_http_error_for_the_caller(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    await bank.client.post("/_simulator/faults", json={"refund": "unavailable"})
    assert (await _capture(bank, reference, notification, 5000)).approved
    with pytest.raises(httpx.HTTPStatusError) as raised:
        await _refund(bank, reference, notification, 5000)
    assert raised.value.response.status_code == 503


async def test_fault_answer_lost_does_the_refund_once_and_a_retry_gets_the_answer(
        bank: Bank) -> None:
    # given a captured payment and the bank losing the answers to refunds
    reference, notification = await _authorised(bank, 5000)
    assert (await _capture(bank, reference, notification, 5000)).approved
    await bank.client.post("/_simulator/faults", json={"refund": "answer_lost"})
    question = _question()

    # when the shop asks for a refund, the answer is lost on the way back
    with pytest.raises(httpx.HTTPStatusError) as raised:
        await _refund(bank, reference, notification, 6000, question=question)
    assert raised.value.response.status_code == 504

    # but the bank did it, and the same question asked again gets its remembered answer
    assert (await _transaction(bank, notification.transaction))["refunded_cents"] == 6000
    retried = await _refund(bank, reference, notification, 6000, question=question)
    assert retried.approved and retried.transaction == notification.transaction
    await bank.client.post("/_simulator/faults", json={})
    assert await _refund(bank, reference, notification, 6000, question=question) == retried
    assert (await _transaction(bank, notification.transaction))["refunded_cents"] == 6000


async def test_fault_answer_lost_on_capture_captures_once(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    await bank.client.post("/_simulator/faults", json={"capture": "answer_lost"})
    question = _question()
    with pytest.raises(httpx.HTTPStatusError) as raised:
        await _capture(bank, reference, notification, 5000, question=question)
    assert raised.value.response.status_code == 504
    assert (await _transaction(bank, notification.transaction))["status"] == "captured"
    assert (await _capture(bank, reference, notification, 5000, question=question)).approved
    assert (await bank.client.get("/_simulator/faults")).json()["capture"] == "answer_lost"


async def test_fault_delay_slows_direct_answers(bank: Bank) -> None:
    reference, notification = await _authorised(bank, 5000)
    await bank.client.post("/_simulator/faults", json={"delay_seconds": 0.3})
    started = dt.datetime.now(dt.UTC)
    assert (await _capture(bank, reference, notification, 5000)).approved
    assert dt.datetime.now(dt.UTC) - started >= dt.timedelta(seconds=0.3)


async def test_faults_are_validated(bank: Bank) -> None:
    answer = await bank.client.post("/_simulator/faults", json={"capture": "explode"})
    assert answer.status_code == 422


async def test_a_restarted_simulator_still_knows_its_authorisations(bank: Bank) -> None:
    # given an authorisation given by one simulator
    reference, notification = await _authorised(bank, 5000)

    # when a new simulator starts on the same data directory
    restarted = await _open_bank(bank.data_dir, ShopEndpoint())
    try:
        # then it signs with the same key and can capture what the first one authorised
        assert restarted.account == bank.account
        assert (await _capture(restarted, reference, notification, 5000)).approved
        persisted = Ledger.read(bank.data_dir)
        assert persisted.transactions[notification.transaction].status == "captured"
    finally:
        await restarted.client.aclose()


async def test_keys_are_kept_and_secrets_private(tmp_path: Path) -> None:
    first = ensure_keys(tmp_path)
    second = ensure_keys(tmp_path)
    assert first.public_key_pem() == second.public_key_pem()
    assert re.fullmatch(r"[0-9A-F]{128}", first.shop_hmac_key_hex())
    assert first.private_key_path.stat().st_mode & 0o777 == 0o600
    assert first.shop_hmac_key_path.stat().st_mode & 0o777 == 0o600


async def test_health(bank: Bank) -> None:
    assert (await bank.client.get("/health")).json() == {"status": "ok"}


async def test_fault_issuer_refuses_answers_the_issuers_refusal_until_cleared(bank: Bank) -> None:
    # given the bank set to have the card issuer refuse captures
    reference, notification = await _authorised(bank, 5000)
    await bank.client.post("/_simulator/faults", json={"capture": "issuer_refuses"})
    question = _question()

    # when the shop captures, the issuer's "do not honour" comes back and nothing is captured
    refused = await _capture(bank, reference, notification, 5000, question=question)
    assert refused.code == "00105"
    assert (await _transaction(bank, notification.transaction))["status"] == "authorised"

    # and the question is listed as it arrived, for tests that wait on a question in flight
    asked = (await bank.client.get("/_simulator/questions")).json()
    assert {"TYPE": "00002", "REFERENCE": reference, "NUMQUESTION": f"{question:010d}",
            "MONTANT": "0000005000"} in asked
    await bank.client.post("/_simulator/faults", json={})
    assert (await _capture(bank, reference, notification, 5000, question=question)).approved


@pytest.mark.parametrize("question", [2147483648, 9_999_999_999])
async def test_a_question_number_beyond_the_platforms_largest_is_invalid(
        bank: Bank, question: int) -> None:
    reference, notification = await _authorised(bank, 5000)
    refused = await _capture(bank, reference, notification, 5000, question=question)
    assert refused.code == "00005"  # Paybox Direct's NUMQUESTION runs from 1 to 2147483647
    assert (await _capture(bank, reference, notification, 5000)).approved  # one in range


async def test_the_ledger_journals_each_change_and_a_restart_reads_the_last_of_each(
        tmp_path: Path) -> None:
    # given a transaction recorded, changed, and a question answered, and a crash that cut
    # the journal's last line short, within a character
    ledger = Ledger.open(tmp_path)
    authorised = TransactionRecord("ref-1", ledger.new_number(), ledger.new_number(), 5000,
                                   "authorised", "00000", authorised_cents=5000)
    ledger.record(authorised)
    ledger.record(replace(authorised, status="captured", captured_cents=5000))
    ledger.remember("question-1", Answer("fingerprint-1", {"CODEREPONSE": "00000"}))
    ledger.close()
    journal = tmp_path / "transactions.jsonl"
    lines = journal.read_text().splitlines()
    with journal.open("ab") as out:
        out.write('{"next_number": 1000000099, "transaction": {"reference": "ré'.encode()[:-1])

    # when the simulator starts again
    restarted = Ledger.open(tmp_path)

    # then each change was one line, and the ledger is as last journalled, numbers not reused
    assert len(lines) == 3
    assert restarted.transactions[authorised.numtrans].status == "captured"
    assert restarted.answers["question-1"].fields == {"CODEREPONSE": "00000"}
    assert restarted.new_number() == "1000000003"
    assert len(journal.read_text().splitlines()) == 2  # compacted at start
    restarted.close()


async def test_a_ledger_kept_in_the_former_single_document_is_read_once_then_journalled(
        tmp_path: Path) -> None:
    (tmp_path / "transactions.json").write_text(
        '{"next_number": 1000000011, "transactions": {"1000000009": {"reference": "ref-9", '
        '"numtrans": "1000000009", "numappel": "1000000010", "amount_cents": 700, '
        '"status": "authorised", "outcome": "00000"}}, "answers": {}}')

    ledger = Ledger.open(tmp_path)

    assert ledger.transactions["1000000009"].amount_cents == 700
    assert ledger.new_number() == "1000000011"
    assert not (tmp_path / "transactions.json").exists()
    ledger.close()
    again = Ledger.open(tmp_path)
    assert again.transactions["1000000009"].reference == "ref-9"
    again.close()
