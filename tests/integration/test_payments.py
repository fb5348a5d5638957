"""Payments end to end, on real Kafka, PostgreSQL, HTTP between the services and the bank
simulator, and a real SMTP sink: from a placed order to the confirmed sale, and every way a
payment can go wrong."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from deploy.demo import (
    APPROVED_CARD,
    DECLINED_CARD,
    INSUFFICIENT_FUNDS_CARD,
    order_body,
    pay_on_bank_page,
)
from deploy.smtp_sink import received
from deploy.system import TEST_MAIL, bearer
from tests.integration.conftest import System
from tests.support.in_clear import found_in_databases, found_in_topics
from tests.support.lifecycle import (
    OPS,
    REFUNDS,
    SOLD_OUT,
    paid,
    payment_of,
    placed_and_payable,
    session_for,
    status_is,
    the_refund,
    with_a_sold_out_line,
)
from tests.support.orders import events_of, published_records
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@asynccontextmanager
async def bank_faults(http: httpx.AsyncClient, system: System,
                      **faults: object) -> AsyncIterator[None]:
    """The bank simulator misbehaves as ``faults`` say until the block ends (then normal)."""
    await http.post(f"{system.bank_url}/_simulator/faults", json=faults)
    try:
        yield
    finally:
        await http.post(f"{system.bank_url}/_simulator/faults", json={})


async def awaiting_identity_check(http: httpx.AsyncClient, system: System) -> dict:
    """A placed order whose payment waits for ops' identity check; its verification URL."""
    order = await placed_and_payable(http, system)
    verification = f"{system.payments_url}/payments/{order['order_id']}/verification"
    requested = await http.post(verification, json={"documents": ["identity_document"]},
                                headers=bearer("ops"))
    assert requested.status_code == 200, requested.text
    await eventually(lambda: _verification_is(http, system, order["order_id"], "pending"))
    return {**order, "verification": verification}


def mail_for(order_id: str) -> list[dict]:
    return [m for m in received(TEST_MAIL) if order_id in (m["message_id"] or "")]


async def test_paying_with_the_approved_card_confirms_the_sale(
        http: httpx.AsyncClient, system: System) -> None:
    order = await placed_and_payable(http, system)
    order_id = order["order_id"]
    session = await session_for(http, system, order_id)

    assert session["fields"]["PBX_TOTAL"] == str(order["total_cents"])
    assert session["fields"]["PBX_PORTEUR"] == order["email"]
    back = await pay_on_bank_page(http, session, APPROVED_CARD)

    assert back.status_code == 303
    assert urlsplit(back.headers["location"]).query.startswith("order=")
    confirmed = await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    assert confirmed["paid_at"] and confirmed["confirmation_sent_at"]
    [mail] = mail_for(order_id)
    assert mail["to"] == order["email"] and "CGV-2026-01" in mail["text"]
    types = [r["type"] for r in await published_records(system.infra.kafka_bootstrap,
                                                        "payments", order_id)]
    assert types == ["PaymentExpected", "PaymentSessionOpened", "PaymentAuthorised",
                     "PaymentCaptureAsked", "PaymentCaptured"]
    payment = (await http.get(f"{system.payments_url}/payments/{order_id}")).json()
    assert payment["captured_cents"] == order["total_cents"] and payment["authorisation_code"]
    reservations = (await http.get(f"{system.fulfilment_url}/reservations/{order_id}")).json()
    assert {line["status"] for line in reservations["lines"]} == {"reserved"}


@pytest.mark.parametrize(("card", "code"), [(DECLINED_CARD, "00105"),
                                            (INSUFFICIENT_FUNDS_CARD, "00151")])
async def test_a_declined_card_leaves_the_order_awaiting_payment_and_payable_again(
        card: str, code: str, http: httpx.AsyncClient, system: System) -> None:
    order_id = (await placed_and_payable(http, system))["order_id"]

    back = await pay_on_bank_page(http, await session_for(http, system, order_id), card)

    assert "outcome=refused" in back.headers["location"]
    declined = await eventually(lambda: status_is(http, system, order_id, "declined",
                                                  "payments"))
    assert declined["decline_reason"] == code
    assert (await http.get(f"{system.orders_url}/orders/{order_id}")).json()["status"] == "placed"
    again = await pay_on_bank_page(http, await session_for(http, system, order_id),
                                   APPROVED_CARD)
    assert "outcome=paid" in again.headers["location"]
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))


