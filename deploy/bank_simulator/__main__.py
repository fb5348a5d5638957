"""``python -m deploy.bank_simulator --host 127.0.0.1 --port 8009 --data-dir .data/local/bank``

Runs the E-transactions simulator under uvicorn, bound to loopback unless told otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from deploy.bank_simulator.app import create_app
from deploy.bank_simulator.keys import DEFAULT_DATA_DIR


def _arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m deploy.bank_simulator",
                                     description="E-transactions (Paybox) simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8009)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="keys and ledger (default: %(default)s)")
    parser.add_argument("--site", default="1999888")
    parser.add_argument("--rang", default="32")
    parser.add_argument("--identifiant", default="107904482")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Start the simulator and serve until stopped."""
    arguments = _arguments(argv)
    app = create_app(arguments.data_dir, site=arguments.site, rang=arguments.rang,
                     identifiant=arguments.identifiant)
    uvicorn.run(app, host=arguments.host, port=arguments.port)


if __name__ == "__main__":
    main()
