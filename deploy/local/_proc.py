"""Small process helpers shared by the local launchers (Linux/POSIX only)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def pid_alive(pid: int) -> bool:
    """Return True when ``pid`` names a live process (zombies count as dead)."""
    if pid <= 0 or not pid_exists(pid):
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        # field 3 is the state; the command name (field 2) may contain spaces, so split after ')'
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def pid_exists(pid: int) -> bool:
    """Return True while ``pid`` exists at all, zombies included (what ``kill -0`` sees)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pid_cmdline(pid: int) -> list[str]:
    """Return the command line of ``pid`` (empty when unknown)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def read_pid(pid_file: Path) -> int | None:
    """Read a pid file; None when it is missing or unreadable."""
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def terminate(pid: int, timeout: float, reap: Callable[[], None] | None = None) -> None:
    """Send SIGTERM to ``pid``, wait up to ``timeout`` seconds, then SIGKILL.

    ``reap`` is called while waiting, so a parent that started the process can collect it
    (otherwise a terminated child would linger as a zombie and look alive to ``kill -0``).
    """

    def gone() -> bool:
        if reap is not None:
            reap()
        return not pid_alive(pid)

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_until(gone, timeout):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_until(gone, 10.0)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Return True when a TCP connection to ``host:port`` succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a private event loop in a worker thread.

    Works whether or not the caller already runs an event loop (e.g. inside pytest-asyncio).
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def tail(path: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a text file ('' when missing)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
