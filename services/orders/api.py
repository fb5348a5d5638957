"""The orders service's HTTP API: request bodies, routes and the refusals of its domain errors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, ClassVar

import asyncpg
from fastapi import APIRouter, Path, Response
from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from contracts.personal import BUYER_ID_PATTERN, EMAIL_PATTERN, PHONE_PATTERN
from contracts.vocabulary import BlockReason, DeliveryMethod, Quantity, Sku
from services.orders import domain, handlers
from services.orders.after_sale import AfterSaleRefusedError
from services.orders.lines import LineRefusedError
from services.orders.views import (
    CatalogueView,
    OrderRecord,
    OrderView,
    catalogue,
    order_record,
    present,
)
from services.platform.auth import ROLES, Allow, Principal
from services.platform.http import (
    Body,
    Day,
    ProblemError,
    Refusal,
    Refusals,
    problem_responses,
)
from services.platform.idempotency import Answer, answer_once
from services.platform.personal import PostgresKeyStore
from services.platform.runtime import Runtime
from services.platform.service_app import IdempotencyKey, RuntimeDep, idempotency

__all__ = ["REFUSALS", "AddressBody", "Body", "OrderId", "router", "show"]

METROPOLITAN_POSTCODE = r"^(?:0[1-9]|[1-8][0-9]|9[0-5])[0-9]{3}$"
FRENCH_POSTCODE = r"^[0-9]{5}$"
AGE_STATED: list[dict[str, Any]] = [
    {"required": ["date_of_birth"], "properties": {"date_of_birth": {"type": "string"}}},
    {"required": ["declared_of_age"], "properties": {"declared_of_age": {"const": True}}},
]
"""The schema's way of saying "a date of birth, or ``declared_of_age: true``" (L.3342-1)."""
OrderId = Annotated[str, Path(min_length=1, max_length=100)]

REFUSALS: Refusals = {
    domain.InvalidOrderError: Refusal(422, "order-refused", "The order is refused"),
    domain.OfferConflictError: Refusal(409, "order-conflicts-with-offer",
                                       "The order does not match the current offer"),
    domain.OrderNotFoundError: Refusal(404, "order-not-found", "Order not found"),
    domain.OrderConflictError: Refusal(409, "order-conflict", "Conflict with the order's state"),
    AfterSaleRefusedError: Refusal(409, "refused-by-the-terms", "Refused by the terms"),
    LineRefusedError: Refusal(409, "line-conflict", "Not possible for this line"),
}
router = APIRouter(tags=["orders"], responses=problem_responses(400, 401, 403, 422))


class LineBody(Body):
    sku: Sku
    quantity: Quantity


class AddressBody(Body):
    """A delivery address in metropolitan France (Corsica included)."""

    recipient: str = Field(min_length=1, max_length=120)
    street: str = Field(min_length=1, max_length=200)
    street_extra: str | None = Field(default=None, max_length=200)
    postcode: str = Field(json_schema_extra={"pattern": METROPOLITAN_POSTCODE},
                          description="a postcode of metropolitan France, 01000–95999")
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(default="FR", json_schema_extra={"pattern": "^[Ff][Rr]$"})

    @field_validator("postcode", "country", mode="after")
    @classmethod
    def _in_metropolitan_france(cls, value: str, info: ValidationInfo) -> str:
        pattern = METROPOLITAN_POSTCODE if info.field_name == "postcode" else "^[Ff][Rr]$"
        if not re.fullmatch(pattern, value):  # said in the domain's words, not the regex's
            raise PydanticCustomError("outside_france", domain.OUTSIDE_FRANCE)
        return value

    def requested(self) -> domain.RequestedAddress:
        return domain.RequestedAddress(**self.model_dump())


class BillingAddressBody(Body):
    """Where the invoice is sent: any French postal address (a P.O. box will do)."""

    recipient: str = Field(min_length=1, max_length=120)
    street: str = Field(min_length=1, max_length=200)
    street_extra: str | None = Field(default=None, max_length=200)
    postcode: str = Field(pattern=FRENCH_POSTCODE, description="a French postcode")
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(default="FR", pattern="^[Ff][Rr]$")

    def requested(self) -> domain.RequestedAddress:
        return domain.RequestedAddress(**self.model_dump())


