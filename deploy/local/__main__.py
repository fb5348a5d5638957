"""CLI: ``python -m deploy.local up|down|status [--brokers N] [--data-dir D] [--kafka-port P] ...``.

``--brokers 3`` runs a three-node KRaft cluster (replication 3, ``min.insync.replicas=2``) with
its own PostgreSQL, in ``.data/cluster`` on ports 32092-32097 (Kafka) and 32432 (PostgreSQL),
apart from the single-broker stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deploy.local.stack import defaults, stack_status, start_stack, stop_stack


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local",
        description="Run a local Kafka broker or cluster (KRaft) and PostgreSQL on 127.0.0.1.",
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--brokers", type=int, default=1,
                        help="Kafka nodes: 1 (default) or a KRaft cluster, e.g. 3")
    parser.add_argument("--data-dir", type=Path, help="default .data/local (.data/cluster)")
    parser.add_argument("--kafka-port", type=int,
                        help="default 19092 (32092: the first node; node i on +2i)")
    parser.add_argument("--controller-port", type=int,
                        help="default 19093 (a cluster puts each controller beside its broker)")
    parser.add_argument("--postgres-port", type=int, help="default 15432 (32432)")
    args = parser.parse_args(argv)
    if args.brokers < 1:
        parser.error("--brokers must be at least 1")
    if args.brokers > 1 and args.controller_port is not None:
        parser.error("--controller-port is for a single broker; cluster nodes use port + 1")
    return _with_defaults(args)


def _with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Fill in what the command line left out: the single-broker stack's places, or the
    cluster stack's."""
    found = defaults(args.brokers)
    for name in ("data_dir", "kafka_port", "controller_port", "postgres_port"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(found, name))
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Carry out one command and return its JSON-able result."""
    where = (args.data_dir, args.kafka_port, args.controller_port, args.postgres_port)
    if args.command == "up":
        return start_stack(*where, brokers=args.brokers).as_dict()
    if args.command == "down":
        return {"stopped": stop_stack(*where, brokers=args.brokers)}
    return stack_status(*where, brokers=args.brokers)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; prints a JSON object on stdout and returns the exit status."""
    args = parse_args(argv)
    try:
        result = run(args)
    except (RuntimeError, OSError) as err:
        print(f"deploy.local {args.command} failed: {err}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    if args.command == "status":
        return 0 if result["kafka"]["answering"] and result["postgres"]["answering"] else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