async def _notification_of_a_real_payment(http: httpx.AsyncClient, system: System,
                                          card: str = APPROVED_CARD) -> tuple[str, str]:
    """Pay an order and return its id and the signed query the bank sent the browser back
    with (the same variables and signature as its server-to-server notification)."""
    order_id = (await placed_and_payable(http, system))["order_id"]
    back = await pay_on_bank_page(http, await session_for(http, system, order_id), card)
    query = urlsplit(back.headers["location"]).query
    return order_id, query.split("&", 2)[2]  # drop our own order= and outcome=


async def notify(http: httpx.AsyncClient, system: System, query: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as bank:  # the bank presents no token
        return await bank.get(f"{system.payments_url}/payments/notifications?{query}")


async def rejections(payments_db: asyncpg.Pool, order_id: str) -> list[str]:
    return [e["payload"]["reason"] for e in await events_of(payments_db, order_id)
            if e["type"] == "PaymentNotificationRejected"]


async def test_a_replayed_notification_is_applied_once_and_recorded_even_after_a_restart(
        http: httpx.AsyncClient, system: System, payments_db: asyncpg.Pool) -> None:
    order_id, query = await _notification_of_a_real_payment(http, system)
    await eventually(lambda: status_is(http, system, order_id, "captured", "payments"))
    before = await events_of(payments_db, order_id)

    first = await notify(http, system, query)
    system["payments-api"].stop()  # the replay is recognised from the log, not from memory
    system["payments-api"].start().wait_healthy()
    second = await notify(http, system, query)

    assert (first.status_code, second.status_code) == (200, 200)
    after = await events_of(payments_db, order_id)
    assert after[:len(before)] == before  # nothing applied again
    assert [(e["type"], e["payload"]["reason"]) for e in after[len(before):]] == [
        ("PaymentNotificationRejected", "replayed")] * 2
    assert (await payment_of(http, system, order_id) or {}).get("status") == "captured"


@pytest.mark.parametrize(("tamper", "recorded"), [
    ("amount", ["bad_signature"]),
    ("signature", ["bad_signature"]),
    ("reference", []),  # names no session of the order: not recorded, or anyone could fill it
])
async def test_a_forged_or_altered_notification_is_refused_and_recorded_on_its_session(
        tamper: str, recorded: list[str], http: httpx.AsyncClient, system: System,
        payments_db: asyncpg.Pool) -> None:
    order_id, query = await _notification_of_a_real_payment(http, system, DECLINED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "declined", "payments"))
    fields = dict(pair.split("=", 1) for pair in query.split("&"))
    if tamper == "amount":
        fields["Mt"] = str(int(fields["Mt"]) - 100)
    elif tamper == "signature":
        fields["Sign"] = fields["Sign"][:-8] + "AAAAAAAA"
    else:
        fields["Ref"] = f"{order_id}.feedf00d"
    fields["Erreur"] = "00000"  # what a forger wants the shop to believe

    forged = "&".join(f"{k}={v}" for k, v in fields.items())
    responses = [await notify(http, system, forged) for _ in range(2)]

    # answered, so the sender does not retry it forever; recorded once however often it comes
    assert [response.status_code for response in responses] == [200, 200]
    assert await rejections(payments_db, order_id) == recorded
    assert (await http.get(f"{system.payments_url}/payments/{order_id}")).json()["status"] \
        == "declined"


async def test_a_forged_notification_for_an_unknown_order_is_answered_and_makes_no_stream(
        http: httpx.AsyncClient, system: System, payments_db: asyncpg.Pool) -> None:
    _, query = await _notification_of_a_real_payment(http, system)
    fields = dict(pair.split("=", 1) for pair in query.split("&"))
    stranger = str(uuid.uuid4())
    fields["Ref"] = f"{stranger}.00000000"
    counted = await _unrecorded_notifications(http, system)

    responses = [await notify(http, system, "&".join(f"{k}={v}" for k, v in fields.items()))
                 for _ in range(3)]

    assert [response.status_code for response in responses] == [200, 200, 200]
    assert await payments_db.fetchval(
        "SELECT count(*) FROM streams WHERE order_id = $1", stranger) == 0
    assert await rejections(payments_db, stranger) == []
    # not in the log, which anyone could fill: counted for the operators (logged once a minute)
    assert await _unrecorded_notifications(http, system) == counted + 3


