"""The terms' calendar on the running system, driven by the stack's shared clock
(``python -m services.platform.clock``): the 5-working-day delivery deadline around Ascension,
and a force-majeure period that pushes it.

The test stack's clock starts on Monday 11 May 2026 (``deploy.system.TEST_CLOCK_START``) and
only ever moves forward; this module is the first to move it.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import pytest

from contracts.policies import delivery_deadline
from deploy.demo import APPROVED_CARD, order_body, pay_on_bank_page
from deploy.system import TEST_CLOCK, bearer
from tests.integration.conftest import System
from tests.support.lifecycle import (
    SOLD_OUT,
    clock,
    confirmed_order,
    found,
    line_is,
    session_for,
    shipped_and_delivered,
    status_is,
    with_a_sold_out_line,
)
from tests.support.orders import published_records
from tests.support.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]
OPS = bearer("ops")
PARIS = ZoneInfo("Europe/Paris")


async def shipment(http: httpx.AsyncClient, system: System, order_id: str) -> dict:
    return (await http.get(f"{system.fulfilment_url}/shipments/{order_id}",
                           headers=bearer("ops"))).json()


async def sweep_passes_after(fulfilment_db: asyncpg.Pool, moment: dt.datetime) -> None:
    """Wait until the overdue sweep has started a pass after ``moment`` (machine time)."""
    async def passed() -> bool:
        started = await fulfilment_db.fetchval(
            "SELECT last_started_at FROM timed_work WHERE name = 'overdue-deliveries'")
        return started is not None and started > moment

    await eventually(passed, what="a sweep pass after the clock moved")


async def move_clock_and_sweep(system: System, fulfilment_db: asyncpg.Pool,
                               *args: str) -> None:
    clock(system, *args)
    await sweep_passes_after(fulfilment_db, dt.datetime.now(dt.UTC))


async def test_delivery_deadline_around_ascension_and_a_force_majeure_period(
        http: httpx.AsyncClient, system: System, fulfilment_db: asyncpg.Pool) -> None:
    now = dt.datetime.fromisoformat(clock(system, "show"))
    assert now < dt.datetime(2026, 5, 13, 8, tzinfo=dt.UTC), (
        f"this scenario needs a fresh test stack (its clock is at {now}); "
        "run it from make test, which starts one")
    monday = await confirmed_order(http, system)  # Monday 11 May: deadline Tuesday 19 May
    clock(system, "set", "2026-05-13T10:00")  # Wednesday 13 May, 10:00 in Paris
    wednesday = await confirmed_order(http, system)
    assert (await shipment(http, system, wednesday))["deliver_by"] == "2026-05-21"

    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-05-21T23:00")
    assert (await shipment(http, system, monday))["overdue_since"] == "2026-05-21"
    assert (await shipment(http, system, wednesday))["overdue_since"] is None

    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-05-22T00:30")
    assert (await shipment(http, system, wednesday))["overdue_since"] == "2026-05-22"

    # Friday 22 May: deadline Monday 1 June (Whit Monday 25 May is a holiday); a closure on
    # Tuesday 26 and Wednesday 27 May pushes it by two working days, to Wednesday 3 June
    clock(system, "set", "2026-05-22T10:00")
    friday = await confirmed_order(http, system)
    closure = await http.post(f"{system.fulfilment_url}/deadline-suspensions",
                              headers=bearer("ops"), json={
                                  "first_day": "2026-05-26", "days": 2, "kind": "closure",
                                  "reason": "announced closure of the warehouse"})
    assert closure.status_code == 201, closure.text
    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-06-03T23:00")
    assert (await shipment(http, system, friday))["overdue_since"] is None
    await move_clock_and_sweep(system, fulfilment_db, "set", "2026-06-04T08:00")
    assert (await shipment(http, system, friday))["overdue_since"] == "2026-06-04"
    # the operators' list counts the days late from the deadline as the closure extended it
    listed = (await http.get(f"{system.fulfilment_url}/overdue-deliveries",
                             headers=bearer("ops"))).json()
    [late] = [entry for entry in listed if entry["order_id"] == friday]
    assert (late["deliver_by"], late["deadline"], late["days_late"]) == (
        "2026-06-01", "2026-06-03", 1)

    # force majeure on Tuesday 2 and Wednesday 3 June, declared on Thursday 4 June once the
    # order was found late: its deadline moves to Friday 5 June, so it was never late
    await _force_majeure_declared_after_the_fact(http, system, friday)


async def _force_majeure_declared_after_the_fact(http: httpx.AsyncClient, system: System,
                                                 order_id: str) -> None:
    period = {"first_day": "2026-06-02", "days": 2, "reason": "strike at the carrier"}
    suspensions = f"{system.fulfilment_url}/deadline-suspensions"
    closure = await http.post(suspensions, headers=OPS, json={**period, "kind": "closure"})
    assert closure.status_code == 409 and "announced" in closure.json()["detail"]
    declared = await http.post(suspensions, headers=OPS, json={**period,
                                                                "kind": "force_majeure"})
    assert declared.status_code == 201, declared.text

    async def not_late() -> bool:
        order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
        return ((await shipment(http, system, order_id))["overdue_since"] is None
                and order["overdue_deadline"] is None)

    await eventually(not_late, what="the overdue withdrawn in fulfilment and orders")
    listed = (await http.get(f"{system.fulfilment_url}/overdue-deliveries", headers=OPS)).json()
    assert order_id not in {entry["order_id"] for entry in listed}
    refused = await http.post(f"{system.orders_url}/orders/{order_id}/performance-request",
                              json={"perform_by": "2026-06-10"})
    assert refused.status_code == 409, refused.text
    # (that it falls late again once Friday 5 June has passed is a unit test: the next
    # scenario needs the clock on Thursday 4 June)


async def test_the_clock_does_not_go_back_before_recorded_events(system: System) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.platform.clock", "set", "2026-01-01T00:00"],
        env={"PATH": "/usr/bin:/bin", "CLOCK_FILE": str(TEST_CLOCK),
             "DATABASE_URL": system.infra.database_server_url},
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "does not go back" in result.stderr


async def test_shipping_before_confirmation_or_twice_is_refused_and_records_nothing(
        http: httpx.AsyncClient, system: System, fulfilment_db: asyncpg.Pool) -> None:
    placed = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    ship = {"carrier": "Colissimo", "tracking_number": "6A0001"}
    warehouse = bearer("warehouse")
    await eventually(lambda: found(http, f"{system.fulfilment_url}/reservations/"
                                          f"{placed['order_id']}"))

    early = await http.post(f"{system.fulfilment_url}/shipments/{placed['order_id']}",
                            json=ship, headers=warehouse)
    order_id = await confirmed_order(http, system)
    first = await http.post(f"{system.fulfilment_url}/shipments/{order_id}", json=ship,
                            headers=warehouse)
    twice = await http.post(f"{system.fulfilment_url}/shipments/{order_id}", json=ship,
                            headers=warehouse)

    assert early.status_code == 409 and "not confirmed" in early.json()["detail"]
    assert first.status_code == 201 and first.json()["carrier"] == "Colissimo"
    assert twice.status_code == 409 and "already shipped" in twice.json()["detail"]
    stock = (await http.get(f"{system.fulfilment_url}/stock/COTES-ROUSSILLON-ROUGE-2022",
                            headers=warehouse)).json()
    assert stock["shipped"] >= 6
    types = [r["type"] for r in await fulfilment_db.fetch(
        "SELECT type FROM events WHERE order_id = $1 ORDER BY version", order_id)]
    assert types.count("Shipped") == 1


async def order_status(http: httpx.AsyncClient, system: System, order_id: str,
                       status: str) -> dict | None:
    return await status_is(http, system, order_id, status)


async def test_withdrawal_on_the_14th_working_day_is_accepted_and_on_the_15th_refused(
        http: httpx.AsyncClient, system: System) -> None:
    clock(system, "set", "2026-06-04T10:00")  # Thursday 4 June
    kept, late = await confirmed_order(http, system), await confirmed_order(http, system)
    for order_id in (kept, late):  # delivered on Friday 5 June: the window ends on 25 June
        await shipped_and_delivered(http, system, order_id, "2026-06-05T11:00:00+02:00")
        await eventually(lambda order_id=order_id: order_status(http, system, order_id,
                                                                "delivered"))

    clock(system, "set", "2026-06-25T17:00")  # the 14th working day
    accepted = await http.post(f"{system.orders_url}/orders/{kept}/withdrawal", json={})
    clock(system, "set", "2026-06-26T09:00")  # the 15th
    refused = await http.post(f"{system.orders_url}/orders/{late}/withdrawal", json={})

    assert accepted.status_code == 200, accepted.text
    withdrawal = accepted.json()["withdrawal"]
    assert (withdrawal["notice_on"], withdrawal["products_refund_cents"],
            withdrawal["delivery_refund_cents"]) == ("2026-06-25", 5340 + 2380, 990)
    assert accepted.json()["refund_owed_cents"] == 5340 + 2380 + 990
    assert refused.status_code == 409
    assert "ended on 2026-06-25" in refused.json()["detail"]

    # the goods come back within 14 days of the notice; the buyer proves the dispatch
    await eventually(lambda: _return_expected(http, system, kept))
    returned = await http.post(f"{system.fulfilment_url}/returns/{kept}",
                               headers=bearer("warehouse"), json={"complete": True})
    proof = await http.post(f"{system.orders_url}/orders/{kept}/withdrawal/proof-of-dispatch",
                            json={"dispatched_on": "2026-06-26"})
    assert returned.status_code == 200 and returned.json()["returned_on"] == "2026-06-26"
    assert returned.json()["return_by"] == "2026-07-09"
    assert proof.status_code == 200 and proof.json()["proof_of_dispatch_on"] == "2026-06-26"
    owed = [r["payload"] for r in await published_records(system.infra.kafka_bootstrap,
                                                          "orders", kept)
            if r["type"] == "WithdrawalRequested"]
    assert [(o["products_refund_cents"], o["delivery_refund_cents"]) for o in owed] == [
        (5340 + 2380, 990)]


async def _return_expected(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    return bool((await shipment(http, system, order_id))["return_by"])


async def test_late_delivery_performance_request_then_termination_owes_all_sums_paid(
        http: httpx.AsyncClient, system: System) -> None:
    clock(system, "set", "2026-06-26T10:00")  # Friday 26 June: deadline Friday 3 July
    order_id = await confirmed_order(http, system)
    total = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()["total_cents"]
    too_early = await http.post(f"{system.orders_url}/orders/{order_id}/performance-request",
                                json={"perform_by": "2026-07-10"})

    clock(system, "set", "2026-07-04T09:00")
    await eventually(lambda: _overdue_on_the_order(http, system, order_id))
    requested = await http.post(f"{system.orders_url}/orders/{order_id}/performance-request",
                                json={"perform_by": "2026-07-08"})
    not_yet = await http.post(f"{system.orders_url}/orders/{order_id}/termination")
    clock(system, "set", "2026-07-09T09:00")
    terminated = await http.post(f"{system.orders_url}/orders/{order_id}/termination")

    assert too_early.status_code == 409 and "has not passed" in too_early.json()["detail"]
    assert requested.status_code == 200 and requested.json()["perform_by"] == "2026-07-08"
    assert not_yet.status_code == 409 and "until 2026-07-08" in not_yet.json()["detail"]
    assert terminated.status_code == 200, terminated.text
    assert (terminated.json()["status"], terminated.json()["terminated_on"],
            terminated.json()["refund_owed_cents"]) == ("terminated", "2026-07-09", total)
    await eventually(lambda: _held(http, system, order_id, "terminated"))
    ship = await http.post(f"{system.fulfilment_url}/shipments/{order_id}",
                           headers=bearer("warehouse"),
                           json={"carrier": "Colissimo", "tracking_number": "6A-late"})
    assert ship.status_code == 409  # a terminated contract is not performed any more


async def test_a_parcel_refused_at_the_door_is_still_to_deliver_and_falls_overdue(
        http: httpx.AsyncClient, system: System) -> None:
    # given a confirmed order whose parcel the buyer refused at the door, opened
    clock(system, "set", "2026-07-10T10:00")
    order_id = await confirmed_order(http, system)
    await eventually(lambda: _deadline_set(http, system, order_id))
    refused = await shipped_and_delivered(http, system, order_id, "2026-07-10T16:00:00+02:00",
                                          "refused", reservations="parcel opened")
    assert refused["outcome"] == "refused"
    deadline = dt.date.fromisoformat(refused["deliver_by"])
    # when its delivery deadline passes without a new parcel
    clock(system, "set", f"{deadline + dt.timedelta(days=1)}T09:00")
    # then the delivery is overdue, and the buyer's remedies for late delivery are open
    order = await eventually(lambda: _overdue_since(http, system, order_id, deadline))
    assert order is not None and order["status"] == "shipped"
    requested = await http.post(f"{system.orders_url}/orders/{order_id}/performance-request",
                                json={"perform_by": str(deadline + dt.timedelta(days=5))})
    assert requested.status_code == 200, requested.text
    # and the seller may send a new parcel, which can be delivered
    delivered = await shipped_and_delivered(
        http, system, order_id, f"{deadline + dt.timedelta(days=2)}T11:00:00+02:00")
    assert delivered["outcome"] == "delivered"
    await eventually(lambda: order_status(http, system, order_id, "delivered"))


async def _deadline_set(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    found = await http.get(f"{system.fulfilment_url}/shipments/{order_id}",
                           headers=bearer("ops"))
    return found.status_code == 200 and found.json()["deliver_by"] is not None


async def _overdue_since(http: httpx.AsyncClient, system: System, order_id: str,
                         deadline: dt.date) -> dict | None:
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    return order if order["overdue_deadline"] == deadline.isoformat() else None


async def _held(http: httpx.AsyncClient, system: System, order_id: str, reason: str) -> bool:
    return (await shipment(http, system, order_id))["held"] == reason


async def _overdue_on_the_order(http: httpx.AsyncClient, system: System, order_id: str) -> bool:
    order = (await http.get(f"{system.orders_url}/orders/{order_id}")).json()
    return order["overdue_deadline"] == "2026-07-03"


@pytest.mark.parametrize(("outcome", "report", "shown"), [
    ("delivered_with_reservations", {"reservations": "2 bottles broken"},
     {"outcome": "delivered_with_reservations", "reservations": "2 bottles broken"}),
    ("refused", {"reservations": "parcel opened"},
     {"outcome": "refused", "reservations": "parcel opened"}),
    ("absent", {"collection_point": "Relais Thuir", "collect_by": "2026-07-20"},
     {"outcome": "absent", "collection_point": "Relais Thuir", "collect_by": "2026-07-20"}),
    ("returned_to_sender", {}, {"outcome": "returned_to_sender"}),
])
async def test_each_outcome_at_the_door_is_recorded_and_shown(
        outcome: str, report: dict, shown: dict, http: httpx.AsyncClient,
        system: System) -> None:
    order_id = await confirmed_order(http, system)
    now = dt.datetime.fromisoformat(clock(system, "show"))
    if "collect_by" in report:  # a day after the attempt, whenever the shared clock stands
        collect_by = (now.astimezone(PARIS).date() + dt.timedelta(days=10)).isoformat()
        report, shown = {**report, "collect_by": collect_by}, {**shown, "collect_by": collect_by}

    result = await shipped_and_delivered(http, system, order_id, now.isoformat(), outcome,
                                         **report)

    assert {key: result[key] for key in shown} == shown
    clock(system, "advance", "1d")
    again = await http.post(f"{system.fulfilment_url}/deliveries/{order_id}",
                            headers=bearer("carrier"), json={
                                "outcome": "delivered",
                                "at": (now + dt.timedelta(days=1)).isoformat()})
    # after a final outcome, or a parcel back at the warehouse, no report; an absent buyer's
    # parcel may still be delivered
    assert again.status_code == (200 if outcome == "absent" else 409)


@pytest.mark.parametrize("kind", ["reservations_confirmation", "return_request",
                                  "incorrect_delivery", "conformity"])
async def test_a_claim_in_its_window_is_recorded_and_one_day_late_is_refused(
        kind: str, http: httpx.AsyncClient, system: System) -> None:
    from services.fulfilment.claims import WINDOWS

    outcome = ("delivered_with_reservations" if kind == "reservations_confirmation"
               else "delivered")
    on_time, late = await confirmed_order(http, system), await confirmed_order(http, system)
    # the late order is delivered now; the clock then moves to the day after its window
    # (for conformity, two years on), when the on-time order is delivered
    delivered = await shipped_and_delivered(http, system, late, clock(system, "show"),
                                            outcome, reservations="1 bottle broken")
    window_ends = WINDOWS[kind](dt.date.fromisoformat(delivered["outcome_on"]))
    clock(system, "set", f"{(window_ends + dt.timedelta(days=1)).isoformat()}T11:00")
    await shipped_and_delivered(http, system, on_time, clock(system, "show"), outcome,
                                reservations="1 bottle broken")
    today = dt.datetime.fromisoformat(clock(system, "show")).astimezone(
        ZoneInfo("Europe/Paris")).date()

    accepted = await http.post(f"{system.fulfilment_url}/claims/{on_time}",
                               json={"kind": kind, "detail": "see photos"})
    refused = await http.post(f"{system.fulfilment_url}/claims/{late}", json={"kind": kind})

    assert accepted.status_code == 201, accepted.text
    [claim] = accepted.json()
    assert (claim["kind"], claim["window_ends"] >= today.isoformat()) == (kind, True)
    assert (claim["exchange_reference"] is not None) == (kind == "incorrect_delivery")
    assert refused.status_code == 409 and "window ended on" in refused.json()["detail"]
    waiting = (await http.get(f"{system.fulfilment_url}/claims", headers=bearer("ops"))).json()
    assert (on_time, kind) in {(c["order_id"], c["kind"]) for c in waiting}
    answered = await http.post(f"{system.fulfilment_url}/claims/{on_time}/answer",
                               headers=bearer("ops"), json={"kind": kind, "answer": "agreed"})
    assert answered.status_code == 200 and answered.json()[0]["answer"] == "agreed"


async def test_a_question_about_an_order_on_its_way_is_listed_until_answered_then_another(
        http: httpx.AsyncClient, system: System) -> None:
    # given a confirmed order, not delivered yet
    order_id = await confirmed_order(http, system)
    # when the buyer asks about its follow-up
    asked = await http.post(f"{system.fulfilment_url}/claims/{order_id}",
                            json={"kind": "inquiry", "detail": "when will it come?"})
    again = await http.post(f"{system.fulfilment_url}/claims/{order_id}",
                            json={"kind": "inquiry", "detail": "hello?"})
    # then it waits for the shop's answer, listed with its working days (one at a time)
    assert asked.status_code == 201, asked.text
    assert again.status_code == 409 and "waiting" in again.json()["detail"]
    waiting = (await http.get(f"{system.fulfilment_url}/claims", headers=bearer("ops"))).json()
    [listed] = [c for c in waiting if c["order_id"] == order_id]
    assert (listed["kind"], listed["detail"], listed["working_days_waited"]) == (
        "inquiry", "when will it come?", 0)
    assert listed["answer_due"] > listed["claimed_on"]
    answered = await http.post(f"{system.fulfilment_url}/claims/{order_id}/answer",
                               headers=bearer("ops"),
                               json={"kind": "inquiry", "answer": "it ships tomorrow"})
    assert answered.status_code == 200, answered.text
    waiting = (await http.get(f"{system.fulfilment_url}/claims", headers=bearer("ops"))).json()
    assert order_id not in {c["order_id"] for c in waiting}
    # and the storefront shows the buyer the shop's answer
    shown = await http.get(f"{system.fulfilment_url}/claims/{order_id}")
    assert [(c["detail"], c["answer"]) for c in shown.json()] == [
        ("when will it come?", "it ships tomorrow")], shown.text
    unknown = await http.get(f"{system.fulfilment_url}/claims/{order_id}-unknown")
    assert unknown.status_code == 404, unknown.text
    # and, answered, the buyer may ask another
    later = await http.post(f"{system.fulfilment_url}/claims/{order_id}",
                            json={"kind": "inquiry", "detail": "still nothing"})
    assert later.status_code == 201, later.text
    assert [(c["detail"], c["answer"]) for c in later.json()] == [("still nothing", None)]


SAME_PRICE = "IGP-COTES-CATALANES-ROSE-2024"


async def test_an_unavailable_line_is_told_by_mail_and_cancelled_at_the_buyers_choice(
        http: httpx.AsyncClient, system: System) -> None:
    from deploy.smtp_sink import received
    from deploy.system import TEST_MAIL

    order = await with_a_sold_out_line(http, system)
    order_id = order["order_id"]

    cancelled = await http.post(f"{system.orders_url}/orders/{order_id}/lines/{SOLD_OUT}/"
                                "cancellation")
    again = await http.post(f"{system.orders_url}/orders/{order_id}/lines/{SOLD_OUT}/"
                            "cancellation")
    firm = await http.post(f"{system.orders_url}/orders/{order_id}/lines/"
                           "COTES-ROUSSILLON-ROUGE-2022/cancellation")

    notices = [m for m in received(TEST_MAIL) if f"unavailable.{SOLD_OUT}.{order_id}"
               in m["message_id"]]
    assert len(notices) == 1 and SOLD_OUT in notices[0]["text"]
    assert cancelled.status_code == 200, cancelled.text
    line = cancelled.json()["line_changes"][SOLD_OUT]
    assert (line["state"], line["cause"], line["refund_cents"]) == ("cancelled", "unavailable",
                                                                    3 * 690)
    assert again.status_code == 409 and firm.status_code == 409
    assert "the order is firm" in firm.json()["detail"]


async def test_an_unavailable_line_exchanged_for_a_wine_at_the_same_price_is_reserved(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = (await with_a_sold_out_line(http, system))["order_id"]

    dearer = await http.post(f"{system.orders_url}/orders/{order_id}/lines/{SOLD_OUT}/exchange",
                             json={"replacement_sku": "RIVESALTES-AMBRE-2012"})
    exchanged = await http.post(f"{system.orders_url}/orders/{order_id}/lines/{SOLD_OUT}/"
                                "exchange", json={"replacement_sku": SAME_PRICE})

    assert dearer.status_code == 409 and "same price" in dearer.json()["detail"]
    assert exchanged.status_code == 200, exchanged.text
    assert exchanged.json()["line_changes"][SOLD_OUT]["replacement_sku"] == SAME_PRICE
    await eventually(lambda: _reserved_line(http, system, order_id, SAME_PRICE))


async def _reserved_line(http: httpx.AsyncClient, system: System, order_id: str,
                         sku: str) -> bool:
    lines = (await http.get(f"{system.fulfilment_url}/reservations/{order_id}",
                            headers=bearer("ops"))).json()["lines"]
    return any(line["sku"] == sku and line["status"] == "reserved" for line in lines)


async def test_without_an_answer_in_time_the_unavailable_line_is_cancelled(
        http: httpx.AsyncClient, system: System) -> None:
    order_id = (await with_a_sold_out_line(http, system))["order_id"]
    await pay_on_bank_page(http, await session_for(http, system, order_id), APPROVED_CARD)
    # paid, so that moving the clock does not cancel the whole order as unpaid
    await eventually(lambda: status_is(http, system, order_id, "confirmed"))

    clock(system, "advance", "73h")  # the buyer had 72 hours

    await eventually(lambda: line_is(http, system, order_id, SOLD_OUT, "state", "cancelled"))


async def test_the_seller_cancels_a_blocked_orders_line_and_the_rest_stays_firm(
        http: httpx.AsyncClient, system: System) -> None:
    order = (await http.post(f"{system.orders_url}/orders", json=order_body())).json()
    order_id, ops = order["order_id"], bearer("ops")
    url = f"{system.orders_url}/orders/{order_id}/lines/MUSCAT-RIVESALTES-2023/cancellation"

    not_blocked = await http.post(url, headers=ops)
    await http.post(f"{system.orders_url}/orders/{order_id}/block", headers=ops,
                    json={"reason": "buyer_account_problem"})
    cancelled = await http.post(url, headers=ops)

    assert not_blocked.status_code == 409
    assert cancelled.status_code == 200, cancelled.text
    changes = cancelled.json()["line_changes"]
    assert list(changes) == ["MUSCAT-RIVESALTES-2023"]
    assert (changes["MUSCAT-RIVESALTES-2023"]["cause"],
            changes["MUSCAT-RIVESALTES-2023"]["refund_cents"]) == ("blocked", 2 * 1190)


async def test_a_parcel_returned_to_sender_ships_again_once_its_address_is_corrected(
        http: httpx.AsyncClient, system: System) -> None:
    # given a confirmed order whose parcel the carrier brought back to the seller
    order_id = await confirmed_order(http, system)
    now = dt.datetime.fromisoformat(clock(system, "show"))
    returned = await shipped_and_delivered(http, system, order_id, now.isoformat(),
                                           "returned_to_sender")
    assert (returned["outcome"], returned["address_to_correct"]) == ("returned_to_sender", True)
    # then nothing ships to the same address meanwhile
    reshipped = await http.post(f"{system.fulfilment_url}/shipments/{order_id}",
                                headers=bearer("warehouse"),
                                json={"carrier": "Colissimo", "tracking_number": "6A-AGAIN"})
    assert reshipped.status_code == 409, reshipped.text
    # when, two weeks on (the first deadline long past, the delivery not overdue for it), the
    # buyer gives the address again
    clock(system, "advance", "14d")
    order = (await http.get(f"{system.orders_url}/orders/{order_id}", headers=OPS)).json()
    corrected = await http.post(
        f"{system.orders_url}/buyers/{order['buyer_id']}/rectification", headers=OPS,
        json={"order_id": order_id, "delivery_address": {
            "recipient": "Jeanne Martin", "street": "14 rue des Vignes", "postcode": "66300",
            "city": "Thuir"}})
    assert corrected.status_code == 200, corrected.text
    # then the delivery is due 5 working days after the correction, and it is not overdue
    today = dt.datetime.fromisoformat(clock(system, "show")).astimezone(PARIS).date()

    async def restarted() -> dict | None:
        found = await shipment(http, system, order_id)
        return None if found["address_to_correct"] else found

    again = await eventually(restarted, what="the parcel free to ship again")
    deadline = delivery_deadline(today)
    assert (again["deadline_restarted_on"], again["deliver_by"], again["overdue_since"]) == (
        today.isoformat(), deadline.isoformat(), None)
    lines = (await http.get(f"{system.fulfilment_url}/reservations/{order_id}",
                            headers=bearer("warehouse"))).json()["lines"]
    assert {line["status"] for line in lines} == {"shipped"}
    before = {line["sku"]: await _shipped_stock(http, system, line["sku"]) for line in lines}
    # when that deadline passes too without a parcel, and the buyer terminates the contract
    clock(system, "set", f"{(deadline + dt.timedelta(days=1)).isoformat()}T09:00")
    await eventually(lambda: _overdue_since(http, system, order_id, deadline))
    terminated = await http.post(f"{system.orders_url}/orders/{order_id}/termination",
                                 json={"cause": "essential_date_missed"})
    assert terminated.status_code == 200, terminated.text
    # then the parcel's bottles are in stock again, and nothing ships for the order any more

    async def restocked() -> list[dict] | None:
        found = (await http.get(f"{system.fulfilment_url}/reservations/{order_id}",
                                headers=bearer("warehouse"))).json()["lines"]
        return found if {line["status"] for line in found} == {"restocked"} else None

    assert await eventually(restocked)
    for line in lines:
        assert await _shipped_stock(http, system, line["sku"]) == (
            before[line["sku"]] - line["quantity"])
    assert (await shipment(http, system, order_id))["held"] == "terminated"


async def _shipped_stock(http: httpx.AsyncClient, system: System, sku: str) -> int:
    stock = (await http.get(f"{system.fulfilment_url}/stock/{sku}",
                            headers=bearer("warehouse"))).json()
    return int(stock["shipped"])
