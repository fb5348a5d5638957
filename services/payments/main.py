"""Composition root of the payments service: its parts wired into the processes it runs.

* API: ``uvicorn --factory services.payments.main:app``
* consumers (orders' events, refunds' payout requests) and timed work (the capture after each
  authorisation, the payout of each ordered refund):
  ``python -m services.payments.main worker``
* rebuild of the read model from the log: ``python -m services.payments.main rebuild``
"""

from __future__ import annotations

from pathlib import Path

from services.payments.api import REFUSALS, collaborators, router
from services.payments.projections import READ_MODEL
from services.payments.subscriptions import periodic, subscriptions
from services.platform.service import Service

SERVICE = Service(
    name="payments", title="Payments service", migrations=Path(__file__).parent / "migrations",
    routers=[router], refusals=REFUSALS, read_model=READ_MODEL, subscriptions=subscriptions,
    collaborators=collaborators, periodic=periodic)

create_app = SERVICE.create_app
app = SERVICE.app

if __name__ == "__main__":
    SERVICE.main()