async def _unrecorded_notifications(http: httpx.AsyncClient, system: System) -> float:
    metrics = await http.get(f"{system.payments_url}/metrics", headers=bearer("ops"))
    [line] = [line for line in metrics.text.splitlines()
              if line.startswith("payments_notifications_unrecorded_total ")]
    return float(line.split()[1])


async def test_a_capture_the_card_issuer_refuses_is_recorded_and_the_buyer_is_not_trusted(
        http: httpx.AsyncClient, system: System) -> None:
    async with bank_faults(http, system, capture="issuer_refuses"):
        order_id, _ = await _notification_of_a_real_payment(http, system)
        refused = await eventually(lambda: status_is(http, system, order_id, "capture_refused",
                                                     "payments"))
    assert (refused["captured_cents"], refused["decline_reason"]) == (0, "00105")
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    assert (order["status"], order["paid_at"]) == ("placed", None)
    again = await http.post(f"{system.payments_url}/payments/{order_id}/session")
    assert again.status_code == 409
    # the buyer's next order is refused a session: an unpaid order (Art. 10)
    assert (await _session_for_another_order(http, system, order["buyer_id"])).status_code \
        == 409


async def test_a_capture_paybox_fails_on_its_side_is_asked_again_and_goes_through(
        http: httpx.AsyncClient, system: System) -> None:
    # given Paybox answering its own error (00003) to captures
    async with bank_faults(http, system, capture="refuse"):
        order_id, _ = await _notification_of_a_real_payment(http, system)
        authorised = await eventually(lambda: status_is(http, system, order_id, "authorised",
                                                        "payments"))
        # when the capture is asked twice (the second time: asked again, not given up)
        await eventually(lambda: _asked(http, system, authorised["payment_id"], times=2))
        still = await payment_of(http, system, order_id)
    # then nothing was recorded against the buyer, and once Paybox is back the sale is final
    assert still is not None and still["status"] == "authorised"
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    types = [r["type"] for r in await published_records(system.infra.kafka_bootstrap,
                                                        "payments", order_id)]
    assert "PaymentCaptureRefused" not in types and types[-1] == "PaymentCaptured"
    buyer = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()["buyer_id"]
    assert (await _session_for_another_order(http, system, buyer)).status_code == 201


async def _asked(http: httpx.AsyncClient, system: System, reference: str, times: int = 1,
                 kind: str = "00002") -> bool:
    """Whether the bank received ``times`` Direct questions of ``kind`` on ``reference``."""
    asked = (await http.get(f"{system.bank_url}/_simulator/questions")).json()
    return sum(q["TYPE"] == kind and q["REFERENCE"] == reference for q in asked) >= times


async def _paid_and_its_capture_asked(http: httpx.AsyncClient, system: System,
                                      order_id: str) -> dict:
    """The buyer pays on the bank's page and the payments worker asks the bank to capture;
    the payment as authorised."""
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    authorised = await eventually(lambda: status_is(http, system, order_id, "authorised",
                                                    "payments"))
    assert authorised is not None
    await eventually(lambda: _asked(http, system, authorised["payment_id"]))
    return authorised


async def _session_for_another_order(http: httpx.AsyncClient, system: System,
                                     buyer_id: str) -> httpx.Response:
    body = order_body(buyer_id=buyer_id)
    other = (await http.post(f"{system.orders_url}/orders", json=body)).json()
    await eventually(lambda: payment_of(http, system, other["order_id"]))
    return await http.post(f"{system.payments_url}/payments/{other['order_id']}/session")


