"""The fulfilment service's HTTP API (queries) and its composition root."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from services.fulfilment.views import reservation, stock_level
from services.platform.http import (
    ProblemError,
    install_health_and_metrics,
    install_problem_handlers,
)
from services.platform.runtime import Runtime, service_runtime
from services.platform.settings import Settings, load_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings) -> FastAPI:
    """Wire the fulfilment service: runtime (db, topics, relay) and query routes."""
    state: dict[str, Runtime] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with service_runtime(settings, MIGRATIONS) as runtime:
            state["runtime"] = runtime
            yield

    app = FastAPI(title="Fulfilment service", version=settings.build, lifespan=lifespan)
    install_problem_handlers(app)
    install_health_and_metrics(app, "fulfilment", lambda: state["runtime"].ready())

    @app.get("/reservations/{order_id}", tags=["fulfilment"])
    async def get_reservation(order_id: str) -> dict[str, Any]:
        found = await reservation(state["runtime"].pool, order_id)
        if found is None:
            raise ProblemError(404, "reservation-not-found", "No reservation for this order",
                               f"fulfilment has not processed order {order_id}")
        return found

    @app.get("/stock/{sku}", tags=["fulfilment"])
    async def get_stock(sku: str) -> dict[str, Any]:
        found = await stock_level(state["runtime"].pool, sku)
        if found is None:
            raise ProblemError(404, "sku-not-found", "Unknown SKU", f"no stock line for {sku}")
        return found

    return app


def app_from_env() -> FastAPI:
    """The app as ``uvicorn --factory services.fulfilment.api:app_from_env`` runs it."""
    return create_app(load_settings("fulfilment"))
