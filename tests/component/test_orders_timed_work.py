"""The orders worker's timed work on real PostgreSQL and a real SMTP server (aiosmtpd in
process): unpaid orders are cancelled when their time is up, and a confirmation goes out once
per paid order, even when the mail server was down at first."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import uuid

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

from contracts.orders import ConfirmationSent, OrderCancelled, OrderConfirmed, OrderPaid
from services.orders import domain, handlers
from services.orders.confirmation import send_confirmations
from services.orders.settings import OrdersSettings
from services.orders.subscriptions import unpaid_orders_sweep
from services.platform.personal import PostgresKeyStore
from services.platform.sweep import sweep_once
from tests.component.conftest import context
from tests.component.support import recorded, recorded_events
from tests.component.test_orders_handlers import REQUEST

pytestmark = pytest.mark.asyncio(loop_scope="session")
TIMEOUT = dt.timedelta(hours=24)


async def place(pool: asyncpg.Pool, clock) -> str:
    request = dataclasses.replace(REQUEST, buyer_id=f"buyer-{uuid.uuid4()}")
    async with pool.acquire() as conn, conn.transaction():
        return await handlers.place_order(conn, request, context(clock, "orders"),
                                          PostgresKeyStore(conn))


async def test_an_unpaid_order_is_cancelled_when_its_time_is_up_and_not_before(
        orders_pool, clock) -> None:
    order_id = await place(orders_pool, clock)
    sweep, ctx = unpaid_orders_sweep(TIMEOUT), context(clock, "orders")

    clock.advance(TIMEOUT - dt.timedelta(minutes=1))
    await sweep_once(orders_pool, sweep, ctx)
    async with orders_pool.acquire() as conn:
        assert len(await recorded(conn, order_id)) == 1
    clock.advance(dt.timedelta(minutes=1))
    await sweep_once(orders_pool, sweep, ctx)
    await sweep_once(orders_pool, sweep, ctx)  # a second pass records nothing more

    async with orders_pool.acquire() as conn:
        assert (await recorded_events(conn, order_id))[1:] == [
            OrderCancelled(reason="unpaid", cancelled_at=clock.now())]


class Recorder(Sink):
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_a_paid_order_is_confirmed_by_mail_once_even_if_the_server_was_down(
        orders_pool, clock) -> None:
    order_id = await place(orders_pool, clock)
    ctx, keys = context(clock, "orders"), PostgresKeyStore(orders_pool)
    async with orders_pool.acquire() as conn, conn.transaction():
        [placed] = await recorded(conn, order_id)
        await handlers.handle(conn, order_id, domain.RecordPayment(
            f"{order_id}.aa", 4680, clock.now()), ctx, placed)
    settings = OrdersSettings(smtp_port=free_port(), smtp_timeout=2)

    assert await send_confirmations(orders_pool, ctx, keys, settings) == 0  # nobody listens
    recorder = Recorder()
    server = Controller(recorder, hostname="127.0.0.1", port=settings.smtp_port)
    server.start()
    try:
        sent = await send_confirmations(orders_pool, ctx, keys, settings)
        again = await send_confirmations(orders_pool, ctx, keys, settings)
    finally:
        server.stop()

    mine = [m for m in recorder.messages if order_id.encode() in m]
    assert (sent >= 1, again, len(mine)) == (True, 0, 1)
    assert b"jeanne.martin@example.org" in mine[0] and b"CGV-2026-01" in mine[0]
    async with orders_pool.acquire() as conn:
        events = await recorded_events(conn, order_id)
    assert [type(e) for e in events[1:]] == [OrderPaid, ConfirmationSent, OrderConfirmed]