async def test_a_payment_the_bank_captures_while_the_order_is_cancelled_is_owed_back(
        http: httpx.AsyncClient, system: System) -> None:
    # given an order awaiting an identity check, paid, its capture held at the bank
    order = await awaiting_identity_check(http, system)
    order_id, verification = order["order_id"], order["verification"]
    async with bank_faults(http, system, hold=True):
        authorised = await _paid_and_its_capture_asked(http, system, order_id)
        # when the identity check fails while the bank is capturing: cancelled, nothing owed
        await http.post(f"{verification}/outcome", json={"outcome": "rejected"},
                        headers=bearer("ops"))
        cancelled = await eventually(lambda: status_is(http, system, order_id, "cancelled"))
        await eventually(lambda: _held(http, system, order_id))
    assert cancelled["paid_at"] is None  # the bank's answer had not come yet
    # then the capture is recorded as the bank made it, and all of it is owed back
    await eventually(lambda: status_is(http, system, order_id, "captured", "payments"))
    refund = await the_refund(http, order_id)
    assert (refund["situation"], refund["base_cents"], refund["cause_type"]) == (
        "blocked", order["total_cents"], "PaymentReceivedAfterCancellation")
    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 202, ordered.text
    await eventually(lambda: paid(http, refund["refund_id"]))
    bank = (await http.get(f"{system.bank_url}/_simulator/transactions")).json()
    [transaction] = [t for t in bank if t["reference"] == authorised["payment_id"]]
    assert transaction["captured_cents"] == transaction["refunded_cents"] == order["total_cents"]


async def test_a_blocked_order_cannot_be_paid_until_unblocked(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = (await placed_and_payable(http, system))["order_id"]
    await http.post(f"{system.orders_url}/orders/{order_id}/block", headers=bearer("ops"),
                    json={"reason": "incorrect_address"})

    held = await eventually(lambda: _held(http, system, order_id))
    refused = await http.post(f"{system.payments_url}/payments/{order_id}/session")
    await http.post(f"{system.orders_url}/orders/{order_id}/unblock", headers=bearer("ops"),
                    json={"resolution": "address confirmed"})
    await eventually(lambda: _held(http, system, order_id, False))

    assert held and refused.status_code == 409
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))


async def _held(http: httpx.AsyncClient, system: System, order_id: str,
                held: bool = True) -> bool:
    payment = await payment_of(http, system, order_id)
    return payment is not None and payment["held"] is held


async def test_when_the_mail_server_is_down_the_confirmation_goes_out_once_it_is_back(
        http: httpx.AsyncClient, system: System) -> None:
    system["smtp-sink"].stop()
    try:
        order_id, _ = await _notification_of_a_real_payment(http, system)
        await eventually(lambda: _paid(http, system, order_id))
        order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
        assert (order["status"], order["confirmation_sent_at"]) == ("placed", None)
    finally:
        system["smtp-sink"].start()
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    assert len(mail_for(order_id)) == 1


async def _paid(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    return bool((await http.get(f"{system.orders_url}/orders/{order_id}")).json()["paid_at"])


async def test_card_data_is_nowhere_in_the_shops_databases_or_topics(
        http: httpx.AsyncClient, system: System) -> None:
    order_id, _ = await _notification_of_a_real_payment(http, system)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    needles = [APPROVED_CARD, APPROVED_CARD[-4:] + "12/30", "12/30"]

    assert await found_in_topics(system.infra.kafka_bootstrap, needles) == set()
    assert await found_in_databases(system.infra.database_server_url, needles) == {}


async def test_a_buyer_with_a_payment_dispute_in_progress_is_refused_a_new_session(
        http: httpx.AsyncClient, system: System) -> None:
    first = await placed_and_payable(http, system)
    body = order_body(buyer_id=first["buyer_id"])
    second = (await http.post(f"{system.orders_url}/orders", json=body)).json()
    await eventually(lambda: payment_of(http, system, second["order_id"]))
    disputes = f"{system.payments_url}/payments/{first['order_id']}/disputes"

    opened = await http.post(disputes, json={"reason": "chargeback"}, headers=bearer("ops"))
    refused = await http.post(f"{system.payments_url}/payments/{second['order_id']}/session")
    await http.post(f"{disputes}/close", json={"resolution": "settled"}, headers=bearer("ops"))
    allowed = await http.post(f"{system.payments_url}/payments/{second['order_id']}/session")

    assert opened.json()["dispute_open"] is True
    assert refused.status_code == 409 and "dispute" in refused.json()["detail"]
    assert allowed.status_code == 201


async def _verification(http: httpx.AsyncClient, system: System, order_id: str,
                        outcome: str) -> None:
    url = f"{system.payments_url}/payments/{order_id}/verification"
    requested = await http.post(url, json={"documents": ["identity_document"]},
                                headers=bearer("ops"))
    assert requested.status_code == 200, requested.text
    await eventually(lambda: _verification_is(http, system, order_id, "pending"))
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "captured", "payments"))
    answered = await http.post(f"{url}/outcome", json={"outcome": outcome},
                               headers=bearer("ops"))
    assert answered.status_code == 200, answered.text


