"""Personal data on real PostgreSQL: sealed with the buyer's key in the event and the read model,
opened at query time, and unreadable everywhere once the data subject's erasure destroyed the
key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import pytest

from contracts.orders import BuyerDataErased, OrderPlaced, PersonalDataRectified
from contracts.personal import ERASED, PersonalData
from services.orders import domain, handlers, rights
from services.orders.views import RESTRICTED, order_record, present
from services.platform.personal import PostgresKeyStore, open_sealed
from tests.component.conftest import context
from tests.component.support import recorded_events
from tests.component.test_orders_handlers import REQUEST

pytestmark = pytest.mark.asyncio(loop_scope="session")


def a_buyer() -> domain.OrderRequest:
    name = f"Zoé Test-{uuid.uuid4().hex[:8]}"
    return dataclasses.replace(REQUEST, buyer_id=f"buyer-{uuid.uuid4()}", delivery_address=(
        dataclasses.replace(REQUEST.delivery_address, recipient=name)))


async def place(conn, clock, request: domain.OrderRequest) -> str:
    return await handlers.place_order(conn, request, context(clock, "orders"),
                                      PostgresKeyStore(conn))


async def shown(conn, order_id: str, reveal: bool = False):
    record = await order_record(conn, order_id)
    assert record is not None
    [view] = await present(PostgresKeyStore(conn), [record], reveal_restricted=reveal)
    return view


async def test_the_event_and_the_read_model_hold_the_personal_data_only_sealed(
        orders_conn, clock) -> None:
    request = a_buyer()
    order_id = await place(orders_conn, clock, request)

    [placed] = await recorded_events(orders_conn, order_id)
    stored = await orders_conn.fetchval(
        "SELECT (SELECT envelope::text FROM events WHERE order_id = $1) || "
        "(SELECT o::text FROM order_view o WHERE order_id = $1)", order_id)
    assert request.delivery_address.recipient not in stored
    assert request.email not in stored
    assert isinstance(placed, OrderPlaced)
    opened = await open_sealed(PostgresKeyStore(orders_conn), placed.personal, PersonalData)
    assert opened is not None and opened.delivery_address.recipient == (
        request.delivery_address.recipient)


async def test_the_date_of_birth_and_the_billing_address_are_sealed_with_the_rest(
        orders_conn, clock) -> None:
    billing = domain.RequestedAddress(f"Compta-{uuid.uuid4().hex[:8]}", "BP 12", "66000",
                                      "Perpignan")
    request = dataclasses.replace(a_buyer(), date_of_birth=dt.date(1979, 11, 23),
                                  billing_address=billing)

    order_id = await place(orders_conn, clock, request)

    [placed] = await recorded_events(orders_conn, order_id)
    stored = await orders_conn.fetchval(
        "SELECT envelope::text FROM events WHERE order_id = $1", order_id)
    assert "1979-11-23" not in stored and billing.recipient not in stored
    assert isinstance(placed, OrderPlaced)
    opened = await open_sealed(PostgresKeyStore(orders_conn), placed.personal, PersonalData)
    assert opened is not None and opened.date_of_birth == dt.date(1979, 11, 23)
    assert opened.billing_address is not None and opened.billing_address.street == "BP 12"


async def test_a_buyers_orders_share_one_key_and_other_buyers_have_their_own(
        orders_conn, clock) -> None:
    first, second = a_buyer(), a_buyer()
    ids = [await place(orders_conn, clock, r) for r in (first, first, second)]
    keys = [(await order_record(orders_conn, i)).personal.key_id for i in ids]  # type: ignore[union-attr]
    assert keys[0] == keys[1] != keys[2]


async def test_erasure_records_it_on_every_order_and_leaves_amounts_and_dates(
        orders_conn, clock) -> None:
    request, other = a_buyer(), a_buyer()
    ids = [await place(orders_conn, clock, request) for _ in range(2)]
    bystander = await place(orders_conn, clock, other)

    receipt = await rights.erase_buyer_data(orders_conn, PostgresKeyStore(orders_conn),
                                            context(clock, "orders"), request.buyer_id)

    assert sorted(receipt.order_ids) == sorted(ids)
    for order_id in ids:
        assert (await recorded_events(orders_conn, order_id))[-1] == BuyerDataErased(
            buyer_id=request.buyer_id, erased_at=clock.now())
        view = await shown(orders_conn, order_id, reveal=True)
        assert (view.email, view.delivery_address.recipient, view.personal_data) == (
            ERASED, ERASED, "erased")
        assert view.total_cents == 2 * 1250 + 1190 + 990 and view.placed_at is not None
    assert (await shown(orders_conn, bystander)).delivery_address.recipient == (
        other.delivery_address.recipient)


async def test_a_buyer_who_orders_again_after_erasure_gets_a_new_key(orders_conn, clock) -> None:
    request = a_buyer()
    await place(orders_conn, clock, request)
    await rights.erase_buyer_data(orders_conn, PostgresKeyStore(orders_conn),
                                  context(clock, "orders"), request.buyer_id)

    again = await place(orders_conn, clock, request)

    assert (await shown(orders_conn, again)).delivery_address.recipient == (
        request.delivery_address.recipient)


async def test_rectification_records_the_corrected_fields_sealed(orders_conn, clock) -> None:
    request = a_buyer()
    order_id = await place(orders_conn, clock, request)
    changes = domain.PersonalDataChanges(email="new.address@example.org")

    await rights.rectify_personal_data(orders_conn, PostgresKeyStore(orders_conn),
                                       context(clock, "orders"), request.buyer_id, order_id,
                                       changes)

    assert isinstance((await recorded_events(orders_conn, order_id))[-1], PersonalDataRectified)
    view = await shown(orders_conn, order_id)
    assert (view.email, view.delivery_address.recipient) == (
        "new.address@example.org", request.delivery_address.recipient)


async def test_restricted_data_is_shown_to_the_buyer_and_auditors_only(orders_conn, clock) -> None:
    request = a_buyer()
    order_id = await place(orders_conn, clock, request)

    await rights.restrict_buyer_data(orders_conn, context(clock, "orders"), request.buyer_id)

    assert (await shown(orders_conn, order_id)).email == RESTRICTED
    revealed = await shown(orders_conn, order_id, reveal=True)
    assert revealed.email == request.email and revealed.restricted_until is not None
