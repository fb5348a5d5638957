"""Every service's API under schemathesis with all its checks, against the running services:
generated requests (valid and invalid) get documented answers, never a 5xx, and a schema-valid
request is not refused for its shape."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS

from deploy.system import TEST_PORTS, bearer
from services.fulfilment.main import SERVICE as FULFILMENT
from services.orders.main import SERVICE as ORDERS
from services.payments.main import SERVICE as PAYMENTS
from services.platform.auth import Allow, Role
from services.platform.clock import SystemClock
from services.platform.service import Service
from services.platform.settings import ServiceSettings
from services.refunds.main import SERVICE as REFUNDS
from tests.integration.conftest import System

pytestmark = pytest.mark.integration
PREFERRED: tuple[Role, ...] = ("shop", "ops", "warehouse", "carrier", "auditor")


def _app(service: Service):  # type: ignore[no-untyped-def]
    return service.create_app(ServiceSettings(service=service.name), SystemClock())


def _roles(service: Service) -> dict[tuple[str, str], Role | None]:
    """For each operation, a role it admits (None for the open ones)."""
    found: dict[tuple[str, str], Role | None] = {}
    for router in service.routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                continue
            admitted = [d.call.__self__.roles for d in route.dependant.dependencies
                        if isinstance(getattr(d.call, "__self__", None), Allow)]
            role = next((r for r in PREFERRED if admitted and r in admitted[0]), None)
            for method in route.methods:
                found[(method, route.path)] = role
    found[("GET", "/metrics")] = "ops"
    return found


def _check(service: Service):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_dict(_app(service).openapi())
    roles = _roles(service)

    @schema.parametrize()
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def test(case, system: System) -> None:  # type: ignore[no-untyped-def]
        role = roles.get((case.method.upper(), case.path))
        # a valid token for the operation, unless the case's token is its invalid part (left
        # out or malformed on purpose): put back, it made a negative case valid and its 200 a
        # false "schema-violating request accepted"
        signed_in = role is not None and not case.operation.schema.is_security_param_negated(
            case)
        case.call_and_validate(base_url=f"http://127.0.0.1:{TEST_PORTS[service.name]}",
                               headers=bearer(role) if signed_in else {},
                               checks=CHECKS.get_all())

    return test


test_orders_api = _check(ORDERS)
test_payments_api = _check(PAYMENTS)
test_fulfilment_api = _check(FULFILMENT)
test_refunds_api = _check(REFUNDS)
