"""Composition root of the refunds service: its parts wired into the processes it runs.

* API: ``uvicorn --factory services.refunds.main:app``
* consumers (the causes of refunds, the bank's answers) and the escalation sweep:
  ``python -m services.refunds.main worker``
* rebuild of the read model from the log: ``python -m services.refunds.main rebuild``
"""

from __future__ import annotations

from pathlib import Path

from services.platform.service import Service
from services.refunds.api import REFUSALS, router
from services.refunds.projections import READ_MODEL
from services.refunds.subscriptions import periodic, subscriptions

SERVICE = Service(
    name="refunds", title="Refunds service", migrations=Path(__file__).parent / "migrations",
    routers=[router], refusals=REFUSALS, read_model=READ_MODEL, subscriptions=subscriptions,
    periodic=periodic)

create_app = SERVICE.create_app
app = SERVICE.app

if __name__ == "__main__":
    SERVICE.main()
