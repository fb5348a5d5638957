"""Composition root of the fulfilment service: its parts wired into the processes it runs.

* API: ``uvicorn --factory services.fulfilment.main:app``
* consumers: ``python -m services.fulfilment.main worker``
* rebuild of the read model from the log: ``python -m services.fulfilment.main rebuild``
"""

from __future__ import annotations

from pathlib import Path

from services.fulfilment.api import REFUSALS, router
from services.fulfilment.projections import READ_MODEL
from services.fulfilment.subscriptions import periodic, subscriptions
from services.platform.personal import key_store
from services.platform.service import Service

SERVICE = Service(
    name="fulfilment", title="Fulfilment service", migrations=Path(__file__).parent / "migrations",
    routers=[router], refusals=REFUSALS, read_model=READ_MODEL, subscriptions=subscriptions,
    periodic=periodic, collaborators=key_store)  # claims' words are sealed

create_app = SERVICE.create_app
app = SERVICE.app

if __name__ == "__main__":
    SERVICE.main()
