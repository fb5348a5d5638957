"""An Apache Kafka broker (KRaft, no ZooKeeper) run from Maven Central jars.

By default a single combined broker+controller; given a node id, the quorum's voters and a
replication factor, the same class is one node of a multi-broker cluster (``cluster.py``).

The jars are resolved once with ``mvn dependency:copy-dependencies`` on ``pom.xml`` beside this
file into ``<repo>/.cache/kafka/<version>/libs`` and the broker runs as
``java -cp 'libs/*' kafka.Kafka server.properties``. See docs/decisions/0001-kafka-version.md.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from deploy.local import _proc

KAFKA_VERSION = "4.4.0"
HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
POM = Path(__file__).resolve().parent / "pom.xml"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "kafka"
DEFAULT_HEAP = "512m"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"

# brokers started by this Python process, by pid: kept so that any KafkaBroker instance (e.g. the
# one stop_stack() makes) can reap its child, and so no Popen is collected while the JVM still runs
_children: dict[int, subprocess.Popen[bytes]] = {}


class KafkaError(RuntimeError):
    """Raised when the local broker cannot be resolved, started or reached."""


def _libs_dir(cache_dir: Path, version: str) -> Path:
    return cache_dir / version / "libs"


def _jars_present(libs: Path, version: str) -> bool:
    return (libs / f"kafka_2.13-{version}.jar").is_file() and any(libs.glob("log4j-core-*.jar"))


def ensure_jars(version: str = KAFKA_VERSION, cache_dir: Path = DEFAULT_CACHE) -> Path:
    """Return the folder holding the broker's jars, running Maven only when they are missing.

    Maven copies into a private temporary folder that is renamed into place, so a crash or a
    concurrent launcher never leaves a half-filled ``libs`` folder behind.
    """
    libs = _libs_dir(cache_dir, version)
    if _jars_present(libs, version):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaError("Maven (mvn) is needed once to fetch the Kafka jars; it is not on PATH")
    staging = libs.with_name(f"libs.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn, "-q", "-B", "-f", str(POM), f"-Dkafka.version={version}",
        "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not _jars_present(staging, version):
        shutil.rmtree(staging, ignore_errors=True)
        raise KafkaError(f"mvn failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    if libs.exists() and not _jars_present(libs, version):
        shutil.rmtree(libs)  # an incomplete folder left by something else
    try:
        staging.rename(libs)
    except OSError:  # another launcher won the race
        shutil.rmtree(staging, ignore_errors=True)
        if not _jars_present(libs, version):
            raise
    return libs


def new_cluster_id() -> str:
    """Return a random KRaft cluster id (16 random bytes, URL-safe base64 without padding)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka's own generator avoids ids that look like options
            return cid


