"""``make faults``: the fault suite at full scale on a fresh test stack (the test ports and
``.data/test``: not while ``make test`` runs), and once more against a 3-broker KRaft cluster
(replication factor 3, ``min.insync.replicas=2``) with a broker SIGKILLed under load.

    python -m deploy.faults [--short] [--no-cluster] [--soak-seconds N] [--out DIR]

Writes ``faults.json`` and ``faults.md`` (and ``faults-cluster.*``) in ``bench-results/``;
exits 1 when a guarantee did not hold.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deploy.faults.injections import Stack, all_faults, broker_killed, local_stack
from deploy.faults.run import run_all, suite_on
from deploy.faults.suite import FULL, SHORT, Scale, write_report
from deploy.infrastructure import (
    TEST_PORTS,
    Infrastructure,
    ensure_databases,
    infrastructure,
    reset_test_data,
)
from deploy.local.cluster import KafkaCluster
from deploy.local.stack import make_postgres
from deploy.system import APIS, BACKGROUND, running_system

REPO = Path(__file__).resolve().parents[2]
CLUSTER_DATA = REPO / ".data" / "faults-cluster"
CLUSTER_BASE_PORT = 32292


@contextlib.contextmanager
def single_broker() -> Iterator[Infrastructure]:
    """A fresh test stack from the local launcher (the suite restarts its Kafka and
    PostgreSQL)."""
    reset_test_data()
    with infrastructure() as infra:
        if infra.source != "local launcher":
            raise SystemExit("the fault suite restarts Kafka and PostgreSQL: it needs the local "
                             "launcher (unset KAFKA_BOOTSTRAP and DATABASE_URL)")
        yield infra


def run_on(infra: Infrastructure, scale: Scale, stack_for: Callable[[dict[str, Any]], Stack],
           cluster: bool = False) -> dict[str, Any]:
    """The suite on ``infra``: every process started, the faults, the report."""
    asyncio.run(ensure_databases(infra))
    extra = {"TOPIC_REPLICATION": "3"} if cluster else {}
    with running_system(infra, extra_env=extra) as processes:
        stack = stack_for(processes)
        faults = [broker_killed()] if cluster else all_faults([*APIS, *BACKGROUND])

        async def go() -> dict[str, Any]:
            async with suite_on(stack, infra, scale) as suite:
                return await run_all(suite, faults, with_overload=not cluster,
                                     with_soak=not cluster)
        return asyncio.run(go())


def on_cluster(scale: Scale) -> dict[str, Any]:
    """The suite once against a 3-broker cluster, one broker SIGKILLed under load."""
    shutil.rmtree(CLUSTER_DATA, ignore_errors=True)
    cluster = KafkaCluster(CLUSTER_DATA, CLUSTER_BASE_PORT)
    cluster.start()
    try:
        cluster.wait_ready()
        # its own PostgreSQL: the single-broker run's stores hold events this log never had
        postgres = make_postgres(CLUSTER_DATA, TEST_PORTS["postgres"] + 1)
        postgres.start()
        postgres.wait_ready()
        infra = Infrastructure(cluster.bootstrap, postgres.url(), "3-broker cluster")

        def kill_broker() -> Callable[[], None]:
            victim = 1
            cluster.kill(victim)
            return lambda: cluster.start_node(victim)

        def stack_for(processes: dict[str, Any]) -> Stack:
            return local_stack(processes, kill_broker=kill_broker)
        try:
            return run_on(infra, scale, stack_for, cluster=True)
        finally:
            postgres.stop()
    finally:
        cluster.stop()


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m deploy.faults")
    parser.add_argument("--short", action="store_true", help="the CI scale")
    parser.add_argument("--no-cluster", action="store_true")
    parser.add_argument("--soak-seconds", type=float)
    parser.add_argument("--out", type=Path, default=REPO / "bench-results")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    scale = SHORT if args.short else FULL
    if args.soak_seconds is not None:
        scale = dataclasses.replace(scale, soak_seconds=args.soak_seconds)
    with single_broker() as infra:
        report = run_on(infra, scale, local_stack)
    print(f"report: {write_report(report, args.out)}")
    ok = report["ok"]
    if not args.no_cluster:
        clustered = on_cluster(dataclasses.replace(scale, rebuild_after_each=True))
        write_report(clustered, args.out / "cluster")
        print(f"cluster report: {args.out / 'cluster' / 'faults.json'}")
        ok = ok and clustered["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
