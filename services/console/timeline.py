"""Any order's life across the four services: every event in time order with what caused it,
from the services' event stores (the log's source, read only), and the current state of each
read model as the services' own APIs show it to the operator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from contracts.topics import SERVICES
from services.platform.timeline import cause_id, in_time_order


@dataclass
class Timeline:
    """One order's events (oldest first) and each service's view of it."""

    order_id: str
    events: list[dict[str, Any]] = field(default_factory=list)
    views: dict[str, Any] = field(default_factory=dict)

    @property
    def services(self) -> list[str]:
        """The services that recorded something for the order."""
        return sorted({e["service"] for e in self.events})


async def events_of(pools: Mapping[str, asyncpg.Pool], order_id: str) -> list[dict[str, Any]]:
    """The order's events from every service in the operators' order (as ``services.ops
    order`` shows them: ``services.platform.timeline``), each with the event that caused it
    (``cause``: its service and type, when that event is in the order's timeline)."""
    stored = {}
    for service in SERVICES:
        rows = await pools[service].fetch(
            "SELECT envelope::text FROM events WHERE order_id = $1 ORDER BY version", order_id)
        stored[service] = [json.loads(row[0]) for row in rows]
    events = [{**envelope, "service": service} for service, envelope in in_time_order(stored)]
    by_id = {e["event_id"]: e for e in events}
    for event in events:
        cause = by_id.get(cause_id(event) or "")
        event["cause"] = {"event_id": cause["event_id"], "service": cause["service"],
                          "type": cause["type"]} if cause else None
    return events


async def views_of(http: httpx.AsyncClient, urls: Mapping[str, str], token: str,
                   order_id: str) -> dict[str, Any]:
    """Each service's current view of the order (or why there is none), with the operator's
    own token: the services decide what the operator may see."""
    paths = {"orders": f"/orders/{order_id}", "payments": f"/payments/{order_id}",
             "fulfilment": f"/shipments/{order_id}", "refunds": f"/refunds?order_id={order_id}"}
    answers = await asyncio.gather(*(
        _view(http, urls[service] + path, token) for service, path in paths.items()))
    return dict(zip(paths, answers, strict=True))


async def _view(http: httpx.AsyncClient, url: str, token: str) -> Any:
    try:
        response = await http.get(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        return {"unavailable": type(error).__name__}
    if response.status_code != 200:
        return {"status": response.status_code}
    return response.json()


async def timeline(pools: Mapping[str, asyncpg.Pool], http: httpx.AsyncClient,
                   urls: Mapping[str, str], token: str, order_id: str) -> Timeline:
    """The order's whole timeline."""
    return Timeline(order_id, await events_of(pools, order_id),
                    await views_of(http, urls, token, order_id))
