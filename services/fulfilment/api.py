"""The fulfilment service's HTTP API: reservations and stock, shipments, the carrier's reports
and the suspension of delivery deadlines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ClassVar

import asyncpg
from fastapi import APIRouter, Depends, Path
from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from contracts.fulfilment import SuspensionKind
from contracts.policies import paris_date
from contracts.vocabulary import Sku
from services.fulfilment import handlers
from services.fulfilment.claims import ClaimKind
from services.fulfilment.shipping import (
    Outcome,
    ReceiveReturn,
    ReportDelivery,
    Ship,
    ShippingCommand,
    ShippingConflictError,
)
from services.fulfilment.views import (
    ClaimView,
    OverdueDelivery,
    ReservationView,
    ShipmentView,
    StockLevel,
    claims,
    overdue_deliveries,
    reservation,
    shipment,
    stock_level,
)
from services.platform.auth import Allow, Principal
from services.platform.eventstore import load_stream
from services.platform.http import (
    Body,
    Day,
    Instant,
    ProblemError,
    Refusal,
    Refusals,
    problem_responses,
)
from services.platform.idempotency import Answer, answer_once
from services.platform.personal import KeyStore
from services.platform.runtime import Runtime
from services.platform.service_app import RuntimeDep, collaborators_of

__all__ = ["REFUSALS", "router"]

OrderId = Annotated[str, Path(min_length=1, max_length=100)]
REFUSALS: Refusals = {
    ShippingConflictError: Refusal(409, "shipping-conflict", "Not possible at this stage"),
}
router = APIRouter(tags=["fulfilment"], responses=problem_responses(400, 401, 403, 404, 422))
Caller = Annotated[Principal, Allow("shop", "ops", "warehouse", "auditor")]
Keys = Annotated[KeyStore, Depends(collaborators_of)]
"""The key store: what is written about claims is sealed under the order's claims key."""


@router.get("/reservations/{order_id}")
async def get_reservation(order_id: OrderId, runtime: RuntimeDep,
                          caller: Caller) -> ReservationView:
    """What fulfilment set aside for the order (``StockReserved``, ``ItemUnavailable``)."""
    found = await reservation(runtime.pool, order_id)
    if found is None:
        raise ProblemError(404, "reservation-not-found", "No reservation for this order",
                           f"fulfilment has not processed order {order_id}")
    return found


@router.get("/stock/{sku}")
async def get_stock(sku: Annotated[Sku, Path()], runtime: RuntimeDep,
                    caller: Caller) -> StockLevel:
    """On hand, reserved and available bottles of a wine."""
    found = await stock_level(runtime.pool, sku)
    if found is None:
        raise ProblemError(404, "sku-not-found", "Unknown SKU", f"no stock line for {sku}")
    return found


class ShipmentBody(Body):
    carrier: str = Field(min_length=1, max_length=100)
    tracking_number: str = Field(min_length=1, max_length=100)


NOTICE_LEFT: list[dict[str, Any]] = [
    {"properties": {"outcome": {"not": {"const": "absent"}}}},
    {"required": ["collection_point", "collect_by"],
     "properties": {"collection_point": {"type": "string"}, "collect_by": {"type": "string"}}},
]
"""The schema's way of saying "an absent buyer's notice says where and until when"."""
NOTICE_INCOMPLETE = ("the buyer was absent: the notice says at which collection point the parcel "
                     "waits (collection_point) and until when (collect_by)")


