"""supervisord's crash watch for ``make run``: says plainly when a process died and when one keeps
crashing, and stops restarting a process that crashed more than ``--limit`` times within
``--window`` seconds (restarting it forever would hide the fault behind a working-looking stack).

An event listener (supervisord's extension point for this, ``deploy/supervision.py`` installs it):
it reads process-state events on stdin, answers on stdout, and reports on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
import xmlrpc.client
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from supervisor import childutils


@dataclass
class CrashLedger:
    """Unexpected exits per process within a sliding window (pure: the caller gives the time)."""

    limit: int
    window: float
    exits: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def record(self, name: str, now: float) -> int:
        """Record an unexpected exit of ``name`` at ``now``; return the exits within the window."""
        recent = self.exits[name]
        recent.append(now)
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return len(recent)

    def gives_up(self, count: int) -> bool:
        """True when ``count`` exits within the window are too many to keep restarting."""
        return count > self.limit


def _parse(payload: str) -> dict[str, str]:
    return dict(word.split(":", 1) for word in payload.split() if ":" in word)


def _last_lines(logs: Path, name: str, lines: int = 8) -> str:
    path = logs / f"{name}.log"
    if not path.exists():
        return "    (no log)"
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    | {line}" for line in tail)


def report(text: str) -> None:
    """One plain line (or block) on the terminal of ``make run``."""
    stamp = time.strftime("%H:%M:%S")
    print(f"{stamp} crash-watch: {text}", file=sys.stderr, flush=True)


def on_event(kind: str, event: dict[str, str], ledger: CrashLedger, rpc: xmlrpc.client.ServerProxy,
             logs: Path) -> None:
    """React to one process-state event."""
    name = event.get("processname", "?")
    if kind == "PROCESS_STATE_FATAL":
        report(f"GAVE UP on {name}: it kept dying within seconds of starting. Last lines of "
               f"{logs / (name + '.log')}:\n{_last_lines(logs, name)}\n  fix it, then: "
               f"supervisorctl -c <run dir>/supervisord.conf start {name}")
    elif kind == "PROCESS_STATE_EXITED" and event.get("expected") == "0":
        count = ledger.record(name, time.monotonic())
        if ledger.gives_up(count):
            _stop(rpc, name)
            report(f"GAVE UP on {name}: {count} crashes within {ledger.window:.0f} s; no longer "
                   f"restarted. Last lines of its log:\n{_last_lines(logs, name)}")
        else:
            report(f"{name} (pid {event.get('pid')}) died unexpectedly; restarting it "
                   f"(crash {count} of {ledger.limit} allowed within {ledger.window:.0f} s)")


def _stop(rpc: xmlrpc.client.ServerProxy, name: str) -> None:
    with contextlib.suppress(xmlrpc.client.Fault):  # already stopped: nothing to stop
        rpc.supervisor.stopProcess(name, False)


def main(argv: Sequence[str] | None = None) -> int:
    """Listen to supervisord's events until it ends."""
    parser = argparse.ArgumentParser(prog="python -m deploy.crash_watch")
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--window", type=float, default=300.0)
    parser.add_argument("--logs", type=Path, required=True)
    args = parser.parse_args(argv)
    rpc = childutils.getRPCInterface(os.environ)
    ledger = CrashLedger(args.limit, args.window)
    while True:
        headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
        try:
            on_event(headers["eventname"], _parse(payload), ledger, rpc, args.logs)
        finally:  # an answer is owed for every event, or supervisord stops sending them
            childutils.listener.ok(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