class PlaceOrderBody(Body):
    """An order as the buyer validates it. Alcohol is sold to adults only (L.3342-1): give
    ``date_of_birth`` or ``declared_of_age: true``; without either, or for a buyer under 18
    on the day of the order (Europe/Paris), the order is refused (422, naming
    ``date_of_birth``). A delivery address that may be a temporary residence is accepted but
    the order is blocked (``incorrect_address``) until an operator checks it."""

    ANY_OF: ClassVar[list[dict[str, Any]]] = AGE_STATED
    buyer_id: str = Field(pattern=BUYER_ID_PATTERN, max_length=100)
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    lines: list[LineBody] = Field(min_length=1, max_length=50)
    delivery_address: AddressBody
    delivery_method: DeliveryMethod
    accepted_terms_version: str = Field(min_length=1, max_length=64)
    declared_of_age: bool = Field(
        default=False, description="the buyer declares they are 18 or over (when no "
                                   "date_of_birth is given)")
    date_of_birth: Day | None = Field(
        default=None, validate_default=True,
        description="the buyer's date of birth (they must be 18 or over on the day of the "
                    "order, Europe/Paris)")
    billing_address: BillingAddressBody | None = Field(
        default=None, description="where the invoice is sent, if not the delivery address")
    accepted_total_cents: int | None = Field(
        default=None, ge=0, le=100_000_000, description=(
            "the total (products and delivery, in cents) the buyer saw and validated: an "
            "order whose total in force differs (a price or a delivery charge changed "
            "meanwhile) is refused with 409 and the total in force, so that the amounts "
            "recorded are the amounts accepted (Art. 5)"))

    @field_validator("date_of_birth", mode="after")
    @classmethod
    def _age_stated(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        """Neither a date of birth nor ``declared_of_age: true``: refused naming the date."""
        if value is None and info.data.get("declared_of_age") is not True:
            raise PydanticCustomError("age_not_stated", domain.NO_AGE)
        return value

    def request(self) -> domain.OrderRequest:
        return domain.OrderRequest(
            buyer_id=self.buyer_id, email=self.email, phone=self.phone,
            lines=tuple(domain.RequestedLine(line.sku, line.quantity) for line in self.lines),
            delivery_address=self.delivery_address.requested(),
            delivery_method=self.delivery_method,
            accepted_terms_version=self.accepted_terms_version,
            date_of_birth=self.date_of_birth, declared_of_age=self.declared_of_age,
            billing_address=self.billing_address.requested() if self.billing_address else None,
            accepted_total_cents=self.accepted_total_cents)


class BlockBody(Body):
    reason: BlockReason
    detail: str = Field(default="", max_length=500)


class UnblockBody(Body):
    resolution: str = Field(min_length=1, max_length=500)


@router.post("/orders", status_code=201, responses=problem_responses(409))
async def post_order(body: PlaceOrderBody, runtime: RuntimeDep, response: Response,
                     caller: Annotated[Principal, Allow("buyer", "shop")],
                     idempotency_key: IdempotencyKey = None) -> OrderView:
    """Place an order: the buyer's final validation, at the prices and terms in force. A buyer
    orders for themself; the storefront (``shop``) names the buyer it acts for."""
    if caller.role == "buyer" and body.buyer_id != caller.subject:
        raise ProblemError(403, "forbidden", "Not allowed for this buyer",
                           "a buyer places orders in their own name only")
    once = idempotency("POST /orders", idempotency_key, body.model_dump(mode="json"))

    async def place(conn: asyncpg.Connection) -> Answer:
        key = once.key if once else None
        order_id = await handlers.place_order(conn, body.request(), runtime.context,
                                              PostgresKeyStore(conn), key)
        return await _answer(conn, order_id, 201)

    # the answer kept for retries holds the sealed record, never personal data in clear
    answer = await answer_once(runtime.pool, once, place)
    response.headers["Location"] = f"/orders/{answer.body['order_id']}"
    return await show(runtime, OrderRecord.model_validate(answer.body), caller)


@router.get("/orders/{order_id}", responses=problem_responses(404))
async def get_order(order_id: OrderId, runtime: RuntimeDep,
                    caller: Annotated[Principal, Allow("buyer", "shop", "ops", "auditor")],
                    ) -> OrderView:
    """The order as the orders read model shows it (a buyer sees their own orders only)."""
    record = await order_record(runtime.pool, order_id)
    if record is None or (caller.role == "buyer" and record.buyer_id != caller.subject):
        raise ProblemError(404, "order-not-found", "Order not found", f"no order {order_id}")
    return await show(runtime, record, caller)


@router.post("/orders/{order_id}/block", responses=problem_responses(404, 409))
async def post_block(order_id: OrderId, body: BlockBody, runtime: RuntimeDep,
                     caller: Annotated[Principal, Allow("ops")]) -> OrderView:
    """Block the order until the problem is resolved (non-payment, address, buyer's account)."""
    command = domain.BlockOrder(body.reason, body.detail)
    return await _on_order(runtime, order_id, caller, lambda conn: handlers.block_order(
        conn, order_id, command, runtime.context))


@router.post("/orders/{order_id}/unblock", responses=problem_responses(404, 409))
async def post_unblock(order_id: OrderId, body: UnblockBody, runtime: RuntimeDep,
                       caller: Annotated[Principal, Allow("ops")]) -> OrderView:
    """Lift the order's block, saying how the problem was resolved."""
    command = domain.UnblockOrder(body.resolution)
    return await _on_order(runtime, order_id, caller, lambda conn: handlers.unblock_order(
        conn, order_id, command, runtime.context))


@router.get("/catalogue", tags=["catalogue"])
async def get_catalogue(runtime: RuntimeDep,
                        caller: Annotated[Principal, Allow(*ROLES)]) -> CatalogueView:
    """The wines on sale at their prices in force, the delivery charges and the current terms."""
    return await catalogue(runtime.pool, runtime.context.clock.now())


async def show(runtime: Runtime, record: OrderRecord, caller: Principal) -> OrderView:
    """The order with its personal fields opened for ``caller`` (restricted data only for the
    buyer themself and auditors)."""
    [view] = await present(PostgresKeyStore(runtime.pool), [record],
                           reveal_restricted=caller.role in ("buyer", "auditor"))
    return view


async def _on_order(runtime: Runtime, order_id: str, caller: Principal,
                    handle: Callable[[asyncpg.Connection], Awaitable[None]]) -> OrderView:
    """Run a command on an existing order in one transaction; answer with the order."""

    async def work(conn: asyncpg.Connection) -> Answer:
        await handle(conn)
        return await _answer(conn, order_id, 200)

    answer = await answer_once(runtime.pool, None, work)
    return await show(runtime, OrderRecord.model_validate(answer.body), caller)


async def _answer(conn: asyncpg.Connection, order_id: str, status: int) -> Answer:
    record = await order_record(conn, order_id)
    assert record is not None, "the order was just recorded in this transaction"
    return Answer(status, record.model_dump(mode="json"))
