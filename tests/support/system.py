"""The services under test as real processes, started like ``make run`` starts them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.support.infrastructure import TEST_DATA, Infrastructure
from tests.support.processes import ServiceProcess

ORDERS_PORT, FULFILMENT_PORT = 28001, 28003


def service_processes(infra: Infrastructure) -> dict[str, ServiceProcess]:
    """Every process of the system, not yet started, pointed at ``infra``."""
    env = {"KAFKA_BOOTSTRAP": infra.kafka_bootstrap, "DATABASE_URL": infra.database_server_url,
           "CONSUMER_COMMIT_INTERVAL": "0.5"}
    logs = TEST_DATA / "logs"

    def api(service: str, port: int) -> ServiceProcess:
        return ServiceProcess(f"{service}-api", [
            "-m", "uvicorn", "--factory", f"services.{service}.api:app_from_env",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env, logs, f"http://127.0.0.1:{port}/health")

    def module(name: str, *args: str) -> ServiceProcess:
        return ServiceProcess(name, ["-m", *args], env, logs)

    return {
        "orders-api": api("orders", ORDERS_PORT),
        "fulfilment-api": api("fulfilment", FULFILMENT_PORT),
        "orders-relay": module("orders-relay", "services.platform.relay", "orders"),
        "fulfilment-relay": module("fulfilment-relay", "services.platform.relay", "fulfilment"),
        "fulfilment-worker": module("fulfilment-worker", "services.fulfilment.worker", "worker"),
    }


@contextlib.contextmanager
def running_system(infra: Infrastructure) -> Iterator[dict[str, ServiceProcess]]:
    """Start the APIs (they migrate and provision topics), then relays and workers; stop all."""
    processes = service_processes(infra)
    try:
        for name in ("orders-api", "fulfilment-api"):
            processes[name].start().wait_healthy()
        for name in ("orders-relay", "fulfilment-relay", "fulfilment-worker"):
            processes[name].start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()
