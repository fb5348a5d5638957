"""The fault suite's short form (``make faults`` runs the full one): whole lifecycles through the
HTTP APIs while one fault at a time hits the running system, and every guarantee checked after
each; then overload and a short soak. The report is kept in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.faults.injections import all_faults, local_stack
from deploy.faults.run import run_all, suite_on
from deploy.faults.suite import SHORT, write_report
from deploy.system import APIS, BACKGROUND
from tests.integration.conftest import System

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session"),
              pytest.mark.timeout(1500)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def test_every_guarantee_holds_after_every_fault(system: System) -> None:
    assert system.infra.source == "local launcher", "the suite restarts Kafka and PostgreSQL"
    stack = local_stack(system.processes)
    async with suite_on(stack, system.infra, SHORT) as suite:
        report = await run_all(suite, all_faults([*APIS, *BACKGROUND], grouped=True))
    write_report(report, ARTIFACTS)
    assert len(report["faults"]) == 9
    for round_ in report["faults"]:
        assert round_["stuck"] == [], round_
        assert round_["ok"], round_
        assert round_["completed"] == round_["lifecycles"] > 0
        assert round_["events_on_log"] > 0 and round_["applied"] > 0
    soak = report["soak"]
    assert soak["stuck"] == [] and soak["errors"] == [], soak
    assert {o["clients"] for o in report["overload"]} == {8, 16, 32}
