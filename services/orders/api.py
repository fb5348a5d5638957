"""The orders service's HTTP API and its composition root."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events import DeliveryAddress
from services.orders import domain, handlers
from services.orders.views import offer_at, order_view
from services.platform.clock import Clock, SystemClock
from services.platform.commands import Idempotency
from services.platform.eventstore import ConcurrencyError
from services.platform.http import (
    FieldError,
    ProblemError,
    StoredResponse,
    install_health_and_metrics,
    install_problem_handlers,
    request_hash,
)
from services.platform.runtime import Runtime, service_runtime
from services.platform.settings import Settings, load_settings

MIGRATIONS = Path(__file__).parent / "migrations"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Body(BaseModel):
    """Request bodies refuse unknown fields (a typo is an error, not a silent no-op) and
    control characters in text (PostgreSQL cannot store NUL; none belongs in an order)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _printable(cls, value: object) -> object:
        if isinstance(value, str) and _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value


class LineBody(Body):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=120)


class AddressBody(Body):
    recipient: str = Field(min_length=1, max_length=120)
    street: str = Field(min_length=1, max_length=200)
    street_extra: str | None = Field(default=None, max_length=200)
    postcode: str = Field(min_length=1, max_length=12)
    city: str = Field(min_length=1, max_length=100)
    country: str = Field(default="FR", min_length=2, max_length=2)


class PlaceOrderBody(Body):
    buyer_id: str = Field(min_length=1, max_length=100)
    lines: list[LineBody] = Field(min_length=1, max_length=50)
    delivery_address: AddressBody
    delivery_method: Literal["standard", "express"]
    accepted_terms_version: str = Field(min_length=1, max_length=64)


class BlockBody(Body):
    reason: Literal["non_payment", "incorrect_address", "buyer_account_problem"]
    detail: str = Field(default="", max_length=500)


class UnblockBody(Body):
    resolution: str = Field(min_length=1, max_length=500)


def create_app(settings: Settings, clock: Clock) -> FastAPI:
    """Wire the orders service: runtime (db, topics, relay), handlers and routes."""
    runtimes: list[Runtime] = []

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings, MIGRATIONS) as runtime:
            runtimes.append(runtime)
            yield

    def ctx() -> handlers.OrdersContext:
        runtime = runtimes[-1]
        return handlers.OrdersContext(runtime.pool, clock, runtime.producer)

    app = FastAPI(title="Orders service", version=settings.build, lifespan=lifespan)
    install_problem_handlers(app)
    install_health_and_metrics(app, "orders", lambda: runtimes[-1].ready())
    _routes(app, ctx)
    return app


def _routes(app: FastAPI, ctx: Any) -> None:
    @app.post("/orders", status_code=201, tags=["orders"])
    async def post_order(body: PlaceOrderBody, request: Request,
                         idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
                         ) -> JSONResponse:
        idempotency = (Idempotency(f"POST /orders {idempotency_key}", request_hash(body))
                       if idempotency_key else None)
        lines = [domain.RequestedLine(line.sku, line.quantity) for line in body.lines]
        async with _domain_errors():
            address = _address(body.delivery_address)
            response = await handlers.place_order(
                ctx(), body.buyer_id, lines, address, body.delivery_method,
                body.accepted_terms_version, idempotency)
        return _json(response, location=f"/orders/{response.body['order_id']}")

    @app.get("/orders/{order_id}", tags=["orders"])
    async def get_order(order_id: str) -> JSONResponse:
        view = await order_view(ctx().pool, order_id)
        if view is None:
            raise ProblemError(404, "order-not-found", "Order not found", f"no order {order_id}")
        return JSONResponse(view)

    @app.post("/orders/{order_id}/block", tags=["orders"])
    async def post_block(order_id: str, body: BlockBody) -> JSONResponse:
        async with _domain_errors():
            response = await handlers.block_order(
                ctx(), order_id, domain.BlockOrder(body.reason, body.detail))
        return _json(response)

    @app.post("/orders/{order_id}/unblock", tags=["orders"])
    async def post_unblock(order_id: str, body: UnblockBody) -> JSONResponse:
        async with _domain_errors():
            response = await handlers.block_order(
                ctx(), order_id, domain.UnblockOrder(body.resolution))
        return _json(response)

    @app.get("/catalogue", tags=["catalogue"])
    async def get_catalogue() -> dict[str, Any]:
        offer = await offer_at(ctx().pool, ctx().clock.now())
        return {"terms_version": offer.terms_version,
                "delivery_charges_cents": dict(offer.delivery_charges),
                "items": [vars(item) for item in offer.items.values()]}


def _address(body: AddressBody) -> DeliveryAddress:
    if body.country.upper() != "FR":
        raise domain.InvalidOrderError("delivery_address.country", domain.OUTSIDE_FRANCE)
    return DeliveryAddress(**body.model_dump(exclude={"country"}), country="FR")


@contextlib.asynccontextmanager
async def _domain_errors() -> AsyncIterator[None]:
    try:
        yield
    except domain.InvalidOrderError as error:
        raise ProblemError(422, "order-refused", "The order is refused", str(error),
                           [FieldError(error.field, error.reason)]) from None
    except domain.OrderNotFoundError as error:
        raise ProblemError(404, "order-not-found", "Order not found", str(error)) from None
    except domain.OrderConflictError as error:
        raise ProblemError(409, "order-conflict", "Conflict with the order's state",
                           str(error)) from None
    except ConcurrencyError:
        raise ProblemError(409, "concurrent-modification", "The order changed concurrently",
                           "Another command changed this order first; reload and retry.",
                           ) from None


def _json(response: StoredResponse, location: str | None = None) -> JSONResponse:
    headers = {"Location": location} if location else None
    return JSONResponse(response.body, status_code=response.status, headers=headers)


def app_from_env() -> FastAPI:
    """The app as ``uvicorn --factory services.orders.api:app_from_env`` runs it."""
    return create_app(load_settings("orders"), SystemClock())
