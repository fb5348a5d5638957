"""The stack the benchmark measures: exactly what ``make run`` starts (``deploy.run``, its
processes under supervisord), on its own data directory and shifted ports, so that it runs next
to a development stack or a test run, and starts empty every time."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.local._proc import port_open
from deploy.local.stack import stop_stack
from deploy.run import SERVICES, Layout
from deploy.supervision import Supervision
from deploy.system import RUN_PORTS
from services.platform.auth import Role, mint
from services.platform.settings import AuthSettings

REPO = Path(__file__).resolve().parents[1]
BENCH_DATA = REPO / ".data" / "bench"
BENCH_PORT_OFFSET = 12000
"""Kafka on 31092, PostgreSQL on 27432, the orders API on 20001… Every fixed port of the
project is below 32768, where Linux picks the ephemeral ports of outgoing connections: a port
in that range may be taken by any client socket when a server restarts on it."""


@dataclass(frozen=True)
class BenchStack:
    """A running ``deploy.run`` stack: where its parts answer and how to act on them."""

    layout: Layout
    process: subprocess.Popen[bytes]

    @property
    def kafka_bootstrap(self) -> str:
        """The broker's address."""
        return f"127.0.0.1:{self.layout.infrastructure_ports[0]}"

    @property
    def server_url(self) -> str:
        """The PostgreSQL server (its maintenance database)."""
        return f"postgresql://postgres@127.0.0.1:{self.layout.infrastructure_ports[2]}/postgres"

    def database_url(self, service: str) -> str:
        """A service's own database."""
        return self.server_url.rsplit("/", 1)[0] + f"/{service}"

    def url(self, name: str) -> str:
        """The base URL of a service or of the bank simulator."""
        return self.layout.url(name)

    def bearer(self, role: Role, subject: str | None = None) -> dict[str, str]:
        """An ``Authorization`` header of this stack's development issuer."""
        keys = self.layout.data_dir / "auth"
        settings = AuthSettings(auth_public_key_file=keys / "public.pem",
                                auth_private_key_file=keys / "private.pem")
        return {"Authorization": f"Bearer {mint(settings, role, subject, 4 * 3600)}"}

    def control(self, *args: str) -> str:
        """``supervisorctl`` on this stack (``status``, ``stop orders-worker``…)."""
        config = Supervision(self.layout.data_dir / "run").config
        done = subprocess.run([sys.executable, "-m", "supervisor.supervisorctl", "-c",
                               str(config), *args], capture_output=True, text=True, check=False)
        return done.stdout

    def wait_ready(self, timeout: float = 240) -> None:
        """Until every API is ready and every process RUNNING."""
        deadline = time.monotonic() + timeout
        while not (all(_ready(self.url(s)) for s in SERVICES) and self._all_running()):
            if self.process.poll() is not None:
                raise RuntimeError(f"deploy.run ended with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bench stack is not ready after {timeout} s:\n"
                                   f"{self.control('status')}")
            time.sleep(1)

    def _all_running(self) -> bool:
        lines = [line.split() for line in self.control("status").splitlines() if line.strip()]
        return bool(lines) and all(len(words) > 1 and words[1] == "RUNNING" for words in lines)


def listening_ports(layout: Layout) -> list[int]:
    """The ports of ``layout``'s stack that something still listens on (none once stopped)."""
    ports = [layout.port(name) for name in RUN_PORTS] + list(layout.infrastructure_ports)
    return [port for port in ports if listening(port)]


def listening(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:``port``."""
    return port_open("127.0.0.1", port)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def bench_stack(data_dir: Path = BENCH_DATA, offset: int = BENCH_PORT_OFFSET, *,
                api_instances: int = 1, worker_instances: int = 1,
                log: Path | None = None) -> Iterator[BenchStack]:
    """Start an empty ``deploy.run`` stack, yield it once ready, stop everything it started."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {**os.environ, "RUN_DATA_DIR": str(data_dir), "RUN_PORT_OFFSET": str(offset),
           "RUN_API_INSTANCES": str(api_instances),
           "RUN_WORKER_INSTANCES": str(worker_instances)}
    out = (log or data_dir / "deploy-run.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "deploy.run"], env=env, cwd=REPO,
                               stdout=out, stderr=subprocess.STDOUT)
    stack = BenchStack(Layout(data_dir, offset), process)
    try:
        stack.wait_ready()
        yield stack
    finally:
        _stop(process)
        stop_stack(data_dir, *stack.layout.infrastructure_ports)
        out.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # deploy.run stops supervisord, then the stack
        try:
            process.wait(180)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
