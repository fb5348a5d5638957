"""Every answered request is counted by method and status (``http_requests_total``)."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.platform.http import REQUESTS, install_request_metrics


def counted(service: str, method: str, status: int) -> float:
    return REQUESTS.labels(service, method, str(status))._value.get()


def test_each_answer_is_counted_by_method_and_status() -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    app = FastAPI()
    install_request_metrics(app, service)

    @app.post("/things", status_code=201)
    async def create() -> dict[str, str]:
        return {"made": "yes"}

    client = TestClient(app)
    assert client.post("/things").status_code == 201
    assert client.post("/things").status_code == 201
    assert client.get("/nowhere").status_code == 404
    assert (counted(service, "POST", 201), counted(service, "GET", 404)) == (2, 1)
    assert counted(service, "GET", 200) == 0
