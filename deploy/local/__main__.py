"""CLI: ``python -m deploy.local up|down|status [--data-dir D] [--kafka-port P] ...``."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deploy.local.stack import (
    DEFAULT_CONTROLLER_PORT,
    DEFAULT_DATA_DIR,
    DEFAULT_KAFKA_PORT,
    DEFAULT_POSTGRES_PORT,
    stack_status,
    start_stack,
    stop_stack,
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local",
        description="Run a local Kafka broker (KRaft) and PostgreSQL on 127.0.0.1.",
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--kafka-port", type=int, default=DEFAULT_KAFKA_PORT)
    parser.add_argument("--controller-port", type=int, default=DEFAULT_CONTROLLER_PORT)
    parser.add_argument("--postgres-port", type=int, default=DEFAULT_POSTGRES_PORT)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Carry out one command and return its JSON-able result."""
    where = (args.data_dir, args.kafka_port, args.controller_port, args.postgres_port)
    if args.command == "up":
        return start_stack(*where).as_dict()
    if args.command == "down":
        return {"stopped": stop_stack(*where)}
    return stack_status(*where)


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
