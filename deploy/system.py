"""The system's processes, started like ``make run`` starts them: by the tests and the benchmarks.

``make run`` runs the same processes from ``deploy/Procfile`` under supervisord on the ports of
``RUN_PORTS``; the test harness runs them one by one (so that a test can kill and restart one)
on ``TEST_PORTS``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from deploy.bank_simulator.keys import ensure_keys
from deploy.infrastructure import TEST_DATA, Infrastructure
from deploy.processes import ServiceProcess, stop_all
from services.platform.auth import Role, generate_keys, mint
from services.platform.clock import SharedClock
from services.platform.settings import AuthSettings

RUN_PORTS = {"orders": 8001, "payments": 8002, "fulfilment": 8003, "refunds": 8004, "bank": 8009,
             "smtp": 8025, "console": 8000}
"""Ports of the services, the bank simulator and the SMTP sink under ``make run``
(``deploy/Procfile``)."""
TEST_PORTS = {"orders": 28001, "payments": 28002, "fulfilment": 28003, "refunds": 28004,
              "bank": 28009, "smtp": 28025, "console": 28000}
"""Ports of the same under the test harness and the benchmarks."""
TEST_BANK = TEST_DATA / "bank"
"""The test harness's bank simulator keys and ledger."""
TEST_MAIL = TEST_DATA / "mail"
"""The Maildir of the test harness's SMTP sink."""
TEST_CLOCK = TEST_DATA / "clock.json"
"""The test stack's shared clock (``python -m services.platform.clock`` with ``CLOCK_FILE``)."""
TEST_CLOCK_START = dt.datetime(2026, 5, 11, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))
"""Where a fresh test stack's clock starts: Monday 11 May 2026, so that the calendar scenarios
of the terms (an order confirmed on Wednesday 13 May, Ascension on the 14th) can be driven
forward from there."""
SERVICES = ("orders", "payments", "fulfilment", "refunds")
TEST_AUTH = AuthSettings(auth_public_key_file=TEST_DATA / "auth" / "public.pem",
                         auth_private_key_file=TEST_DATA / "auth" / "private.pem")
"""The test harness's own key pair (never the one ``make run`` generates)."""
EXTERNAL = ("bank-simulator", "smtp-sink", "console")
APIS = tuple(f"{service}-api" for service in SERVICES)
BACKGROUND = (*(f"{service}-relay" for service in SERVICES),
              *(f"{service}-worker" for service in SERVICES), "checkpointer")


def service_processes(infra: Infrastructure,
                      extra_env: dict[str, str] | None = None) -> dict[str, ServiceProcess]:
    """Every process of the system, not yet started, pointed at ``infra`` (with ``extra_env``
    on top of the harness's environment)."""
    generate_keys(TEST_AUTH.auth_public_key_file.parent)
    bank = ensure_keys(TEST_BANK)
    SharedClock(TEST_CLOCK).start_at(TEST_CLOCK_START)
    env = {"KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "DATABASE_URL": infra.database_server_url,
           "CONSUMER_COMMIT_INTERVAL": "0.5",
           "AUTH_PUBLIC_KEY_FILE": str(TEST_AUTH.auth_public_key_file),
           "AUTH_PRIVATE_KEY_FILE": str(TEST_AUTH.auth_private_key_file),
           "BANK_URL": f"http://127.0.0.1:{TEST_PORTS['bank']}",
           "BANK_HMAC_KEY_FILE": str(bank.shop_hmac_key_path),
           "BANK_PUBLIC_KEY_FILE": str(bank.public_key_path),
           "PAYMENTS_PUBLIC_URL": f"http://127.0.0.1:{TEST_PORTS['payments']}",
           "ORDERS_PUBLIC_URL": f"http://127.0.0.1:{TEST_PORTS['orders']}",
           "SMTP_PORT": str(TEST_PORTS["smtp"]), "CLOCK_FILE": str(TEST_CLOCK),
           **{f"{service.upper()}_URL": f"http://127.0.0.1:{TEST_PORTS[service]}"
              for service in SERVICES},
           **(extra_env or {})}
    logs = TEST_DATA / "logs"

    def api(service: str) -> ServiceProcess:
        port = TEST_PORTS[service]
        return ServiceProcess(f"{service}-api", [
            "-m", "services.platform.serve", f"services.{service}.main:app",
            "--port", str(port), "--log-level", "warning"],
            env, logs, f"http://127.0.0.1:{port}/health")

    def module(name: str, *args: str) -> ServiceProcess:
        return ServiceProcess(name, ["-m", *args], env, logs)

    bank_url = f"http://127.0.0.1:{TEST_PORTS['bank']}"
    return {
        "bank-simulator": ServiceProcess("bank-simulator", [
            "-m", "deploy.bank_simulator", "--port", str(TEST_PORTS["bank"]),
            "--data-dir", str(TEST_BANK)], env, logs, f"{bank_url}/health"),
        "smtp-sink": module("smtp-sink", "deploy.smtp_sink", "serve", "--port",
                            str(TEST_PORTS["smtp"]), "--maildir", str(TEST_MAIL)),
        **{f"{service}-api": api(service) for service in SERVICES},
        **{f"{service}-relay": module(f"{service}-relay", "services.platform.relay", service)
           for service in SERVICES},
        **{f"{service}-worker": module(f"{service}-worker", f"services.{service}.main", "worker")
           for service in SERVICES},
        "checkpointer": module("checkpointer", "services.platform.checkpoints", "run"),
        "console": ServiceProcess("console", [
            "-m", "uvicorn", "--factory", "services.console.app:app", "--host", "127.0.0.1",
            "--port", str(TEST_PORTS["console"]), "--log-level", "warning"], env, logs,
            f"http://127.0.0.1:{TEST_PORTS['console']}/login"),
    }


@contextlib.contextmanager
def running_system(infra: Infrastructure, extra_env: dict[str, str] | None = None
                   ) -> Iterator[dict[str, ServiceProcess]]:
    """Start the APIs (they migrate and provision topics), then relays and workers; stop all."""
    processes = service_processes(infra, extra_env)
    try:
        processes["bank-simulator"].start().wait_healthy()
        processes["smtp-sink"].start()
        for name in APIS:
            processes[name].start().wait_healthy()
        for name in BACKGROUND:
            processes[name].start()
        processes["console"].start().wait_healthy()
        yield processes
    finally:
        for process in processes.values():
            process.stop()
        stop_all()


def bearer(role: Role, subject: str | None = None, ttl: int = 3600) -> dict[str, str]:
    """An ``Authorization`` header with a token of the test harness's issuer."""
    generate_keys(TEST_AUTH.auth_public_key_file.parent)
    return {"Authorization": f"Bearer {mint(TEST_AUTH, role, subject, ttl)}"}
