"""The console's composition root: ``uvicorn --factory services.console.app:app`` (port 8000
under ``make run``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from contracts.topics import SERVICES
from services.console.access import COOKIE, ROLES, SignInRequiredError, signed_in
from services.console.live import Filters, follow
from services.console.pipeline import pipeline_state, redrive
from services.console.settings import ConsoleSettings
from services.console.timeline import timeline
from services.platform.auth import Principal, TokenVerifier
from services.platform.db import create_pool

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
Operator = Annotated[tuple[Principal, str], Depends(signed_in)]


def create_app(settings: ConsoleSettings) -> FastAPI:
    """The console on ``settings``: pools on the four stores, one HTTP client to the APIs."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pools = {s: await create_pool(settings.database_url_for(s), max_size=3)
                           for s in SERVICES}
        async with httpx.AsyncClient(timeout=10) as http:
            app.state.http = http
            yield
        for pool in app.state.pools.values():
            await pool.close()

    app = FastAPI(title="Wine shop console", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.settings, app.state.verifier = settings, TokenVerifier(settings)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(SignInRequiredError, _to_sign_in)
    app.include_router(_pages())
    return app


async def _to_sign_in(request: Request, _: Exception) -> Response:
    if request.headers.get("accept", "").startswith("text/event-stream"):
        return Response(status_code=401)
    return RedirectResponse("/login", status_code=303)


def _page(request: Request, name: str, operator: tuple[Principal, str],
          **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {
        "role": operator[0].role, "active": request.url.path, **context})


def _urls(settings: ConsoleSettings) -> dict[str, str]:
    return {"orders": settings.orders_url, "payments": settings.payments_url,
            "fulfilment": settings.fulfilment_url, "refunds": settings.refunds_url}


def _pages() -> Any:
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "login.html", {"error": None})

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request, token: Annotated[str, Form()]) -> Response:
        try:
            principal = request.app.state.verifier.principal(token.strip())
        except jwt.InvalidTokenError as error:
            return templates.TemplateResponse(request, "login.html", {"error": str(error)},
                                              status_code=401)
        if principal.role not in ROLES:
            return templates.TemplateResponse(request, "login.html", {
                "error": f"the role {principal.role} may not use the console"}, status_code=403)
        response = RedirectResponse("/streams", status_code=303)
        response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict",
                            secure=request.app.state.settings.cookie_secure)
        return response

    @router.get("/")
    async def home(operator: Operator) -> RedirectResponse:
        del operator
        return RedirectResponse("/streams", status_code=303)

    @router.get("/streams", response_class=HTMLResponse)
    async def streams(request: Request, operator: Operator, service: str = "", type: str = "",
                      order: str = "") -> HTMLResponse:
        filters = Filters(service, type, order)
        live_url = request.url_for("live").include_query_params(
            service=service, type=type, order=order)
        return _page(request, "streams.html", operator, title="Live streams", filters=filters,
                     services=SERVICES, live_url=str(live_url.path) + "?" + live_url.query)

    @router.get("/streams/live", name="live")
    async def live(request: Request, operator: Operator, service: str = "", type: str = "",
                   order: str = "") -> StreamingResponse:
        del operator
        filters = Filters(service, type, order)
        bootstrap = request.app.state.settings.kafka_bootstrap
        return StreamingResponse(_events(request, bootstrap, filters),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})

    @router.get("/orders")
    async def order_lookup(operator: Operator, order_id: str = "") -> RedirectResponse:
        del operator
        return RedirectResponse(f"/orders/{order_id.strip()}", status_code=303)

    @router.get("/orders/{order_id}", response_class=HTMLResponse)
    async def order_timeline(request: Request, operator: Operator,
                             order_id: str) -> HTMLResponse:
        state = request.app.state
        found = await timeline(state.pools, state.http, _urls(state.settings), operator[1],
                               order_id)
        return _page(request, "timeline.html", operator, title=f"Order {order_id}", t=found)

    @router.get("/refunds", response_class=HTMLResponse)
    async def refunds(request: Request, operator: Operator) -> HTMLResponse:
        state, token = request.app.state, operator[1]
        headers = {"Authorization": f"Bearer {token}"}
        overdue = await _json(state.http, f"{state.settings.refunds_url}/refunds/overdue",
                              headers)
        claims = await _json(state.http, f"{state.settings.fulfilment_url}/claims", headers)
        if isinstance(claims, list):
            claims = [c for c in claims if c["working_days_waited"] > 2]
        return _page(request, "refunds.html", operator, title="Refunds & claims",
                     overdue=overdue, claims=claims)

    @router.get("/pipeline", response_class=HTMLResponse)
    async def pipeline(request: Request, operator: Operator) -> HTMLResponse:
        state = await pipeline_state(request.app.state.settings, request.app.state.pools)
        return _page(request, "pipeline.html", operator, title="Pipeline", p=state)

    @router.post("/pipeline/dlq/redrive", response_class=HTMLResponse)
    async def redrive_dlq(request: Request, operator: Operator) -> HTMLResponse:
        if operator[0].role != "ops":  # auditors look; only operators act
            return HTMLResponse("<p class='bad'>only operators may re-drive</p>",
                                status_code=403)
        settings = request.app.state.settings
        outcome = await redrive(settings, request.app.state.pools)
        state = await pipeline_state(settings, request.app.state.pools)
        return templates.TemplateResponse(request, "dlq.html", {"p": state, "outcome": outcome})

    return router


async def _json(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    try:
        response = await http.get(url, headers=headers)
    except httpx.HTTPError as error:
        return {"unavailable": type(error).__name__}
    return response.json() if response.status_code == 200 else {"status": response.status_code}


async def _events(request: Request, bootstrap: str, filters: Filters) -> AsyncIterator[str]:
    row_template = templates.get_template("record_row.html")
    async for row in follow(bootstrap):
        if await request.is_disconnected():
            return
        if row is None:
            yield "event: status\ndata: <span class='ok'>● live</span>\n\n"
        elif filters.admit(row):
            html = row_template.render(r=row).replace("\n", "")
            yield f"event: record\ndata: {html}\n\n"


def app() -> FastAPI:
    """uvicorn's factory: settings from the environment."""
    return create_app(ConsoleSettings())