async def _verification_is(http: httpx.AsyncClient, system: System, order_id: str,
                           status: str) -> bool:
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    return order["verification"] == status


async def test_an_order_awaiting_identity_verification_is_confirmed_once_accepted(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = (await placed_and_payable(http, system))["order_id"]

    await _verification(http, system, order_id, "accepted")

    confirmed = await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    assert confirmed["verification"] == "passed"


async def test_a_failed_identity_verification_cancels_the_order_and_releases_its_stock(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = (await placed_and_payable(http, system))["order_id"]
    await eventually(lambda: _reservation(http, system, order_id))  # reserved before we count
    before = await _reserved(http, system, "COTES-ROUSSILLON-ROUGE-2022")

    await _verification(http, system, order_id, "rejected")

    cancelled = await eventually(lambda: status_is(http, system, order_id, "cancelled"))
    assert cancelled["cancel_reason"] == "identity_verification_failed"
    assert cancelled["paid_at"] is not None  # captured: owed back (the refunds service pays)
    assert mail_for(order_id) == []  # never confirmed to the buyer
    await eventually(lambda: _released(http, system, order_id))
    assert await _reserved(http, system, "COTES-ROUSSILLON-ROUGE-2022") <= before - 6


async def _reservation(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    return (await http.get(f"{system.fulfilment_url}/reservations/{order_id}")).status_code == 200


async def _released(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    lines = (await http.get(f"{system.fulfilment_url}/reservations/{order_id}")).json()["lines"]
    return {line["status"] for line in lines} == {"released"}


async def _reserved(http: httpx.AsyncClient, system: System, sku: str) -> int:
    return int((await http.get(f"{system.fulfilment_url}/stock/{sku}")).json()["reserved"])


async def test_a_capture_the_bank_cannot_answer_is_asked_again_until_it_goes_through(
        http: httpx.AsyncClient, system: System, payments_db: asyncpg.Pool) -> None:
    import datetime as dt

    async with bank_faults(http, system, capture="unavailable"):
        order_id, _ = await _notification_of_a_real_payment(http, system)
        await eventually(lambda: status_is(http, system, order_id, "authorised", "payments"))
        moment = dt.datetime.now(dt.UTC)
        await eventually(lambda: _capture_pass_after(payments_db, moment))
        still = (await http.get(f"{system.payments_url}/payments/{order_id}")).json()
    assert still["status"] == "authorised"  # not refused: the bank did not answer
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))


async def _capture_pass_after(payments_db: asyncpg.Pool, moment) -> bool:  # type: ignore[no-untyped-def]
    started = await payments_db.fetchval(
        "SELECT last_started_at FROM timed_work WHERE name = 'capture'")
    return started is not None and started > moment


MUSCAT = "MUSCAT-RIVESALTES-2023"  # 2 × 11.90 in order_body


async def _line_cancelled_while_blocked(http: httpx.AsyncClient, system: System,
                                        order_id: str) -> None:
    orders = f"{system.orders_url}/orders/{order_id}"
    await http.post(f"{orders}/block", headers=OPS, json={"reason": "buyer_account_problem"})
    cancelled = await http.post(f"{orders}/lines/{MUSCAT}/cancellation", headers=OPS)
    assert cancelled.status_code == 200, cancelled.text
    await http.post(f"{orders}/unblock", headers=OPS, json={"resolution": "account checked"})


async def _amount_due_is(http: httpx.AsyncClient, system: System, order_id: str,
                         cents: int) -> bool:
    """Payments took the line off (with the hold, in one transaction) and released the hold:
    the buyer may pay ``cents``. Not held alone: before payments heard of the block its
    payment was not held either, and a notification arriving while held is rejected."""
    payment = await payment_of(http, system, order_id)
    return (payment is not None and payment["amount_cents"] == cents
            and payment["held"] is False)


async def test_a_line_cancelled_before_the_payment_is_not_asked_of_the_buyer(
        http: httpx.AsyncClient, system: System) -> None:
    # given an order whose MUSCAT line the seller cancelled while it was blocked
    order = await placed_and_payable(http, system)
    order_id, due = order["order_id"], order["total_cents"] - 2 * 1190
    await _line_cancelled_while_blocked(http, system, order_id)
    await eventually(lambda: _amount_due_is(http, system, order_id, due))
    # when the buyer pays, then the bank's page asks for the rest only, and takes it only
    session = await session_for(http, system, order_id)
    assert session["fields"]["PBX_TOTAL"] == str(due)
    await pay_on_bank_page(http, session, APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    bank = (await http.get(f"{system.bank_url}/_simulator/transactions")).json()
    [transaction] = [t for t in bank if t["reference"] == session["fields"]["PBX_CMD"]]
    assert transaction["captured_cents"] == due
    # and the confirmation and the invoice say what was paid, the cancelled line apart
    [mail] = mail_for(order_id)
    assert f"Total payé — {due // 100},{due % 100:02d} €" in mail["text"]
    assert "(annulée)" in mail["text"]
    documents = await eventually(lambda: _invoice_of(http, system, order_id))
    assert documents["invoice"]["total_incl_vat_cents"] == due


async def _invoice_of(http: httpx.AsyncClient, system: System, order_id: str) -> dict | None:
    response = await http.get(f"{system.orders_url}/orders/{order_id}/invoice", headers=OPS)
    return response.json() if response.status_code == 200 else None


async def test_a_page_opened_before_a_line_was_cancelled_is_paid_and_the_amount_due_taken(
        http: httpx.AsyncClient, system: System) -> None:
    # given a page opened for the whole total, then a line cancelled
    order = await placed_and_payable(http, system)
    order_id, due = order["order_id"], order["total_cents"] - 2 * 1190
    session = await session_for(http, system, order_id)
    await _line_cancelled_while_blocked(http, system, order_id)
    await eventually(lambda: _amount_due_is(http, system, order_id, due))
    # when the buyer pays that page: authorised for what it asked, captured for what is due
    await pay_on_bank_page(http, session, APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    bank = (await http.get(f"{system.bank_url}/_simulator/transactions")).json()
    [transaction] = [t for t in bank if t["reference"] == session["fields"]["PBX_CMD"]]
    assert (transaction["authorised_cents"], transaction["captured_cents"]) == (
        order["total_cents"], due)


async def test_a_line_cancelled_while_the_payment_was_captured_is_owed_back(
        http: httpx.AsyncClient, system: System) -> None:
    # given an order with a sold-out line, paid, its capture held at the bank
    order = await with_a_sold_out_line(http, system)
    order_id = order["order_id"]
    await eventually(lambda: payment_of(http, system, order_id))
    async with bank_faults(http, system, hold=True):
        await _paid_and_its_capture_asked(http, system, order_id)
        # when the buyer cancels the sold-out line before the payment reached the order
        cancelled = await http.post(f"{system.orders_url}/orders/{order_id}/lines/"
                                    f"{SOLD_OUT}/cancellation")
        assert cancelled.status_code == 200, cancelled.text
    # then the whole total is captured, and the line's price is owed back, as of the payment
    await eventually(lambda: status_is(http, system, order_id, "captured", "payments"))
    refund = await the_refund(http, order_id)
    assert (refund["situation"], refund["base_cents"], refund["cause_type"]) == (
        "unavailable", 3 * 690, "CancelledLinePaid")


async def test_a_capture_asked_before_the_order_was_held_is_asked_until_the_bank_answers(
        http: httpx.AsyncClient, system: System, payments_db: asyncpg.Pool) -> None:
    # given an order awaiting an identity check, paid, its capture asked of a bank that does
    # not answer (it may have captured: an answer lost looks the same to the shop)
    order = await awaiting_identity_check(http, system)
    order_id, verification = order["order_id"], order["verification"]
    async with bank_faults(http, system, capture="unavailable"):
        await _paid_and_its_capture_asked(http, system, order_id)
        # when the order is cancelled (its payments held) before the bank answers
        await http.post(f"{verification}/outcome", json={"outcome": "rejected"},
                        headers=bearer("ops"))
        await eventually(lambda: _held(http, system, order_id))
    # then the same question is asked until the bank answers, and what it did is owed back
    await eventually(lambda: status_is(http, system, order_id, "captured", "payments"))
    types = [e["type"] for e in await events_of(payments_db, order_id)]
    assert types.index("PaymentCaptureAsked") < types.index("PaymentsHeld") \
        < types.index("PaymentCaptured")
    refund = await the_refund(http, order_id)
    assert (refund["base_cents"], refund["cause_type"]) == (
        order["total_cents"], "PaymentReceivedAfterCancellation")
