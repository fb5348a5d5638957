"""``make run`` heals: a killed process is restarted while the others keep serving, a process that
keeps dying is given up on and reported plainly, and Ctrl-C stops everything.

The stack under test is a second one (``RUN_DATA_DIR``, ``RUN_PORT_OFFSET``) with its own Kafka and
PostgreSQL, so that it shares nothing with the test harness's stack.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bench.stack import listening
from deploy.local._proc import pid_alive as alive
from deploy.local.stack import stop_stack
from deploy.run import SERVICES, Layout
from deploy.supervision import Supervision

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".data" / "run-test"
LAYOUT = Layout(DATA, 11000)
SUPERVISION = Supervision(DATA / "run")

pytestmark = pytest.mark.timeout(420)


def ignore_sigint() -> None:
    """In the child before exec: SIGINT ignored, which exec keeps."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Run:
    """The ``python -m deploy.run`` process under test and its terminal output."""

    def __init__(self) -> None:
        self.output = DATA / "make-run.out"
        env = {**os.environ, "RUN_DATA_DIR": str(DATA), "RUN_PORT_OFFSET": str(LAYOUT.offset)}
        with self.output.open("wb") as out:
            # started with SIGINT ignored, as a script's background job is: Ctrl-C must stop
            # it all the same (and the test must not depend on what pytest itself ignores)
            self.process = subprocess.Popen([sys.executable, "-m", "deploy.run"], env=env,
                                            stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                            preexec_fn=ignore_sigint)

    def text(self) -> str:
        """Everything the run printed so far."""
        return self.output.read_text(errors="replace")

    def status(self) -> dict[str, tuple[str, int | None]]:
        """supervisorctl's view: process name → (state, pid)."""
        answer = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(SUPERVISION.config),
             "status"], capture_output=True, text=True, cwd=REPO, check=False)
        states: dict[str, tuple[str, int | None]] = {}
        for line in answer.stdout.splitlines():
            words = line.split()
            pid = int(words[3].rstrip(",")) if len(words) > 3 and words[2] == "pid" else None
            states[words[0]] = (words[1], pid)
        return states

    def control(self, *args: str) -> str:
        """One supervisorctl command; its answer."""
        return subprocess.run([sys.executable, "-m", "supervisor.supervisorctl", "-c",
                               str(SUPERVISION.config), *args], cwd=REPO, capture_output=True,
                              text=True, check=False).stdout.strip()

    def pid(self, name: str) -> int:
        """The process's pid, also while it is starting (0 when it has none)."""
        answer = self.control("pid", name)
        return int(answer) if answer.isdigit() else 0


def wait_until(condition: Callable[[], bool], timeout: float, what: str, run: Run) -> None:
    """Poll ``condition`` until true; fail with the run's output if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert run.process.poll() is None, f"make run ended\n{run.text()[-3000:]}"
        time.sleep(0.3)
    raise AssertionError(f"not {what} within {timeout} s\n{run.text()[-3000:]}")


def stopped_within(run: Run, seconds: float) -> int:
    """The run's exit status once it ended; failing after ``seconds``, with where it was stuck
    (each thread's stack, which ``make run`` prints on SIGUSR1) and what it printed."""
    try:
        return run.process.wait(seconds)
    except subprocess.TimeoutExpired:
        run.process.send_signal(signal.SIGUSR1)
        time.sleep(1)
        raise AssertionError(f"make run still runs {seconds} s after Ctrl-C\n"
                             f"{run.text()[-4000:]}") from None


def healthy(service: str) -> bool:
    """True when the service's /health answers 200."""
    try:
        return httpx.get(f"{LAYOUT.url(service)}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    started = Run()
    try:
        wait_until(lambda: all(healthy(s) for s in SERVICES), 240, "healthy", started)
        wait_until(lambda: all(state == "RUNNING" for state, _ in started.status().values()),
                   60, "all RUNNING", started)
        yield started
    finally:
        if started.process.poll() is None:
            started.process.send_signal(signal.SIGTERM)
            started.process.wait(120)
        stop_stack(DATA, *LAYOUT.infrastructure_ports)


def test_a_killed_process_is_restarted_while_the_others_keep_serving(run: Run) -> None:
    before = run.status()
    _, relay_pid = before["orders-relay"]
    assert relay_pid
    os.kill(relay_pid, signal.SIGKILL)

    def restarted() -> bool:
        state, pid = run.status()["orders-relay"]
        assert all(healthy(s) for s in SERVICES)  # the others serve throughout
        return state == "RUNNING" and pid not in (None, relay_pid)

    wait_until(restarted, 60, "orders-relay restarted", run)
    after = run.status()
    assert {name: pid for name, (_, pid) in after.items() if name != "orders-relay"} == \
        {name: pid for name, (_, pid) in before.items() if name != "orders-relay"}
    assert "orders-relay (pid" in run.text() and "died unexpectedly; restarting it" in run.text()


def test_a_process_that_keeps_dying_is_given_up_on_and_reported(run: Run) -> None:
    killed: set[int] = set()

    def kill_until_fatal() -> bool:
        pid = run.pid("payments-worker")
        if pid and pid not in killed:
            killed.add(pid)
            os.kill(pid, signal.SIGKILL)
        return run.status()["payments-worker"][0] == "FATAL"

    wait_until(kill_until_fatal, 120, "payments-worker given up on", run)
    assert "GAVE UP on payments-worker" in run.text()
    others = {name: state for name, (state, _) in run.status().items()}
    assert {s for n, s in others.items() if n != "payments-worker"} == {"RUNNING"}
    run.control("start", "payments-worker")  # once fixed, the operator starts it again
    wait_until(lambda: run.status()["payments-worker"][0] == "RUNNING", 60, "started again", run)


def test_ctrl_c_stops_every_process_then_kafka_and_postgresql(run: Run) -> None:
    pids = [pid for _, pid in run.status().values() if pid]
    assert len(pids) == 17  # 16 processes of the Procfile and the crash watch
    run.process.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
    assert stopped_within(run, 120) == 0
    assert [pid for pid in pids if alive(pid)] == []
    kafka, _, postgres = LAYOUT.infrastructure_ports
    assert not listening(kafka) and not listening(postgres)
    assert not any(listening(LAYOUT.port(s)) for s in SERVICES)
    assert "stopping Kafka and PostgreSQL" in run.text()
