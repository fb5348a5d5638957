"""Composition root of the orders service: its parts wired into the processes it runs.

* API: ``uvicorn --factory services.orders.main:app``
* consumers: ``python -m services.orders.main worker``
* rebuild of the read model from the log: ``python -m services.orders.main rebuild``
"""

from __future__ import annotations

from pathlib import Path

from services.orders.after_sale_api import router as after_sale_router
from services.orders.api import REFUSALS, router
from services.orders.invoice_api import router as invoice_router
from services.orders.projections import READ_MODEL
from services.orders.rights_api import router as rights_router
from services.orders.subscriptions import periodic, subscriptions
from services.platform.service import Service

SERVICE = Service(
    name="orders", title="Orders service", migrations=Path(__file__).parent / "migrations",
    routers=[router, rights_router, after_sale_router, invoice_router], refusals=REFUSALS,
    read_model=READ_MODEL, subscriptions=subscriptions, periodic=periodic)

create_app = SERVICE.create_app
app = SERVICE.app

if __name__ == "__main__":
    SERVICE.main()
