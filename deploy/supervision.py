"""Supervision of ``make run``'s processes by supervisord (docs/decisions/0012).

``deploy/Procfile`` stays the one list of the system's processes; this module writes
supervisord's configuration for it. Each process is restarted when it dies and the others keep
serving. A process that dies within ``START_SECONDS`` of its start did not start: supervisord
retries it with a growing pause (1 s, 2 s, … ``START_RETRIES`` times), then gives up and says so
(state FATAL). A process that keeps crashing later in its life is caught by the crash watch
(``deploy/crash_watch.py``), which stops restarting it and reports it plainly.
"""

from __future__ import annotations

import configparser
import io
import os
import re
import secrets
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROCFILE = REPO / "deploy" / "Procfile"
START_SECONDS = 8
"""A process that ends sooner than this after its start failed to start (retried with backoff)."""
START_RETRIES = 5
STOP_SECONDS = 15
"""How long a process has to end after SIGTERM before it is killed."""
CRASH_LIMIT = 5
CRASH_WINDOW_SECONDS = 300
"""More unexpected exits than ``CRASH_LIMIT`` within this window: the process is given up on."""

_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class Supervision:
    """Where supervisord keeps its configuration, socket and the processes' logs."""

    run_dir: Path

    @property
    def config(self) -> Path:
        """supervisord's configuration file (``supervisorctl -c`` takes it too)."""
        return self.run_dir / "supervisord.conf"

    @property
    def socket(self) -> Path:
        """The UNIX socket of supervisord's control interface."""
        return self.run_dir / "supervisor.sock"

    def secret(self) -> dict[str, str]:
        """The control interface's credentials, made once per run directory (supervisorctl
        reads them from the configuration file, which only its owner may read)."""
        path = self.run_dir / "control.secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24))
        return {"username": "operator", "password": path.read_text().strip()}

    @property
    def logs(self) -> Path:
        """One log file per process: ``<logs>/<name>.log``."""
        return self.run_dir / "logs"


def procfile_commands(text: str, env: Mapping[str, str]) -> dict[str, str]:
    """The Procfile's processes, name → command, with ``${VAR:-default}`` expanded from ``env``
    (supervisord runs commands without a shell) and ``python`` as this interpreter."""
    commands: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, command = line.partition(":")
        expanded = _VARIABLE.sub(lambda m: env.get(m[1], m[2] or ""), command.strip())
        words = shlex.split(expanded)
        if words and words[0] == "python":
            words[0] = sys.executable
        commands[name.strip()] = shlex.join(words)
    return commands


def supervisord_config(commands: Mapping[str, str], supervision: Supervision,
                       instances: Mapping[str, int] | None = None) -> str:
    """supervisord's configuration: the control socket, one program per command, and the crash
    watch listening to the processes' exits.

    ``instances`` runs several copies of the programs whose name ends with a key (``{"-worker":
    2}``): named ``<name>-1``, ``<name>-2``…, each supervised on its own. Copies of a worker share
    its consumer groups (Kafka spreads the partitions between them); copies of an API listen on
    the same port (``services.platform.serve``).
    """
    config = configparser.RawConfigParser()
    config["supervisord"] = {
        # its log to the terminal once, appended like the crash watch's reports (/dev/stderr):
        # without "silent" a second handler echoed every line, through a file description of
        # its own whose offset, when the terminal is a file, wrote over what the others added
        "nodaemon": "true", "silent": "true", "logfile": "/dev/stdout", "logfile_maxbytes": "0",
        "loglevel": "info", "pidfile": str(supervision.run_dir / "supervisord.pid"),
        "directory": str(REPO)}
    if os.geteuid() == 0:  # said explicitly, or supervisord warns that it keeps root
        config["supervisord"]["user"] = "root"
    secret = supervision.secret()
    config["unix_http_server"] = {"file": str(supervision.socket), "chmod": "0700", **secret}
    config["rpcinterface:supervisor"] = {
        "supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface"}
    config["supervisorctl"] = {"serverurl": f"unix://{supervision.socket}", **secret}
    for name, command in commands.items():
        copies = next((n for suffix, n in (instances or {}).items() if name.endswith(suffix)), 1)
        config[f"program:{name}"] = _program(name, command, supervision, copies)
    config["eventlistener:crash-watch"] = {
        "command": f"{sys.executable} -m deploy.crash_watch --limit {CRASH_LIMIT} "
                   f"--window {CRASH_WINDOW_SECONDS} --logs {supervision.logs}",
        "events": "PROCESS_STATE_EXITED,PROCESS_STATE_FATAL", "directory": str(REPO),
        "environment": f'SUPERVISOR_USERNAME="{secret["username"]}",'
                       f'SUPERVISOR_PASSWORD="{secret["password"]}"',
        "autorestart": "true", "stderr_logfile": "/dev/stderr", "stderr_logfile_maxbytes": "0"}
    out = io.StringIO()
    config.write(out)
    return out.getvalue()


def _program(name: str, command: str, supervision: Supervision,
             copies: int = 1) -> dict[str, str]:
    # APIs first (they migrate the databases and provision the topics), then the rest
    priority = "100" if name in ("bank-simulator", "smtp-sink") else (
        "200" if name.endswith("-api") else "300")
    process = "%(program_name)s" if copies == 1 else "%(program_name)s-%(process_num)d"
    return {"command": command, "directory": str(REPO), "priority": priority,
            "numprocs": str(copies), "numprocs_start": "1", "process_name": process,
            "autostart": "true", "autorestart": "true",
            "startsecs": str(START_SECONDS), "startretries": str(START_RETRIES),
            "stopsignal": "TERM", "stopwaitsecs": str(STOP_SECONDS),
            "stopasgroup": "true", "killasgroup": "true", "redirect_stderr": "true",
            "stdout_logfile": str(supervision.logs / f"{process}.log"),
            "stdout_logfile_maxbytes": "20MB", "stdout_logfile_backups": "2"}


def write_config(env: Mapping[str, str], supervision: Supervision,
                 procfile: Path = PROCFILE, instances: Mapping[str, int] | None = None) -> Path:
    """Write supervisord's configuration for ``procfile`` under ``env`` (with ``instances``
    as ``supervisord_config`` takes them); return its path."""
    supervision.logs.mkdir(parents=True, exist_ok=True)
    commands = procfile_commands(procfile.read_text(), env)
    supervision.config.touch(mode=0o600)  # it holds the control interface's password
    supervision.config.write_text(supervisord_config(commands, supervision, instances))
    return supervision.config
