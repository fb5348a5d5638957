"""Service processes under test: started, stopped, killed and restarted like in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import httpx


class ServiceProcess:
    """One process of a service (API, relay or worker) with its own log file."""

    started: ClassVar[list[ServiceProcess]] = []
    """Every process started here, extra ones of crash tests included: ``stop_all`` ends them."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path,
                 health_url: str | None = None) -> None:
        self.name, self.args, self.env, self.health_url = name, args, env, health_url
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> ServiceProcess:
        """Start the process (with ``extra_env`` on top of its environment)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *self.args], env={**os.environ, **self.env, **extra_env},
            stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parents[1])
        log.close()
        ServiceProcess.started.append(self)
        return self

    @property
    def running(self) -> bool:
        """True while the started process has not ended."""
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, timeout: float = 90) -> None:
        """Wait until ``/health`` answers 200 (or fail with the end of the log)."""
        assert self.health_url
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if httpx.get(self.health_url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not healthy in {timeout}s\n{self.log_tail()}")

    def wait_exit(self, timeout: float = 60) -> int:
        """Wait for the process to end by itself; return its exit code (negative: signal)."""
        assert self.process
        return self.process.wait(timeout)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        self.terminate()
        self.wait_stopped(timeout)

    def terminate(self) -> None:
        """SIGTERM, without waiting: ``wait_stopped`` waits."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 15) -> None:
        """Wait for the process told to stop to end; SIGKILL it if it does not in time."""
        if self.process and self.process.poll() is None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to clean up or commit anything."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def _check_alive(self) -> None:
        if self.process and self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}\n"
                               f"{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The end of the process's log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def stop_all() -> None:
    """Stop every process started in this interpreter that still runs (a crash test that failed
    midway must not leave its extra worker in the next stack's consumer groups)."""
    started = dict.fromkeys(ServiceProcess.started)  # one restarted is listed twice
    for process in started:  # all told at once: each takes a second or two
        process.terminate()
    for process in started:
        process.wait_stopped()
    ServiceProcess.started.clear()
