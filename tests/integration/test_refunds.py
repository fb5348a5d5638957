"""Refunds on the running system (real Kafka, PostgreSQL, bank simulator), in simulated time:
obligations derived from the log, escalation recorded at the tier boundaries, payout through
the bank, and the auditor's recomputation.

The shared clock only moves forward; this module runs after the calendar scenarios and moves it
by more than a year. Dates are therefore taken from the clock, never written in.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.policies import (
    compute_surcharge,
    escalation_steps,
    half_year_of,
    load_policy,
    paris_date,
)
from deploy.demo import APPROVED_CARD, order_body, pay_on_bank_page
from deploy.system import TEST_PORTS, bearer
from tests.integration.conftest import System
from tests.support.lifecycle import (
    OPS,
    REFUNDS,
    clock,
    confirmed_order,
    paid,
    refunds_of,
    session_for,
    status_is,
    the_refund,
    with_a_sold_out_line,
    withdrawn_and_returned,
)
from tests.support.orders import record_of, relayed_records
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
REPOSITORY = Path(__file__).resolve().parents[2]


def today(system: System) -> dt.date:
    return paris_date(dt.datetime.fromisoformat(clock(system, "show")))


def set_day(system: System, day: dt.date, hour: int = 10) -> None:
    clock(system, "set", f"{day.isoformat()}T{hour:02d}:00")


async def escalation_pass(refunds_db: asyncpg.Pool) -> None:
    """Wait until the escalation sweep has run a whole pass that started after now."""
    moment = dt.datetime.now(dt.UTC)

    async def passed() -> bool:
        started = await refunds_db.fetchval(
            "SELECT last_started_at FROM timed_work WHERE name = 'escalation'")
        return started is not None and started > moment

    await eventually(passed, what="an escalation pass after the clock moved")


def audit(system: System, *args: str) -> tuple[int, dict[str, Any]]:
    """Run the auditors' command against the test stack, from the folder its processes run in
    (where its checkpoints' public key is)."""
    result = subprocess.run(
        [sys.executable, "-m", "services.refunds.audit_command", *args],
        env={"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP": system.infra.kafka_bootstrap,
             "DATABASE_URL": system.infra.database_server_url}, cwd=REPOSITORY,
        capture_output=True, text=True, timeout=120, check=False)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


async def test_a_withdrawal_refund_escalates_at_each_tier_and_is_paid_to_the_cent(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool) -> None:
    order_id = await withdrawn_and_returned(http, system)
    notice = today(system)
    refund = await the_refund(http, order_id)
    assert (refund["situation"], refund["status"], refund["base_cents"],
            refund["products_cents"]) == ("withdrawal", "due", 5340 + 2380 + 990, 5340 + 2380)
    assert refund["deadline"] == (notice + dt.timedelta(days=14)).isoformat()
    deadline = dt.date.fromisoformat(refund["deadline"])

    for delay in (1, 11, 21, 31, 61, 91, 121, 200, 330, 410):
        set_day(system, deadline + dt.timedelta(days=delay))
        await escalation_pass(refunds_db)
    refund = (await http.get(f"{REFUNDS}/refunds/{refund['refund_id']}", headers=OPS)).json()
    steps = escalation_steps("withdrawal", 8710, 7720, deadline, today(system))
    assert [(s["escalated_on"], s["delay_days"], s["tier"]) for s in refund["escalations"]] == [
        (s.date.isoformat(), s.delay_days, s.tier) for s in steps]
    assert [s["delay_days"] for s in refund["escalations"]][:9] == [
        1, 11, 21, 31, 61, 91, 121, 151, 181]
    assert refund["escalations"][-1]["tier"] == "A:cap"
    assert refund["status"] == "overdue" and refund["delay_days"] == 410

    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    twice = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 202, ordered.text
    assert twice.status_code == 409
    issued = await eventually(lambda: paid(http, refund["refund_id"]))
    assert issued is not None
    policy = load_policy(issued["policy_version"])
    expected = compute_surcharge("withdrawal", 8710, 7720, deadline,
                                 dt.date.fromisoformat(issued["paid_on"]), policy)
    assert (issued["surcharge_cents"], issued["total_cents"]) == (
        expected.surcharge_cents, expected.total_cents)
    assert issued["tier"] == "A:cap"  # capped at the products' price, legal interest on top

    records = await relayed_records(system.infra.kafka_bootstrap, "refunds", order_id,
                                    refunds_db)
    [event] = [r["payload"] for r in records if r["type"] == "RefundIssued"]
    assert {"refund_id", "paid_on", "delay_days", "schedule", "tier", "base_cents",
            "surcharge_cents", "total_cents", "policy_version"} <= set(event)
    assert event["total_cents"] == expected.total_cents and event["bank_reference"]
    bank = (await http.get(f"{system.bank_url}/_simulator/transactions")).json()
    refunded = [t for t in bank if t["reference"].startswith(order_id)]
    assert [t["refunded_cents"] for t in refunded] == [expected.total_cents]

    set_day(system, today(system) + dt.timedelta(days=40))
    await escalation_pass(refunds_db)
    after = (await http.get(f"{REFUNDS}/refunds/{refund['refund_id']}", headers=OPS)).json()
    assert after["escalations"] == issued["escalations"]  # a paid refund stops escalating
    code, report = audit(system, "verify", "--order", order_id)
    assert code == 0, report["refunds"]


async def terminated_past_its_deadline(http: httpx.AsyncClient, system: System,
                                       order_id: str) -> dict[str, Any]:
    """The day after the delivery deadline, once the delivery is overdue, the buyer terminates
    at once (the date was essential): the refund it owes."""
    async def deadline() -> str | None:
        found = await http.get(f"{system.fulfilment_url}/shipments/{order_id}", headers=OPS)
        return found.json()["deliver_by"] if found.status_code == 200 else None

    deliver_by = await eventually(deadline)
    assert deliver_by is not None
    set_day(system, dt.date.fromisoformat(deliver_by) + dt.timedelta(days=1))

    async def overdue() -> bool:
        found = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
        return found["overdue_deadline"] is not None

    await eventually(overdue)
    terminated = await http.post(f"{system.orders_url}/orders/{order_id}/termination",
                                 json={"cause": "essential_date_missed"})
    assert terminated.status_code == 200, terminated.text
    return await the_refund(http, order_id)


async def test_a_termination_owes_all_sums_under_the_greater_of_the_two_schedules(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = await confirmed_order(http, system)
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    refund = await terminated_past_its_deadline(http, system, order_id)
    assert (refund["situation"], refund["base_cents"], refund["products_cents"]) == (
        "late_delivery", order["total_cents"], order["total_cents"] - order[
            "delivery_charge_cents"])
    assert refund["deadline"] == (today(system) + dt.timedelta(days=14)).isoformat()

    set_day(system, dt.date.fromisoformat(refund["deadline"]) + dt.timedelta(days=5))
    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 202, ordered.text
    issued = await eventually(lambda: paid(http, refund["refund_id"]))
    assert issued is not None and issued["delay_days"] == 5
    assert issued["surcharge_cents"] == round(order["total_cents"] * 0.10)  # B: 10 % > A


async def shipped_order(http: httpx.AsyncClient, system: System) -> str:
    """A confirmed order, its parcel handed to the carrier."""
    order_id = await confirmed_order(http, system)
    shipped = await http.post(f"{system.fulfilment_url}/shipments/{order_id}",
                              headers=bearer("warehouse"),
                              json={"carrier": "Colissimo", "tracking_number": "6A-void"})
    assert shipped.status_code == 201, shipped.text
    return order_id


async def test_a_delivery_reported_after_the_termination_voids_it_and_its_refund(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool) -> None:
    # given a shipped order past its deadline, terminated at once (its date was essential)
    order_id = await shipped_order(http, system)
    refund = await terminated_past_its_deadline(http, system, order_id)
    received = today(system)
    # when the carrier reports, late, that the parcel was delivered the day before
    delivered_on = received - dt.timedelta(days=1)
    reported = await http.post(f"{system.fulfilment_url}/deliveries/{order_id}",
                               headers=bearer("carrier"), json={
                                   "outcome": "delivered",
                                   "at": f"{delivered_on.isoformat()}T16:00:00+02:00"})
    assert reported.status_code == 200, reported.text
    # then the termination did not take effect (L.216-6): the order stands, delivered
    order = await eventually(lambda: status_is(http, system, order_id, "delivered"))
    assert order is not None
    assert (order["delivered_on"], order["terminated_on"], order["refund_owed_cents"]) == (
        delivered_on.isoformat(), None, None)

    async def voided() -> dict[str, Any] | None:
        found = (await http.get(f"{REFUNDS}/refunds/{refund['refund_id']}", headers=OPS)).json()
        return found if found["status"] == "voided" else None

    void = await eventually(voided)
    assert void is not None and void["voided_on"] == received.isoformat()
    assert delivered_on.isoformat() in void["void_reason"]
    # and past its deadline the refund is neither overdue, escalated nor payable
    set_day(system, dt.date.fromisoformat(refund["deadline"]) + dt.timedelta(days=12))
    await escalation_pass(refunds_db)
    after = (await http.get(f"{REFUNDS}/refunds/{refund['refund_id']}", headers=OPS)).json()
    assert (after["status"], after["escalations"]) == ("voided", [])
    overdue_list = (await http.get(f"{REFUNDS}/refunds/overdue", headers=OPS)).json()
    assert refund["refund_id"] not in {r["refund_id"] for r in overdue_list["refunds"]}
    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 409 and "voided" in ordered.json()["detail"]
    code, report = audit(system, "verify", "--order", order_id)
    assert code == 0, report["refunds"]


async def test_a_refund_paid_before_its_termination_was_voided_is_listed_to_recover(
        http: httpx.AsyncClient, system: System) -> None:
    # given a shipped order terminated at once, its refund paid through the bank
    order_id = await shipped_order(http, system)
    refund = await terminated_past_its_deadline(http, system, order_id)
    received = today(system)
    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 202, ordered.text
    issued = await eventually(lambda: paid(http, refund["refund_id"]))
    assert issued is not None
    # when the carrier reports a delivery of the day before the termination was received
    reported = await http.post(f"{system.fulfilment_url}/deliveries/{order_id}",
                               headers=bearer("carrier"), json={
                                   "outcome": "delivered",
                                   "at": f"{received - dt.timedelta(days=1)}T16:00:00+02:00"})
    assert reported.status_code == 200, reported.text

    # then the refund is voided, and what the bank refunded is listed to recover
    async def to_recover() -> dict[str, Any] | None:
        listed = (await http.get(f"{REFUNDS}/refunds/overdue", headers=OPS)).json()
        found = [r for r in listed["to_recover"] if r["refund_id"] == refund["refund_id"]]
        return found[0] if found else None

    listed = await eventually(to_recover)
    assert listed is not None and listed["status"] == "voided"
    assert listed["refunded_cents"] == issued["total_cents"] == refund["base_cents"]
    assert listed["balance_cents"] == 0

    # and once the buyer has given it back, in two transfers, it leaves the list
    recovery = f"{REFUNDS}/refunds/{refund['refund_id']}/recovery"
    part = {"amount_cents": 1000, "reference": f"VIR-{order_id[:8]}-1"}
    answers = [await http.post(recovery, headers=OPS, json=part) for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]  # the same transfer, recorded once
    assert answers[1].json()["recovered_cents"] == 1000
    assert await to_recover() is not None
    listed_now = (await http.get(f"{REFUNDS}/refunds/overdue", headers=OPS)).json()
    [left] = [r["refunded_cents"] - r["recovered_cents"] for r in listed_now["to_recover"]
              if r["refund_id"] == refund["refund_id"]]
    assert left == listed["refunded_cents"] - 1000
    unknown = await http.post(f"{REFUNDS}/refunds/no-such-refund/recovery", headers=OPS,
                              json=part)
    assert unknown.status_code == 404, unknown.text
    too_much = await http.post(recovery, headers=OPS, json={
        "amount_cents": listed["refunded_cents"], "reference": f"VIR-{order_id[:8]}-2"})
    assert too_much.status_code == 409, too_much.text
    rest = await http.post(recovery, headers=OPS, json={
        "amount_cents": listed["refunded_cents"] - 1000, "reference": f"VIR-{order_id[:8]}-2"})
    assert rest.status_code == 201, rest.text
    assert rest.json()["recovered_cents"] == listed["refunded_cents"]
    assert await to_recover() is None
    code, report = audit(system, "verify", "--order", order_id)
    assert code == 0, report["refunds"]


async def test_an_unavailable_line_is_owed_back_by_the_earlier_of_its_two_deadlines(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = (await with_a_sold_out_line(http, system))["order_id"]
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    paid_on = today(system)
    set_day(system, paid_on + dt.timedelta(days=2))
    cancelled = await http.post(f"{system.orders_url}/orders/{order_id}/lines/"
                                "IGP-COTES-CATALANES-2024/cancellation")
    assert cancelled.status_code == 200, cancelled.text

    refund = await the_refund(http, order_id)
    assert (refund["situation"], refund["base_cents"]) == ("unavailable", 3 * 690)
    assert refund["deadline"] == (paid_on + dt.timedelta(days=16)).isoformat()  # cancel + 14
    set_day(system, dt.date.fromisoformat(refund["deadline"]) + dt.timedelta(days=15))
    found = (await http.get(f"{REFUNDS}/refunds/{refund['refund_id']}", headers=OPS)).json()
    assert (found["status"], found["delay_days"], found["surcharge_cents"]) == (
        "overdue", 15, round(3 * 690 * 0.20))  # schedule B, 14 < d <= 30


async def test_a_line_left_out_of_the_parcel_and_never_answered_is_cancelled_and_owed(
        http: httpx.AsyncClient, system: System) -> None:
    # given a paid order shipped without its sold-out line, the buyer not having answered
    order_id = (await with_a_sold_out_line(http, system))["order_id"]
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))
    await eventually(lambda: shipment_deadline_set(http, system, order_id))
    shipped = await http.post(f"{system.fulfilment_url}/shipments/{order_id}",
                              headers=bearer("warehouse"),
                              json={"carrier": "Colissimo", "tracking_number": "6A-part"})
    assert shipped.status_code == 201, shipped.text
    await eventually(lambda: status_is(http, system, order_id, "shipped"))
    # then the line cannot be exchanged any more: the parcel is gone
    exchange = await http.post(
        f"{system.orders_url}/orders/{order_id}/lines/IGP-COTES-CATALANES-2024/exchange",
        json={"replacement_sku": "IGP-COTES-CATALANES-ROSE-2024"})  # same price
    assert exchange.status_code == 409 and "only be cancelled" in exchange.json()["detail"]
    # when the time to reply is up, the line is cancelled, and its price owed back
    set_day(system, today(system) + dt.timedelta(days=4))
    refund = await the_refund(http, order_id)
    assert (refund["situation"], refund["base_cents"]) == ("unavailable", 3 * 690)
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    assert order["status"] == "shipped"


async def shipment_deadline_set(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    found = await http.get(f"{system.fulfilment_url}/shipments/{order_id}", headers=OPS)
    return found.status_code == 200 and found.json()["deliver_by"] is not None


async def test_a_blocked_orders_cancelled_line_is_owed_within_14_days_under_schedule_b(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = await confirmed_order(http, system)
    await http.post(f"{system.orders_url}/orders/{order_id}/block", headers=OPS,
                    json={"reason": "buyer_account_problem"})
    cancelled = await http.post(f"{system.orders_url}/orders/{order_id}/lines/"
                                "MUSCAT-RIVESALTES-2023/cancellation", headers=OPS)
    assert cancelled.status_code == 200, cancelled.text
    refund = await the_refund(http, order_id)
    assert (refund["situation"], refund["base_cents"]) == ("blocked", 2 * 1190)
    assert refund["deadline"] == (today(system) + dt.timedelta(days=14)).isoformat()
    overdue = (await http.get(f"{REFUNDS}/refunds/overdue", headers=OPS)).json()
    assert refund["refund_id"] not in {r["refund_id"] for r in overdue["refunds"]}


async def consumed_by_refunds(refunds_db: asyncpg.Pool, orders_db: asyncpg.Pool,
                              order_id: str, event_type: str) -> dict[str, Any]:
    """Wait until the refunds worker applied the order's ``event_type``; its envelope."""
    envelope = await orders_db.fetchval(
        "SELECT envelope FROM events WHERE order_id = $1 AND type = $2", order_id, event_type)
    assert envelope is not None

    async def applied() -> bool:
        return bool(await refunds_db.fetchval(
            "SELECT 1 FROM processed_events WHERE event_id = $1",
            uuid.UUID(str(envelope["event_id"]))))

    await eventually(applied, what=f"refunds applied {event_type}")
    return dict(envelope)


async def test_nothing_is_owed_for_an_order_never_paid(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool,
        orders_db: asyncpg.Pool) -> None:
    order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    await http.post(f"{system.orders_url}/orders/{order['order_id']}/block", headers=OPS,
                    json={"reason": "buyer_account_problem"})
    cancelled = await http.post(f"{system.orders_url}/orders/{order['order_id']}/lines/"
                                "MUSCAT-RIVESALTES-2023/cancellation", headers=OPS)
    assert cancelled.status_code == 200
    await consumed_by_refunds(refunds_db, orders_db, order["order_id"], "OrderLineCancelled")
    assert await refunds_of(http, order["order_id"]) == []


async def test_a_redelivered_cause_owes_nothing_twice(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool,
        orders_db: asyncpg.Pool) -> None:
    order_id = await withdrawn_and_returned(http, system)
    await the_refund(http, order_id)
    envelope = await consumed_by_refunds(refunds_db, orders_db, order_id, "WithdrawalRequested")
    # as if the inbox had lost it (a restore from an older backup): only the domain remembers
    await refunds_db.execute("DELETE FROM processed_events WHERE event_id = $1",
                             uuid.UUID(str(envelope["event_id"])))
    [record] = await record_of(system.infra.kafka_bootstrap, "orders", str(envelope["event_id"]))
    await republish(system.infra.kafka_bootstrap, record)

    await consumed_by_refunds(refunds_db, orders_db, order_id, "WithdrawalRequested")
    assert len(await refunds_of(http, order_id)) == 1
    assert await refunds_db.fetchval("SELECT count(*) FROM events WHERE order_id = $1 AND "
                                     "type = 'RefundDue'", order_id) == 1


async def republish(bootstrap: str, record: Any) -> None:
    from services.platform.kafka_io import idempotent_producer

    producer = idempotent_producer(bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(record.topic, value=record.value, key=record.key,
                                     headers=list(record.headers))
    finally:
        await producer.stop()


async def test_a_refund_paid_on_time_has_no_surcharge_and_no_escalation(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool) -> None:
    order_id = await withdrawn_and_returned(http, system)
    refund = await the_refund(http, order_id)
    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 202, ordered.text
    issued = await eventually(lambda: paid(http, refund["refund_id"]))
    assert issued is not None
    assert (issued["delay_days"], issued["surcharge_cents"], issued["total_cents"]) == (
        0, 0, 8710)
    set_day(system, dt.date.fromisoformat(refund["deadline"]) + dt.timedelta(days=30))
    await escalation_pass(refunds_db)
    records = await relayed_records(system.infra.kafka_bootstrap, "refunds", order_id,
                                    refunds_db)
    assert [r["type"] for r in records if r["type"] != "ReturnOfGoodsNoted"] == [
        "RefundDue", "RefundPayoutRequested", "RefundIssued"]  # no escalation


async def into_a_half_year_without_a_rate(http: httpx.AsyncClient, system: System) -> None:
    """Move the clock to a half-year whose rate is neither shipped nor recorded (the API tests
    may have recorded some), with room for a refund to fall due and run late in it."""
    recorded = {r["half_year"] for r in (await http.get(f"{REFUNDS}/legal-interest-rates",
                                                        headers=OPS)).json()}
    day = max(today(system), dt.date(2026, 7, 1))  # 2026-S2: the first rate not shipped
    while half_year_of(day) in recorded or half_year_of(day + dt.timedelta(days=30)) != \
            half_year_of(day):
        day += dt.timedelta(days=30)
    if day > today(system):
        set_day(system, day)


async def test_a_recorded_rate_turns_provisional_figures_into_recorded_corrections(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool) -> None:
    await into_a_half_year_without_a_rate(http, system)
    order_id = await withdrawn_and_returned(http, system)
    refund = await the_refund(http, order_id)
    deadline = dt.date.fromisoformat(refund["deadline"])
    set_day(system, deadline + dt.timedelta(days=5))
    await escalation_pass(refunds_db)
    found = (await http.get(f"{REFUNDS}/refunds/{refund['refund_id']}", headers=OPS)).json()
    [step] = found["escalations"]
    assert step["provisional"] and step["missing_half_years"], step
    half_year = step["missing_half_years"][0]

    recorded = await http.post(f"{REFUNDS}/legal-interest-rates", headers=OPS, json={
        "half_year": half_year, "percent": "3.71", "source": "arrêté (test)"})
    assert recorded.status_code == 201, recorded.text

    async def corrected() -> dict[str, Any] | None:
        view = (await http.get(f"{REFUNDS}/refunds/{refund['refund_id']}", headers=OPS)).json()
        return view if not view["escalations"][0]["provisional"] else None

    view = await eventually(corrected)
    assert view is not None
    fixed = view["escalations"][0]
    policy = load_policy(fixed["policy_version"])
    expected = compute_surcharge("withdrawal", 8710, 7720, deadline,
                                 dt.date.fromisoformat(fixed["escalated_on"]), policy)
    assert fixed["surcharge_cents"] == expected.surcharge_cents
    assert fixed["corrected_from_cents"] == step["surcharge_cents"]
    records = await relayed_records(system.infra.kafka_bootstrap, "refunds", order_id,
                                    refunds_db)
    assert "RefundPenaltyRecomputed" in [r["type"] for r in records]
    code, report = audit(system, "verify", "--order", order_id)
    assert code == 0, report["refunds"]


async def rates_missing(http: httpx.AsyncClient) -> dict[str, int]:
    """The operators' alert: half-year → refunds borrowing a rate for it."""
    overdue = (await http.get(f"{REFUNDS}/refunds/overdue", headers=OPS)).json()
    return {missing["half_year"]: missing["refunds"] for missing in overdue["rates_missing"]}


async def test_a_rate_recorded_after_a_refund_was_paid_owes_the_buyer_its_balance(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool) -> None:
    # given a withdrawal refund paid on its 5th day of delay, its legal interest borrowing
    # the rate of an earlier half-year for one not recorded yet
    await into_a_half_year_without_a_rate(http, system)
    order_id = await withdrawn_and_returned(http, system)
    refund = await the_refund(http, order_id)
    refund_url = f"{REFUNDS}/refunds/{refund['refund_id']}"
    set_day(system, dt.date.fromisoformat(refund["deadline"]) + dt.timedelta(days=5))
    assert (await http.post(f"{refund_url}/pay", headers=OPS)).status_code == 202
    issued = await eventually(lambda: paid(http, refund["refund_id"]))
    assert issued is not None and issued["provisional"], issued
    assert (issued["refunded_cents"], issued["balance_cents"]) == (issued["total_cents"], 0)
    [step] = issued["escalations"]
    borrowed = Decimal(step["rate"]) * 100  # the annual rate, as a fraction
    assert borrowed + 2 < 100, f"the test stack borrows a rate of {borrowed} %"
    half_year = issued["missing_half_years"][0]
    # operators are alerted to the rate to record, though the refund is paid
    assert half_year in await rates_missing(http)
    console = await http.get(f"http://127.0.0.1:{TEST_PORTS['console']}/refunds", headers={
        "Cookie": f"console_token={OPS['Authorization'].removeprefix('Bearer ')}"})
    assert f"<li>{half_year}: " in console.text.split('id="rates-missing"')[1]

    # when the half-year's rate is recorded, higher than the one borrowed
    recorded = await http.post(f"{REFUNDS}/legal-interest-rates", headers=OPS, json={
        "half_year": half_year, "percent": f"{borrowed + 2:.4f}",
        "source": "arrêté (test)"})
    assert recorded.status_code == 201, recorded.text

    async def raised() -> dict[str, Any] | None:
        view = (await http.get(refund_url, headers=OPS)).json()
        return view if view["balance_cents"] else None

    # then the payment's figure is corrected, and what the bank did not refund is owed
    view = await eventually(raised)
    assert view is not None and not view["provisional"]
    assert half_year not in await rates_missing(http)
    assert view["refunded_cents"] == issued["total_cents"]
    assert view["balance_cents"] == view["total_cents"] - issued["total_cents"] > 0
    overdue = (await http.get(f"{REFUNDS}/refunds/overdue", headers=OPS)).json()
    assert refund["refund_id"] in [r["refund_id"] for r in overdue["balances"]]

    # and operators pay it once, through the bank, on the same transaction
    assert (await http.post(f"{refund_url}/pay", headers=OPS)).status_code == 202

    async def settled() -> dict[str, Any] | None:
        view = (await http.get(refund_url, headers=OPS)).json()
        return view if view["balance_cents"] == 0 and view["payout"] is None else None

    after = await eventually(settled)
    assert after is not None and after["refunded_cents"] == view["total_cents"]
    assert (await http.post(f"{refund_url}/pay", headers=OPS)).status_code == 409
    bank = (await http.get(f"{system.bank_url}/_simulator/transactions")).json()
    assert [t["refunded_cents"] for t in bank if t["reference"].startswith(order_id)] == [
        view["total_cents"]]
    records = await relayed_records(system.infra.kafka_bootstrap, "refunds", order_id,
                                    refunds_db)
    [balance] = [r["payload"] for r in records if r["type"] == "RefundBalanceIssued"]
    assert (balance["attempt"], balance["amount_cents"]) == (2, view["balance_cents"])
    code, report = audit(system, "verify", "--order", order_id)
    assert code == 0, report


async def test_a_tampered_refund_amount_is_reported_by_the_auditor(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool) -> None:
    order_id = await withdrawn_and_returned(http, system)
    refund = await the_refund(http, order_id)
    ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
    assert ordered.status_code == 202, ordered.text
    await eventually(lambda: paid(http, refund["refund_id"]))
    code, _ = audit(system, "verify", "--order", order_id)
    assert code == 0

    tamper = ("UPDATE events SET envelope = jsonb_set(envelope, '{payload,total_cents}', "
              "$2::jsonb) WHERE order_id = $1 AND type = 'RefundIssued'")
    await refunds_db.execute(tamper, order_id, 1)
    try:
        code, report = audit(system, "verify", "--order", order_id)
        proof_code, proof = audit(system, "proof", order_id)
    finally:
        await refunds_db.execute(tamper, order_id, 8710)  # the shared store, as it was

    assert code == 1
    findings = report["refunds"]["from_store"]["findings"]
    assert {(f["type"], f["field"], f["recorded"]) for f in findings} == {
        ("RefundIssued", "total_cents", 1), ("RefundIssued", "paid by the bank", 1)}
    assert report["chains"]["services"]["refunds"]["differs_from_store"]
    # the order's proof shows the events as published, and is not verified: the store
    # holds its RefundIssued otherwise, and its figure recomputed from the store disagrees
    assert proof_code == 1 and sorted(e["type"] for e in proof["events"]
                                      if e["service"] == "refunds") == [
        "RefundDue", "RefundIssued", "RefundPayoutRequested", "ReturnOfGoodsNoted"]
    assert proof["chains"]["refunds"].startswith("on the topic otherwise than in the store")
    assert ("RefundIssued", "total_cents", 1, "store") in {
        (f["type"], f["field"], f["recorded"], f.get("from")) for f in proof["findings"]}


async def test_a_payout_whose_answer_is_lost_is_asked_again_and_paid_once(
        http: httpx.AsyncClient, system: System, payments_db: asyncpg.Pool) -> None:
    order_id = await withdrawn_and_returned(http, system)
    refund = await the_refund(http, order_id)
    await http.post(f"{system.bank_url}/_simulator/faults", json={"refund": "answer_lost"})
    try:
        ordered = await http.post(f"{REFUNDS}/refunds/{refund['refund_id']}/pay", headers=OPS)
        assert ordered.status_code == 202, ordered.text
        issued = await eventually(lambda: paid(http, refund["refund_id"]))
    finally:
        await http.post(f"{system.bank_url}/_simulator/faults", json={"refund": "ok"})
    assert issued is not None
    log = system["payments-worker"].log_path.read_text(errors="replace")
    assert f"payout of refund {refund['refund_id']} (attempt 1): the bank did not answer" in log
    bank = (await http.get(f"{system.bank_url}/_simulator/transactions")).json()
    assert [t["refunded_cents"] for t in bank if t["reference"].startswith(order_id)] == [
        issued["total_cents"]]  # refunded once, though asked twice
    records = await relayed_records(system.infra.kafka_bootstrap, "payments", order_id,
                                    payments_db)
    assert [r["type"] for r in records].count("RefundPaid") == 1


async def test_a_refund_the_bank_pays_days_late_owes_the_figure_of_the_day_it_paid(
        http: httpx.AsyncClient, system: System) -> None:
    # given a withdrawal refund whose payout ops order on its 5th day of delay, the bank
    # unreachable: payments asks it again each pass
    order_id = await withdrawn_and_returned(http, system)
    refund = await the_refund(http, order_id)
    refund_url = f"{REFUNDS}/refunds/{refund['refund_id']}"
    deadline = dt.date.fromisoformat(refund["deadline"])
    set_day(system, deadline + dt.timedelta(days=5))
    worker_log = system["payments-worker"].log_path
    unanswered = f"payout of refund {refund['refund_id']} (attempt 1): the bank did not answer"
    await http.post(f"{system.bank_url}/_simulator/faults", json={"refund": "unavailable"})
    try:
        assert (await http.post(f"{refund_url}/pay", headers=OPS)).status_code == 202

        async def asked_unanswered() -> bool:
            return unanswered in worker_log.read_text(errors="replace")

        await eventually(asked_unanswered, what="a payout the bank did not answer")
        # when the bank answers only on the 25th day of delay
        set_day(system, deadline + dt.timedelta(days=25))
    finally:
        await http.post(f"{system.bank_url}/_simulator/faults", json={"refund": "ok"})
    issued = await eventually(lambda: paid(http, refund["refund_id"]))
    # then the refund is issued for the figure ordered, and the figure of the day the bank
    # paid is owed (25 days: 10 % of the base under schedule A), its difference a balance
    assert issued is not None
    expected = compute_surcharge("withdrawal", refund["base_cents"], refund["products_cents"],
                                 deadline, deadline + dt.timedelta(days=25), load_policy())
    assert (issued["paid_on"], issued["delay_days"], issued["total_cents"]) == (
        str(deadline + dt.timedelta(days=25)), 25, expected.total_cents)
    assert issued["balance_cents"] == expected.total_cents - issued["refunded_cents"] > 0
    # which operators pay once, and the auditor finds every figure in the log
    assert (await http.post(f"{refund_url}/pay", headers=OPS)).status_code == 202

    async def settled() -> dict[str, Any] | None:
        view = (await http.get(refund_url, headers=OPS)).json()
        return view if view["balance_cents"] == 0 and view["payout"] is None else None

    assert await eventually(settled) is not None
    code, report = audit(system, "verify", "--order", order_id)
    assert code == 0, report


async def test_the_worker_killed_mid_sweep_records_each_escalation_step_once(
        http: httpx.AsyncClient, system: System, refunds_db: asyncpg.Pool) -> None:
    worker = system["refunds-worker"]
    worker.stop()
    try:
        orders = [await withdrawn_and_returned(http, system) for _ in range(2)]
        notice = today(system)
        set_day(system, notice + dt.timedelta(days=14 + 45))
        crashing = worker.start(REFUNDS_SWEEP_FAILPOINT="after_first_order")
        assert crashing.wait_exit(timeout=120) == 137
    finally:
        if not worker.running:
            worker.start()
    for order_id in orders:  # the crashed worker may have left a cause to the restarted one,
        await the_refund(http, order_id)  # which a pass started before it would not escalate
    await escalation_pass(refunds_db)
    deadline = notice + dt.timedelta(days=14)
    expected = [s.delay_days for s in escalation_steps("withdrawal", 8710, 7720, deadline,
                                                       today(system))]
    for order_id in orders:
        [refund] = await refunds_of(http, order_id)
        assert [s["delay_days"] for s in refund["escalations"]] == expected == [1, 11, 21, 31]
        types = [r["type"] for r in await relayed_records(system.infra.kafka_bootstrap,
                                                          "refunds", order_id, refunds_db)]
        assert types.count("RefundDue") == 1 and types.count("RefundPenaltyEscalated") == 4
