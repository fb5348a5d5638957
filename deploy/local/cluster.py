"""A local multi-broker Apache Kafka cluster (KRaft) from the same jars as the single broker.

Every node is a combined broker+controller (:class:`~deploy.local.kafka.KafkaBroker` given a node
id, the quorum's voters and the replication factor); the controller quorum is all the nodes.
From three nodes up, topics default to ``replication.factor=3`` and ``min.insync.replicas=2``
(the internal offsets and transaction topics too) and unclean leader election is off, as in
production: one node may crash without losing an acknowledged ``acks=all`` write.

Layout of ``data_dir``: ``cluster.id`` (shared by the nodes) and ``node-<i>/`` for node index
``i`` (KRaft ``node.id`` ``i + 1``), each laid out as a single broker's data dir. Node ``i``
listens on ``base_port + 2 i`` (clients) and ``base_port + 2 i + 1`` (controller).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from deploy.local import _proc
from deploy.local.kafka import (
    DEFAULT_CACHE,
    HOST,
    KAFKA_VERSION,
    KafkaBroker,
    KafkaError,
    _reap_children,
)

T = TypeVar("T")

DEFAULT_SIZE = 3
# three JVMs share a small machine; the broker's own 512m is more than a local cluster needs
DEFAULT_NODE_HEAP = "384m"
# C1 only: three JVMs booting at once on two cores spend most of their start-up in the C2
# compiler; without it the cluster is ready in ~17 s instead of ~29 s, and the lower peak
# throughput does not matter for local runs and tests
NODE_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)
# how long the last nodes may go on shutting down once the others took the quorum with them
QUORUM_LOST_GRACE = 5.0


class KafkaCluster:
    """``size`` local Kafka nodes in ``data_dir``, on ports from ``base_port`` (see module doc)."""

    def __init__(
        self,
        data_dir: Path,
        base_port: int = 32092,
        size: int = DEFAULT_SIZE,
        *,
        version: str = KAFKA_VERSION,
        cache_dir: Path = DEFAULT_CACHE,
        heap: str = DEFAULT_NODE_HEAP,
    ) -> None:
        """Describe the cluster; nothing is started until :meth:`start`."""
        if size < 1:
            raise ValueError("a cluster needs at least one node")
        self.data_dir = Path(data_dir).resolve()
        self.base_port = base_port
        self.size = size
        self.replication = min(size, 3)
        voters = ",".join(
            f"{i + 1}@{HOST}:{self._controller_port(i)}" for i in range(size)
        )
        self.nodes = [
            KafkaBroker(
                self.data_dir / f"node-{i}",
                self._broker_port(i),
                self._controller_port(i),
                version=version,
                cache_dir=cache_dir,
                heap=heap,
                node_id=i + 1,
                voters=voters,
                replication=self.replication,
                cluster_id_file=self.data_dir / "cluster.id",
                jvm_options=NODE_JVM_OPTIONS,
            )
            for i in range(size)
        ]

    def _broker_port(self, index: int) -> int:
        return self.base_port + 2 * index

    def _controller_port(self, index: int) -> int:
        return self.base_port + 2 * index + 1

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers naming every node, so clients find the cluster with any node down."""
        return ",".join(node.bootstrap for node in self.nodes)

    def node(self, index: int) -> KafkaBroker:
        """The node of index ``index`` (0-based; its KRaft ``node.id`` is ``index + 1``)."""
        return self.nodes[index]

    def index_of(self, node_id: int) -> int:
        """The index of the node whose KRaft ``node.id`` (as metadata reports it) is ``node_id``."""
        for index, node in enumerate(self.nodes):
            if node.node_id == node_id:
                return index
        raise KeyError(f"no node {node_id} in this cluster")

    def pids(self) -> list[int | None]:
        """The pid of each node's running process (None for a node that is down)."""
        return [node.pid() for node in self.nodes]

    def is_running(self) -> bool:
        """Return True when any node of the cluster runs."""
        return any(pid is not None for pid in self.pids())

    def start(self) -> None:
        """Start every node that is not running; returns without waiting (see :meth:`wait_ready`).

        Nodes format their storage and boot in parallel: the JVMs' start-up dominates.
        """
        self.nodes[0].cluster_id()  # created once, before the nodes race to format with it
        running_before = {node.node_id for node in self.nodes if node.is_running()}
        try:
            self._parallel(lambda node: node.start())
        except BaseException:
            # leave no half-started cluster behind, but leave alone the nodes that ran before
            self._parallel(lambda node: node.node_id in running_before or node.stop())
            raise

    def start_node(self, index: int) -> None:
        """Start (or restart after :meth:`stop_node` / :meth:`kill`) the node of ``index``."""
        self.nodes[index].start()

    def stop_node(self, index: int, timeout: float = 30.0) -> bool:
        """Stop one node gracefully (controlled shutdown: its leaderships move first)."""
        return self.nodes[index].stop(timeout)

    def kill(self, index: int) -> bool:
        """Crash one node with SIGKILL; return True if it ran."""
        return self.nodes[index].kill()

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop every node: SIGTERM to all at once, SIGKILL to those left after ``timeout``, or
        sooner once too few remain for a quorum; return True if any node ran.

        A broker's controlled shutdown waits (up to 5 minutes) for the controller quorum to
        approve it; once a majority of the nodes has exited, no approval can come, so the rest
        get ``QUORUM_LOST_GRACE`` seconds to finish on their own, then SIGKILL.
        """
        pids = self.pids()
        for pid in pids:
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        self._wait_stopped(pids, time.monotonic() + timeout)
        for node in self.nodes:
            node.pid_file.unlink(missing_ok=True)
        return any(pid is not None for pid in pids)

    def _wait_stopped(self, pids: list[int | None], deadline: float) -> None:
        quorum_lost_at: float | None = None
        while True:
            _reap_children()
            alive = [i for i, pid in enumerate(pids) if pid is not None and _proc.pid_alive(pid)]
            if not alive:
                return
            now = time.monotonic()
            if quorum_lost_at is None and len(alive) <= self.size // 2:
                quorum_lost_at = now
            if now >= deadline or (quorum_lost_at and now - quorum_lost_at >= QUORUM_LOST_GRACE):
                for index in alive:
                    self.nodes[index].kill()
                return
            time.sleep(0.1)

    def registered_brokers(self, timeout: float = 5.0) -> set[int]:
        """The node ids of the brokers the cluster metadata lists as alive (not fenced)."""
        return _proc.run_coroutine(lambda: _alive_brokers(self.bootstrap, timeout))

    def answers(self) -> bool:
        """Return True when every node runs and the metadata lists all of them as brokers."""
        if not all(node.is_running() for node in self.nodes):
            return False
        if not all(_proc.port_open(HOST, node.port) for node in self.nodes):
            return False  # booting: asking now would only fill the log with refused connections
        try:
            return self.registered_brokers() == {node.node_id for node in self.nodes}
        except Exception:  # no node answers yet, or the quorum still elects its leader
            return False

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Block until every node is registered and unfenced; KafkaError when a node dies or
        on timeout. Also the way to wait for a restarted node to rejoin."""

        def ready() -> bool:
            _reap_children()
            for node in self.nodes:
                if not node.is_running():
                    raise KafkaError(f"Kafka node {node.node_id} is not running:\n"
                                     f"{node._diagnostics()}")
            return self.answers()

        if not _proc.wait_until(ready, timeout, interval=0.5):
            logs = "\n".join(node._diagnostics() for node in self.nodes)
            raise KafkaError(f"Kafka cluster not ready after {timeout}s:\n{logs}")

    def status(self) -> dict[str, Any]:
        """Return a JSON-able description of the cluster and of each node."""
        nodes = [node.status() for node in self.nodes]
        return {
            "bootstrap": self.bootstrap,
            "data_dir": str(self.data_dir),
            "replication": self.replication,
            "running": any(node["running"] for node in nodes),
            "answering": all(node["running"] for node in nodes) and self.answers(),
            "nodes": nodes,
        }

    def _parallel(self, action: Callable[[KafkaBroker], T]) -> list[T]:
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.size) as pool:
            return list(pool.map(action, self.nodes))


async def _alive_brokers(bootstrap: str, timeout: float) -> set[int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout * 1000))
    await admin.start()
    try:
        cluster = await admin.describe_cluster()
        return {int(broker["node_id"]) for broker in cluster["brokers"]}
    finally:
        await admin.close()