class DeliveryBody(Body):
    """The carrier's report; ``reservations`` notes damage or missing items (or why the parcel
    was refused); an absent buyer's parcel waits at ``collection_point`` until ``collect_by``
    (both required then)."""

    ANY_OF: ClassVar[list[dict[str, Any]]] = NOTICE_LEFT
    outcome: Outcome
    at: Instant
    reservations: str | None = Field(default=None, max_length=500)
    collection_point: str | None = Field(default=None, min_length=1, max_length=200)
    collect_by: Day | None = Field(default=None, validate_default=True)

    @field_validator("collect_by", mode="after")
    @classmethod
    def _notice_complete(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        """An absent buyer's report without where or until when: refused naming collect_by."""
        if info.data.get("outcome") == "absent" and (
                value is None or info.data.get("collection_point") is None):
            raise PydanticCustomError("notice_incomplete", NOTICE_INCOMPLETE)
        return value


class ReturnBody(Body):
    complete: bool = Field(description="complete and in the original condition")
    reason: str | None = Field(default=None, max_length=500)


class ClaimBody(Body):
    kind: ClaimKind
    detail: str = Field(default="", max_length=1000)


class AnswerBody(Body):
    kind: ClaimKind
    answer: str = Field(min_length=1, max_length=2000)


class SuspensionBody(Body):
    """A suspended period: ``days`` calendar days from ``first_day`` (so that every period the
    schema allows is a real one)."""

    first_day: Day
    days: int = Field(ge=1, le=366)
    reason: str = Field(min_length=1, max_length=500)
    kind: SuspensionKind = Field(default="force_majeure", description=(
        "force_majeure: declared at any time, also once begun or over (a delivery found late "
        "meanwhile is then not late); closure: announced, so recorded by its first day (else "
        "409)"))


@router.post("/shipments/{order_id}", status_code=201, responses=problem_responses(409))
async def post_shipment(order_id: OrderId, body: ShipmentBody, runtime: RuntimeDep,
                        caller: Annotated[Principal, Allow("warehouse")]) -> ShipmentView:
    """The warehouse hands a confirmed order to the carrier (``Shipped``); refused before the
    sale is final, for a blocked, cancelled or terminated order, or twice."""
    return await _shipping(runtime, order_id, Ship(body.carrier, body.tracking_number))


@router.get("/shipments/{order_id}")
async def get_shipment(order_id: OrderId, runtime: RuntimeDep,
                       caller: Annotated[Principal, Allow("shop", "ops", "warehouse", "carrier",
                                                          "auditor")]) -> ShipmentView:
    """The order's delivery deadline, shipment and outcome at the door."""
    found = await shipment(runtime.pool, order_id)
    if found is None:
        raise ProblemError(404, "shipment-not-found", "No shipment for this order",
                           f"order {order_id} is not confirmed, or unknown")
    return found


@router.post("/deliveries/{order_id}", responses=problem_responses(409))
async def post_delivery(order_id: OrderId, body: DeliveryBody, runtime: RuntimeDep,
                        caller: Annotated[Principal, Allow("carrier")]) -> ShipmentView:
    """The carrier's report of the outcome at the buyer's door; refused (409) for an order
    never shipped or after a final outcome, or dated (in Paris) before the day its parcel
    left or after today."""
    command = ReportDelivery(body.outcome, body.at, body.reservations, body.collection_point,
                             body.collect_by)
    return await _shipping(runtime, order_id, command)


@router.post("/returns/{order_id}", responses=problem_responses(409))
async def post_return(order_id: OrderId, body: ReturnBody, runtime: RuntimeDep,
                      caller: Annotated[Principal, Allow("warehouse")]) -> ShipmentView:
    """The warehouse received the withdrawn goods back (``ReturnReceived``)."""
    return await _shipping(runtime, order_id, ReceiveReturn(body.complete, body.reason))


@router.post("/claims/{order_id}", status_code=201, responses=problem_responses(409))
async def post_claim(order_id: OrderId, body: ClaimBody, runtime: RuntimeDep, keys: Keys,
                     caller: Annotated[Principal, Allow("shop", "ops")]) -> list[ClaimView]:
    """The buyer's claim about the delivery (through the storefront or ops), refused with the
    day its window ended when late; an incorrect delivery gets an exchange reference. Kind
    ``inquiry``: a question about the order's follow-up, at any time of its life, answered
    within 2 working days like a claim (another is taken once the shop answered the one
    waiting)."""
    return await _claim(runtime, keys, order_id, lambda conn: handlers.record_claim(
        conn, order_id, body.kind, body.detail, keys, runtime.context))


@router.post("/claims/{order_id}/answer", responses=problem_responses(409))
async def post_answer(order_id: OrderId, body: AnswerBody, runtime: RuntimeDep, keys: Keys,
                      caller: Annotated[Principal, Allow("ops")]) -> list[ClaimView]:
    """The shop's answer to a claim (due within 2 working days)."""
    return await _claim(runtime, keys, order_id, lambda conn: handlers.answer_claim(
        conn, order_id, body.kind, body.answer, keys, runtime.context))


@router.get("/claims")
async def get_claims(runtime: RuntimeDep, keys: Keys,
                     caller: Annotated[Principal, Allow("ops", "auditor")]) -> list[ClaimView]:
    """Claims still waiting for an answer, with how many working days they have waited (the
    answer is due within 2)."""
    return await claims(runtime.pool, keys, _today(runtime), waiting_only=True)


@router.get("/claims/{order_id}", responses=problem_responses(404))
async def get_order_claims(order_id: OrderId, runtime: RuntimeDep, keys: Keys,
                           caller: Annotated[Principal, Allow("shop", "ops", "auditor")],
                           ) -> list[ClaimView]:
    """The order's claims and questions, the latest of each kind, each with the shop's answer
    once given: how the storefront shows the buyer what the shop answered."""
    async with runtime.pool.acquire() as conn:
        if (await load_stream(conn, order_id)).version == 0:
            raise ProblemError(404, "order-not-found", "Fulfilment knows no such order",
                               f"fulfilment has not processed order {order_id}")
        return await claims(conn, keys, _today(runtime), order_id=order_id)


@router.get("/overdue-deliveries")
async def get_overdue(runtime: RuntimeDep,
                      caller: Annotated[Principal, Allow("ops", "auditor")],
                      ) -> list[OverdueDelivery]:
    """Orders past their delivery deadline, not delivered, and how late they are."""
    return await overdue_deliveries(runtime.pool, _today(runtime))


@router.post("/deadline-suspensions", status_code=201, responses=problem_responses(409))
async def post_suspension(body: SuspensionBody, runtime: RuntimeDep,
                          caller: Annotated[Principal, Allow("ops")]) -> SuspensionBody:
    """Record a force-majeure event or an announced closure: delivery deadlines are suspended
    for its working days."""

    async def work(conn: asyncpg.Connection) -> Answer:
        last_day = body.first_day + dt.timedelta(days=body.days - 1)
        await handlers.suspend_deadlines(conn, body.first_day, last_day, body.reason,
                                         body.kind, runtime.context)
        return Answer(201, body.model_dump(mode="json"))

    return SuspensionBody.model_validate((await answer_once(runtime.pool, None, work)).body)


def _today(runtime: Runtime) -> dt.date:
    return paris_date(runtime.context.clock.now())


async def _claim(runtime: Runtime, keys: KeyStore, order_id: str,
                 record: Callable[[asyncpg.Connection], Awaitable[None]]) -> list[ClaimView]:
    async def work(conn: asyncpg.Connection) -> Answer:
        await record(conn)
        found = await claims(conn, keys, _today(runtime), order_id=order_id)
        return Answer(200, {"claims": [claim.model_dump(mode="json") for claim in found]})

    body = (await answer_once(runtime.pool, None, work)).body
    return [ClaimView.model_validate(claim) for claim in body["claims"]]


async def _shipping(runtime: Runtime, order_id: str, command: ShippingCommand) -> ShipmentView:
    async def work(conn: asyncpg.Connection) -> Answer:
        await handlers.handle(conn, order_id, command, runtime.context)
        found = await shipment(conn, order_id)
        assert found is not None, "a shipping event was just projected"
        return Answer(200, found.model_dump(mode="json"))

    return ShipmentView.model_validate((await answer_once(runtime.pool, None, work)).body)
