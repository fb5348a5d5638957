"""``make run``: the local stack (Kafka, PostgreSQL) and every service process, until Ctrl-C.

Kafka and PostgreSQL keep their data in ``.data/local`` and reuse it on the next start. The
service processes of ``deploy/Procfile`` run under honcho, which stops them all on Ctrl-C (or
when one of them dies); then the broker and the database are stopped too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from deploy.bank_simulator.keys import ensure_keys
from deploy.local.stack import start_stack, stop_stack
from deploy.system import RUN_PORTS
from services.payments.settings import BANK_KEYS
from services.platform.auth import generate_keys
from services.platform.settings import DEV_KEYS

REPO = Path(__file__).resolve().parents[1]
PROCFILE = REPO / "deploy" / "Procfile"



def banner(kafka: str, database: str) -> str:
    """What runs where."""
    lines = ["", "Wine shop order lifecycle — local stack", f"  Kafka       {kafka}",
             f"  PostgreSQL  {database}"]
    for service in ("orders", "payments", "fulfilment", "refunds"):
        url = f"http://127.0.0.1:{RUN_PORTS[service]}"
        lines.append(f"  {service:<11} {url}  (API docs {url}/docs, health {url}/health)")
    lines += [f"  bank        http://127.0.0.1:{RUN_PORTS['bank']}  (E-transactions simulator; "
              "test card 4111111111111111)",
              f"  SMTP sink   127.0.0.1:{RUN_PORTS['smtp']}  (mail sent: .venv/bin/python -m "
              "deploy.smtp_sink list)"]
    lines += ["  the clock: .venv/bin/python -m services.platform.clock show|set ISO|advance 10d",
              "  a token: .venv/bin/python -m services.platform.auth token --role ops",
              "           (roles: buyer --subject BUYER_ID, shop, ops, warehouse, carrier, "
              "auditor)",
              "  watch the log: .venv/bin/python -m services.platform.watch",
              "Ctrl-C stops all.", ""]
    return "\n".join(lines)


def main() -> int:
    """Start everything, wait for Ctrl-C, stop everything."""
    generate_keys(REPO / DEV_KEYS)  # the development issuer's key pair, kept in .data/local
    ensure_keys(REPO / BANK_KEYS)  # the simulated bank's keys and the shop's HMAC key
    endpoints = start_stack()
    server = endpoints.database_urls["orders"].rsplit("/", 1)[0] + "/postgres"
    print(banner(endpoints.kafka_bootstrap, server), flush=True)
    env = {**os.environ, "KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap, "DATABASE_URL": server,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-f", str(PROCFILE),
                               "-d", str(REPO)], env=env)
    try:
        return honcho.wait()
    except KeyboardInterrupt:  # honcho received the same Ctrl-C and stops the services
        honcho.wait()
        return 0
    finally:
        print("stopping Kafka and PostgreSQL…", flush=True)
        stop_stack()


if __name__ == "__main__":
    sys.exit(main())
