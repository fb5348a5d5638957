"""``make run``: the local stack (Kafka, PostgreSQL) and every service process, until Ctrl-C.

Kafka and PostgreSQL keep their data in ``.data/local`` and reuse it on the next start. The
processes of ``deploy/Procfile`` run under supervisord (``deploy/supervision.py``): one that dies
is restarted and the others keep serving; Ctrl-C (or SIGTERM) stops them all, then the broker and
the database.

``RUN_DATA_DIR`` and ``RUN_PORT_OFFSET`` start a second, independent stack next to the first
(every port shifted by the offset): the test of ``make run`` itself uses them.
"""

from __future__ import annotations

import contextlib
import faulthandler
import fcntl
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from pydantic_settings import BaseSettings, SettingsConfigDict

from deploy.bank_simulator.keys import ensure_keys
from deploy.local.stack import (
    DEFAULT_CONTROLLER_PORT,
    DEFAULT_DATA_DIR,
    DEFAULT_KAFKA_PORT,
    DEFAULT_POSTGRES_PORT,
    start_stack,
    stop_stack,
)
from deploy.supervision import STOP_SECONDS, Supervision, write_config
from deploy.system import RUN_PORTS
from services.platform.auth import generate_keys

SERVICES = ("orders", "payments", "fulfilment", "refunds")


class RunSettings(BaseSettings):
    """Where ``make run`` keeps its data and on which ports it serves."""

    model_config = SettingsConfigDict(env_prefix="RUN_")
    data_dir: Path = DEFAULT_DATA_DIR
    port_offset: int = 0
    api_instances: int = 1
    """Processes per service API, listening on one port (``RUN_API_INSTANCES``)."""
    worker_instances: int = 1
    """Processes per service worker, sharing its consumer groups (``RUN_WORKER_INSTANCES``)."""

    def instances(self) -> dict[str, int]:
        """supervisord's copies by program suffix (``deploy.supervision.supervisord_config``)."""
        return {"-api": self.api_instances, "-worker": self.worker_instances}


@dataclass(frozen=True)
class Layout:
    """The ports and files of one local stack."""

    data_dir: Path
    offset: int

    def port(self, name: str) -> int:
        """The port of a service, the bank simulator or the SMTP sink."""
        return RUN_PORTS[name] + self.offset

    @property
    def infrastructure_ports(self) -> tuple[int, int, int]:
        """Kafka's, its controller's and PostgreSQL's ports."""
        return (DEFAULT_KAFKA_PORT + self.offset, DEFAULT_CONTROLLER_PORT + self.offset,
                DEFAULT_POSTGRES_PORT + self.offset)

    def url(self, name: str) -> str:
        """The base URL of a service or of the bank simulator."""
        return f"http://127.0.0.1:{self.port(name)}"


def process_env(layout: Layout, kafka: str, database: str) -> dict[str, str]:
    """The environment of every process: where the infrastructure, the keys and the others are."""
    data, bank = layout.data_dir, layout.data_dir / "bank"
    ports = {f"{name.upper()}_PORT": str(layout.port(name)) for name in RUN_PORTS}
    return {**os.environ, **ports, "KAFKA_BOOTSTRAP": kafka, "DATABASE_URL": database,
            "RUN_DATA_DIR": str(data), "CLOCK_FILE": str(data / "clock.json"),
            "AUTH_PUBLIC_KEY_FILE": str(data / "auth" / "public.pem"),
            "AUTH_PRIVATE_KEY_FILE": str(data / "auth" / "private.pem"),
            "BANK_URL": layout.url("bank"), "BANK_HMAC_KEY_FILE": str(bank / "shop_hmac.key"),
            "BANK_PUBLIC_KEY_FILE": str(bank / "bank_public.pem"),
            "PAYMENTS_PUBLIC_URL": layout.url("payments"),
            "CHECKPOINT_PRIVATE_KEY_FILE": str(data / "checkpoints" / "private.pem"),
            "CHECKPOINT_PUBLIC_KEY_FILE": str(data / "checkpoints" / "public.pem"),
            **{f"{service.upper()}_URL": layout.url(service) for service in SERVICES},
            "ORDERS_PUBLIC_URL": layout.url("orders"),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def banner(layout: Layout, kafka: str, database: str, supervision: Supervision) -> str:
    """What runs where."""
    lines = ["", "Wine shop order lifecycle — local stack", f"  Kafka       {kafka}",
             f"  PostgreSQL  {database}"]
    for service in SERVICES:
        url = layout.url(service)
        lines.append(f"  {service:<11} {url}  (API docs {url}/docs, health {url}/health)")
    ctl = f".venv/bin/supervisorctl -c {supervision.config}"
    lines.append(f"  console     {layout.url('console')}  (operators and auditors: sign in with "
                 "a token of role ops or auditor)")
    lines += [f"  bank        {layout.url('bank')}  (E-transactions simulator; "
              "test card 4111111111111111)",
              f"  SMTP sink   127.0.0.1:{layout.port('smtp')}  (mail sent: .venv/bin/python -m "
              f"deploy.smtp_sink list --maildir {layout.data_dir / 'mail'})"]
    lines += ["  the clock: .venv/bin/python -m services.platform.clock show|set ISO|advance 10d",
              "  a token: .venv/bin/python -m services.platform.auth token --role ops",
              "           (roles: buyer --subject BUYER_ID, shop, ops, warehouse, carrier, "
              "auditor)",
              "  watch the log: .venv/bin/python -m services.platform.watch",
              f"  processes: {ctl} status   (logs: {supervision.logs}/NAME.log)",
              "A process that dies is restarted; Ctrl-C stops all.", ""]
    return "\n".join(lines)


def _append_only_output() -> None:
    """Make this process's output append-only when it is a file (``make run > run.log``, the
    tests): supervisord and the crash watch write to it through file descriptions of their own
    (/dev/stdout, /dev/stderr), which append, while this one's offset would write over them."""
    for fd in (sys.stdout.fileno(), sys.stderr.fileno()):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_APPEND)


