"""The system's processes, started like ``make run`` starts them: by the tests and the benchmarks.

``make run`` runs the same processes from ``deploy/Procfile`` under honcho on the ports of
``RUN_PORTS``; the test harness runs them one by one (so that a test can kill and restart one)
on ``TEST_PORTS``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from deploy.infrastructure import TEST_DATA, Infrastructure
from deploy.processes import ServiceProcess
from services.platform.auth import Role, generate_keys, mint
from services.platform.settings import AuthSettings

RUN_PORTS = {"orders": 8001, "fulfilment": 8003}
"""HTTP ports of the services under ``make run`` (``deploy/Procfile``)."""
TEST_PORTS = {"orders": 28001, "fulfilment": 28003}
"""HTTP ports of the services under the test harness and the benchmarks."""
TEST_AUTH = AuthSettings(auth_public_key_file=TEST_DATA / "auth" / "public.pem",
                         auth_private_key_file=TEST_DATA / "auth" / "private.pem")
"""The test harness's own key pair (never the one ``make run`` generates)."""
APIS = ("orders-api", "fulfilment-api")
BACKGROUND = ("orders-relay", "fulfilment-relay", "fulfilment-worker")


def service_processes(infra: Infrastructure) -> dict[str, ServiceProcess]:
    """Every process of the system, not yet started, pointed at ``infra``."""
    generate_keys(TEST_AUTH.auth_public_key_file.parent)
    env = {"KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "DATABASE_URL": infra.database_server_url,
           "CONSUMER_COMMIT_INTERVAL": "0.5",
           "AUTH_PUBLIC_KEY_FILE": str(TEST_AUTH.auth_public_key_file),
           "AUTH_PRIVATE_KEY_FILE": str(TEST_AUTH.auth_private_key_file)}
    logs = TEST_DATA / "logs"

    def api(service: str) -> ServiceProcess:
        port = TEST_PORTS[service]
        return ServiceProcess(f"{service}-api", [
            "-m", "uvicorn", "--factory", f"services.{service}.main:app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env, logs, f"http://127.0.0.1:{port}/health")

    def module(name: str, *args: str) -> ServiceProcess:
        return ServiceProcess(name, ["-m", *args], env, logs)

    return {
        "orders-api": api("orders"),
        "fulfilment-api": api("fulfilment"),
        "orders-relay": module("orders-relay", "services.platform.relay", "orders"),
        "fulfilment-relay": module("fulfilment-relay", "services.platform.relay", "fulfilment"),
        "fulfilment-worker": module("fulfilment-worker", "services.fulfilment.main", "worker"),
    }


@contextlib.contextmanager
def running_system(infra: Infrastructure) -> Iterator[dict[str, ServiceProcess]]:
    """Start the APIs (they migrate and provision topics), then relays and workers; stop all."""
    processes = service_processes(infra)
    try:
        for name in APIS:
            processes[name].start().wait_healthy()
        for name in BACKGROUND:
            processes[name].start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()


def bearer(role: Role, subject: str | None = None, ttl: int = 3600) -> dict[str, str]:
    """An ``Authorization`` header with a token of the test harness's issuer."""
    generate_keys(TEST_AUTH.auth_public_key_file.parent)
    return {"Authorization": f"Bearer {mint(TEST_AUTH, role, subject, ttl)}"}