def java_executable() -> str:
    """Return the java launcher from JAVA_HOME or PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise KafkaError("java (17 or newer) is needed to run the Kafka broker; not on PATH")
    return found


# Only for nodes of a replicated cluster. Unclean election is Kafka's default already; it is spelt
# out because the crash tests rely on it (an out-of-sync replica must never become leader and
# drop acknowledged writes). A dead node is fenced, and its partitions led elsewhere, after the
# session timeout: 6 s instead of 9 s keeps the local crash tests short while still riding out
# a long GC pause on a slow machine.
CLUSTER_SETTINGS = {
    "unclean.leader.election.enable": "false",
    "broker.heartbeat.interval.ms": "1000",
    "broker.session.timeout.ms": "6000",
}


def min_insync_replicas(replication: int) -> int:
    """The ``min.insync.replicas`` that goes with ``replication``: 2 from 3 replicas up (one
    broker may fail without losing an acknowledged write), else 1 (nothing to spare)."""
    return 2 if replication >= 3 else 1


def server_properties(
    port: int,
    controller_port: int,
    log_dir: Path,
    *,
    node_id: int = 1,
    voters: str | None = None,
    replication: int = 1,
) -> str:
    """Return server.properties for one combined broker+controller on 127.0.0.1.

    The defaults describe the single-node broker; a cluster node passes its ``node_id``, the
    quorum's ``voters`` (``id@host:port,...``) and the cluster's ``replication`` factor.
    """
    min_isr = str(min_insync_replicas(replication))
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters or f"{node_id}@{HOST}:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "6",
        "default.replication.factor": str(replication),
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": str(replication),
        "offsets.topic.num.partitions": "6",
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "6",
        "share.coordinator.state.topic.replication.factor": str(replication),
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
        "log.retention.ms": "-1",
        "log.retention.bytes": "-1",
        "num.network.threads": "2",
        "num.io.threads": "4",
    }
    if replication > 1:
        settings.update(CLUSTER_SETTINGS)  # the single broker's file stays as it always was
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def log4j2_properties(log_file: Path) -> str:
    """Return a log4j2 configuration that writes INFO and above to ``log_file`` only."""
    return "\n".join([
        "status = warn",
        "name = local-kafka",
        "appender.file.type = RollingFile",
        "appender.file.name = FILE",
        f"appender.file.fileName = {log_file}",
        f"appender.file.filePattern = {log_file}.%i",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d] %p %m (%c)%n",
        "appender.file.policies.type = Policies",
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
        "appender.file.policies.size.size = 20MB",
        "appender.file.strategy.type = DefaultRolloverStrategy",
        "appender.file.strategy.max = 3",
        "rootLogger.level = INFO",
        "rootLogger.appenderRef.file.ref = FILE",
        "",
    ])


class KafkaBroker:
    """One local Kafka broker whose configuration, data and logs live in ``data_dir``.

    Layout of ``data_dir``: ``server.properties``, ``log4j2.properties``, ``cluster.id``,
    ``kafka.pid``, ``server.log`` (broker log), ``console.log`` (JVM stdout/stderr) and
    ``data/`` (the partitions and the KRaft metadata log). A cluster's nodes share one
    ``cluster_id_file`` instead of each keeping its own ``cluster.id``.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 19092,
        controller_port: int = 19093,
        *,
        version: str = KAFKA_VERSION,
        cache_dir: Path = DEFAULT_CACHE,
        heap: str = DEFAULT_HEAP,
        node_id: int = 1,
        voters: str | None = None,
        replication: int = 1,
        cluster_id_file: Path | None = None,
        jvm_options: Sequence[str] = (),
    ) -> None:
        """Describe a broker; nothing is started until :meth:`start`.

        ``node_id``, ``voters``, ``replication`` and ``cluster_id_file`` make it one node of a
        cluster (see :func:`server_properties`); their defaults give the single broker.
        ``jvm_options`` are added to the java command line.
        """
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.controller_port = controller_port
        self.version = version
        self.cache_dir = Path(cache_dir)
        self.heap = heap
        self.node_id = node_id
        self.voters = voters
        self.replication = replication
        self._cluster_id_file = Path(cluster_id_file) if cluster_id_file else None
        self.jvm_options = tuple(jvm_options)

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string, ``127.0.0.1:<port>``."""
        return f"{HOST}:{self.port}"

    @property
    def pid_file(self) -> Path:
        """Where the broker's pid is recorded."""
        return self.data_dir / "kafka.pid"

    @property
    def log_file(self) -> Path:
        """The broker's own log (log4j2)."""
        return self.data_dir / "server.log"

    @property
    def _config(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _log4j(self) -> Path:
        return self.data_dir / "log4j2.properties"

    @property
    def _console(self) -> Path:
        return self.data_dir / "console.log"

    @property
    def _storage(self) -> Path:
        return self.data_dir / "data"

    def pid(self) -> int | None:
        """Return the pid of this data dir's running broker, or None."""
        pid = _proc.read_pid(self.pid_file)
        if pid is None or not _proc.pid_alive(pid):
            return None
        child = _children.get(pid)
        if child is not None and child.poll() is None and str(self._config) in _args(child):
            # our own unreaped child: the number cannot have been reused, and its /proc
            # cmdline reads empty for a moment while the JVM's exec completes
            return pid
        cmdline = _proc.pid_cmdline(pid)
        if MAIN_CLASS not in cmdline or str(self._config) not in cmdline:
            return None  # stale pid file, the number now belongs to another process
        return pid

    def is_running(self) -> bool:
        """Return True when this data dir's broker process is alive."""
        return self.pid() is not None

    def start(self) -> None:
        """Start the broker unless it already runs; returns without waiting for readiness."""
        if self.is_running():
            self._check_running_ports()
            return
        self._check_ports_free()
        libs = ensure_jars(self.version, self.cache_dir)
        self._write_config()
        self._format_storage(libs)
        self._launch(libs)

    def _properties(self) -> str:
        return server_properties(
            self.port, self.controller_port, self._storage,
            node_id=self.node_id, voters=self.voters, replication=self.replication,
        )

    def _check_running_ports(self) -> None:
        if self._config.read_text() != self._properties():
            raise KafkaError(
                f"the broker of {self.data_dir} already runs with other settings"
                f" (see {self._config}); stop it first to use port {self.port}"
            )

    def _check_ports_free(self) -> None:
        for port in (self.port, self.controller_port):
            if _proc.port_open(HOST, port):
                raise KafkaError(f"{HOST}:{port} is already in use by another process")

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._storage.mkdir(exist_ok=True)
        self._config.write_text(self._properties())
        self._log4j.write_text(log4j2_properties(self.log_file))

    def cluster_id(self) -> str:
        """Return the cluster id persisted in the data dir, creating it on first use."""
        path = self._cluster_id_file or self.data_dir / "cluster.id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()

    def _java(self, libs: Path, *args: str) -> list[str]:
        return [
            java_executable(),
            f"-Xmx{self.heap}",
            *self.jvm_options,
            # the quick compiler only: the optimising one spent as much CPU compiling during the
            # first minutes of load as the broker spent serving (5 ms of CPU per order against
            # 2 once warm), on the same two cores as the services; with the quick compiler alone
            # the broker is warm within a minute and no slower afterwards (make bench, per-thread
            # CPU of the JVM; docs/decisions/0017)
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self._log4j}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp",
            f"{libs}/*",
            *args,
        ]

    def _format_storage(self, libs: Path) -> None:
        if (self._storage / "meta.properties").exists():
            return
        cmd = self._java(
            libs, STORAGE_TOOL, "format", "-t", self.cluster_id(), "-c", str(self._config),
            "--ignore-formatted",
        )
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KafkaError(f"formatting {self._storage} failed:\n{result.stdout}{result.stderr}")

    def _launch(self, libs: Path) -> None:
        cmd = self._java(libs, MAIN_CLASS, str(self._config))
        with self._console.open("ab") as console:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                # its own process group: outlives `python -m deploy.local up`, ignores its ^C;
                # not its own session, which the scheduler would weigh as much as every
                # service together (see LocalPostgres._launch)
                process_group=0,
            )
        _children[proc.pid] = proc
        self.pid_file.write_text(f"{proc.pid}\n")

    def answers(self, timeout: float = 5.0) -> bool:
        """Return True when the broker answers a metadata request (aiokafka admin list_topics)."""
        if not _proc.port_open(HOST, self.port):
            return False
        try:
            _proc.run_coroutine(lambda: _list_topics(self.bootstrap, timeout))
        except Exception:
            return False
        return True

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Block until the broker answers metadata requests; KafkaError on its death or timeout."""

        def ready() -> bool:
            _reap_children()
            if not self.is_running():
                raise KafkaError(f"Kafka broker exited during startup:\n{self._diagnostics()}")
            return self.answers()

        if not _proc.wait_until(ready, timeout, interval=0.25):
            raise KafkaError(f"Kafka broker not ready after {timeout}s:\n{self._diagnostics()}")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after ``timeout``); return True if it ran."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _proc.terminate(pid, timeout, reap=_reap_children)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> bool:
        """Crash the broker with SIGKILL: no controlled shutdown, no clean-shutdown marker, as
        when the process dies; return True if it ran. For fault tests: the next start
        recovers its logs, and meanwhile the controller fences it after the session timeout."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGKILL)

        def gone() -> bool:
            _reap_children()  # a child of ours stays a zombie, alive to kill -0, until reaped
            return not _proc.pid_alive(pid)

        if not _proc.wait_until(gone, 10.0):
            raise KafkaError(f"Kafka broker {pid} survived SIGKILL")
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, Any]:
        """Return a JSON-able description of the broker's state."""
        pid = self.pid()
        return {
            "version": self.version,
            "bootstrap": self.bootstrap,
            "controller": f"{HOST}:{self.controller_port}",
            "data_dir": str(self.data_dir),
            "pid": pid,
            "running": pid is not None,
            "answering": pid is not None and self.answers(),
        }

    def _diagnostics(self) -> str:
        return (
            f"--- {self._console} ---\n{_proc.tail(self._console)}\n"
            f"--- {self.log_file} ---\n{_proc.tail(self.log_file)}"
        )


def _args(child: subprocess.Popen[bytes]) -> list[str]:
    return cast(list[str], child.args)  # _launch passes a list of str


def _reap_children() -> None:
    """Collect exited brokers started by this process, so they leave no zombie behind."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            _children.pop(pid, None)  # a cluster starts and stops nodes from several threads


async def _list_topics(bootstrap: str, timeout: float) -> set[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        topics: list[str] = await admin.list_topics()
        return set(topics)
    finally:
        await admin.close()