def _stop_on_signal(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the stack the way Ctrl-C does


def _listen_for_signals() -> None:
    """Ctrl-C (SIGINT) and SIGTERM stop everything, also when this process was started with
    SIGINT ignored (a background job of a script, which Python would otherwise leave deaf to
    it); SIGUSR1 prints where each thread is, for a stop that seems stuck."""
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    faulthandler.register(signal.SIGUSR1, all_threads=True)


@contextlib.contextmanager
def _step(what: str) -> Iterator[None]:
    """Say what is being stopped, then how long it took."""
    print(f"stopping {what}…", flush=True)
    started = time.monotonic()
    yield
    print(f"stopped {what} in {time.monotonic() - started:.1f} s", flush=True)


def _stop(supervisord: subprocess.Popen[bytes], supervision: Supervision) -> None:
    if supervisord.poll() is None:
        _stop_every_program_at_once(supervision)
        supervisord.send_signal(signal.SIGTERM)  # it stops what is left, then itself
        try:
            supervisord.wait(60)
        except subprocess.TimeoutExpired:
            supervisord.kill()
            supervisord.wait()


def _stop_every_program_at_once(supervision: Supervision) -> None:
    """SIGTERM to every program together, then wait for them all: supervisord's own shutdown
    stops one program after the other (about 12 s for the whole stack, 1 s of each faust
    worker's stop being a sleep). They are marked stopping first, so none is restarted."""
    # on a timeout, supervisord's shutdown still stops (and at last kills) what is left
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run([sys.executable, "-m", "supervisor.supervisorctl", "-c",
                        str(supervision.config), "stop", "all"],
                       capture_output=True, timeout=STOP_SECONDS + 30, check=False)


def main() -> int:
    """Start everything, wait for Ctrl-C or SIGTERM, stop everything."""
    settings = RunSettings()
    layout = Layout(settings.data_dir.resolve(), settings.port_offset)
    _append_only_output()
    generate_keys(layout.data_dir / "auth")  # the development issuer's key pair
    ensure_keys(layout.data_dir / "bank")  # the simulated bank's keys and the shop's HMAC key
    _listen_for_signals()
    endpoints = start_stack(layout.data_dir, *layout.infrastructure_ports)
    supervisord: subprocess.Popen[bytes] | None = None
    supervision = Supervision(layout.data_dir / "run")
    try:
        server = endpoints.database_urls["orders"].rsplit("/", 1)[0] + "/postgres"
        env = process_env(layout, endpoints.kafka_bootstrap, server)
        write_config(env, supervision, instances=settings.instances())
        print(banner(layout, endpoints.kafka_bootstrap, server, supervision), flush=True)
        # its own process group: Ctrl-C reaches this process alone, which has supervisord stop
        # the services (a SIGINT to every process at once would race supervisord's restarts).
        # Not its own session: the scheduler would weigh all the services together as much as
        # Kafka alone (see LocalPostgres._launch)
        supervisord = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(supervision.config)],
            env=env, process_group=0)
        return supervisord.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for stop_signal in (signal.SIGINT, signal.SIGTERM):  # a second one must not cut the stop
            signal.signal(stop_signal, signal.SIG_IGN)
        if supervisord is not None:
            with _step("the services"):
                _stop(supervisord, supervision)
        with _step("Kafka and PostgreSQL"):
            stop_stack(layout.data_dir, *layout.infrastructure_ports)


if __name__ == "__main__":
    sys.exit(main())
