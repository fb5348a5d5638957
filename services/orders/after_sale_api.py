"""Routes of the buyer's notices on a placed order: unavailable lines (cancel or exchange), and
after the sale the performance request, termination, withdrawal and its proof of dispatch.
Refusals name the rule and the date it allowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Path
from pydantic import Field

from contracts.vocabulary import LineQuantity, Quantity, Sku
from services.orders import after_sale, handlers, lines
from services.orders.api import OrderId, show
from services.orders.views import OrderRecord, OrderView, order_record
from services.platform.auth import Allow, Principal
from services.platform.http import Body, Day, ProblemError, problem_responses
from services.platform.idempotency import Answer, answer_once
from services.platform.runtime import Runtime
from services.platform.service_app import RuntimeDep

__all__ = ["router"]

router = APIRouter(tags=["after the sale"],
                   responses=problem_responses(400, 401, 403, 404, 409, 422))
Buyer = Annotated[Principal, Allow("buyer", "shop")]


class PerformanceBody(Body):
    perform_by: Day = Field(description="the end of the additional period given")


class WithdrawnLine(Body):
    sku: Sku
    quantity: Quantity


class WithdrawalBody(Body):
    lines: list[WithdrawnLine] | None = Field(default=None, min_length=1, max_length=50,
                                              description="none: every delivered line")


class DispatchBody(Body):
    dispatched_on: Day


@router.post("/orders/{order_id}/performance-request")
async def post_performance_request(order_id: OrderId, body: PerformanceBody,
                                   runtime: RuntimeDep, caller: Buyer) -> OrderView:
    """After the delivery deadline passed, ask for delivery within an additional period."""
    return await _notice(runtime, order_id, caller,
                         _given(after_sale.RequestPerformance(body.perform_by)))


class TerminationBody(Body):
    cause: Literal["late_delivery", "manifest_non_delivery", "essential_date_missed"] = Field(
        default="late_delivery",
        description="late_delivery: after the additional period; manifest_non_delivery: at "
                    "once, a product being unavailable; essential_date_missed: at once, the "
                    "date being essential")


@router.post("/orders/{order_id}/termination")
async def post_termination(order_id: OrderId, runtime: RuntimeDep, caller: Buyer,
                           body: TerminationBody | None = None) -> OrderView:
    """Terminate the contract (Art. 11): effective on receipt; all sums paid are owed back
    within 14 days."""
    cause = body.cause if body else "late_delivery"
    return await _notice(runtime, order_id, caller, _given(after_sale.Terminate(cause)))


@router.post("/orders/{order_id}/withdrawal")
async def post_withdrawal(order_id: OrderId, body: WithdrawalBody, runtime: RuntimeDep,
                          caller: Buyer) -> OrderView:
    """Withdraw within 14 working days of delivery (Art. 16): the products withdrawn and the
    initial delivery up to the cheapest standard delivery are owed back."""
    lines = (tuple(LineQuantity(sku=line.sku, quantity=line.quantity) for line in body.lines)
             if body.lines else None)

    async def command(conn: asyncpg.Connection) -> after_sale.AfterSaleCommand:
        return after_sale.Withdraw(lines, await handlers.cheapest_standard_delivery(conn))

    return await _notice(runtime, order_id, caller, command)


@router.post("/orders/{order_id}/withdrawal/proof-of-dispatch")
async def post_proof_of_dispatch(order_id: OrderId, body: DispatchBody, runtime: RuntimeDep,
                                 caller: Buyer) -> OrderView:
    """The buyer's proof that the withdrawn goods were sent back (it may bring the refund
    deadline forward)."""
    return await _notice(runtime, order_id, caller,
                         _given(after_sale.RecordProofOfDispatch(body.dispatched_on)))


class ExchangeBody(Body):
    replacement_sku: Sku = Field(description="an equivalent wine at the same price")


SkuPath = Annotated[Sku, Path()]


@router.post("/orders/{order_id}/lines/{sku}/cancellation")
async def post_line_cancellation(order_id: OrderId, sku: SkuPath, runtime: RuntimeDep,
                                 caller: Annotated[Principal, Allow("buyer", "shop", "ops")],
                                 ) -> OrderView:
    """Cancel a line: the buyer's choice for an unavailable one; the seller's (ops) for a
    blocked order, the rest staying firm. The line's price is owed back."""
    by: Literal["buyer", "seller"] = "seller" if caller.role == "ops" else "buyer"
    return await _notice(runtime, order_id, caller, _given(lines.CancelLine(sku, by)))


@router.post("/orders/{order_id}/lines/{sku}/exchange")
async def post_line_exchange(order_id: OrderId, sku: SkuPath, body: ExchangeBody,
                             runtime: RuntimeDep, caller: Buyer) -> OrderView:
    """Take an equivalent wine at the same price instead of an unavailable line."""

    async def command(conn: asyncpg.Connection) -> lines.LineCommand:
        price = await handlers.price_in_force(conn, body.replacement_sku,
                                              runtime.context.clock.now())
        if price is None:
            raise ProblemError(409, "unknown-product", "Not in the catalogue",
                               f"the shop does not sell {body.replacement_sku}")
        return lines.ExchangeLine(sku, body.replacement_sku, price)

    return await _notice(runtime, order_id, caller, command)


Command = after_sale.AfterSaleCommand | lines.LineCommand
CommandOf = Callable[[asyncpg.Connection], Awaitable[Command]]


def _given(command: Command) -> CommandOf:
    async def fixed(conn: asyncpg.Connection) -> Command:
        del conn
        return command

    return fixed


async def _notice(runtime: Runtime, order_id: str, caller: Principal,
                  command_of: CommandOf) -> OrderView:
    """Record the buyer's notice on their order (another buyer's is not found)."""

    async def work(conn: asyncpg.Connection) -> Answer:
        record = await order_record(conn, order_id)
        if record is None or (caller.role == "buyer" and record.buyer_id != caller.subject):
            raise ProblemError(404, "order-not-found", "Order not found", f"no order {order_id}")
        await handlers.handle(conn, order_id, await command_of(conn), runtime.context)
        updated = await order_record(conn, order_id)
        assert updated is not None
        return Answer(200, updated.model_dump(mode="json"))

    answer = await answer_once(runtime.pool, None, work)
    return await show(runtime, OrderRecord.model_validate(answer.body), caller)
