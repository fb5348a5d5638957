"""The fulfilment service's HTTP API: queries on reservations and stock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from contracts.vocabulary import Sku
from services.fulfilment.views import ReservationView, StockLevel, reservation, stock_level
from services.platform.auth import Allow, Principal
from services.platform.http import ProblemError, Refusals, problem_responses
from services.platform.service_app import RuntimeDep

__all__ = ["REFUSALS", "router"]

OrderId = Annotated[str, Path(min_length=1, max_length=100)]
REFUSALS: Refusals = {}
router = APIRouter(tags=["fulfilment"], responses=problem_responses(400, 401, 403, 404, 422))
Caller = Annotated[Principal, Allow("shop", "ops", "warehouse", "auditor")]


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
