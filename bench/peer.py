"""The peer: the same order commands on the Python ``eventsourcing`` library (its Application,
Aggregate and PostgreSQL persistence) on the same PostgreSQL server, measured in-process.

One process, one thread, the library's defaults (its connection pool, its ``LOCK TABLE`` for
gap-free notification ids, no aggregate cache, no snapshots): N orders, each placed, paid and
shipped back to back (a closed loop of one client), timed over several runs in one scratch
database created and dropped around them.

eventsourcing is synchronous and configured by environment-style settings, so it runs in its
own process: ``python -m bench.peer --server-url URL --orders N`` prints one JSON line, and
``measure_peer`` spawns it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

__all__ = ["Order", "WineShop", "measure_peer", "run_peer"]

ROOT = Path(__file__).resolve().parents[1]
WARM_UP_ORDERS = 20
LINES = [{"sku": "COTES-ROUSSILLON-ROUGE-2022", "name": "Côtes du Roussillon rouge 2022",
          "quantity": 6, "unit_price_cents": 890, "line_total_cents": 5340},
         {"sku": "MUSCAT-RIVESALTES-2023", "name": "Muscat de Rivesaltes 2023",
          "quantity": 2, "unit_price_cents": 1190, "line_total_cents": 2380}]


class Order(Aggregate):
    """An order: placed with its priced lines, then paid in full, then shipped."""

    @event("Placed")
    def __init__(self, buyer_id: str, lines: list[dict[str, Any]], delivery_method: str,
                 delivery_charge_cents: int, terms_version: str) -> None:
        self.buyer_id, self.lines = buyer_id, lines
        self.delivery_method, self.terms_version = delivery_method, terms_version
        self.total_cents = delivery_charge_cents + sum(line["line_total_cents"] for line in lines)
        self.status = "placed"
        self.payment_id: str | None = None
        self.tracking_number: str | None = None

    def pay(self, payment_id: str, amount_cents: int) -> None:
        """Record the full price as received; refused unless placed and the amount is due."""
        if self.status != "placed" or amount_cents != self.total_cents:
            raise ValueError(f"cannot pay {amount_cents} on a {self.status} order")
        self._paid(payment_id, amount_cents)

    def ship(self, carrier: str, tracking_number: str) -> None:
        """Record the parcel handed to the carrier; refused unless paid."""
        if self.status != "paid":
            raise ValueError(f"cannot ship a {self.status} order")
        self._shipped(carrier, tracking_number)

    @event("Paid")
    def _paid(self, payment_id: str, amount_cents: int) -> None:
        self.status, self.payment_id = "paid", payment_id

    @event("Shipped")
    def _shipped(self, carrier: str, tracking_number: str) -> None:
        self.status, self.tracking_number = "shipped", tracking_number


class WineShop(Application[uuid.UUID]):
    """The shop's order commands: each loads the order (except place), decides, saves."""

    def place_order(self, buyer_id: str, lines: list[dict[str, Any]]) -> tuple[uuid.UUID, int]:
        """Place an order for standard delivery; its id and total in cents."""
        order = Order(buyer_id, lines, "standard", 990, "CGV-2026-01")
        self.save(order)
        return order.id, order.total_cents

    def pay_order(self, order_id: uuid.UUID, payment_id: str, amount_cents: int) -> None:
        """Record the order's payment."""
        order: Order = self.repository.get(order_id)
        order.pay(payment_id, amount_cents)
        self.save(order)

    def ship_order(self, order_id: uuid.UUID, carrier: str, tracking_number: str) -> None:
        """Record the order's shipment."""
        order: Order = self.repository.get(order_id)
        order.ship(carrier, tracking_number)
        self.save(order)


def _settings(database_url: str) -> dict[str, str]:
    """eventsourcing's PostgreSQL settings for the database of ``database_url``."""
    url = urlsplit(database_url)
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": url.path.lstrip("/"), "POSTGRES_HOST": url.hostname or "",
            "POSTGRES_PORT": str(url.port or 5432), "POSTGRES_USER": url.username or "",
            "POSTGRES_PASSWORD": url.password or ""}


def _order_flow(shop: WineShop, index: int) -> None:
    order_id, total = shop.place_order(f"buyer-{index}", LINES)
    shop.pay_order(order_id, f"pay-{index}", total)
    shop.ship_order(order_id, "Colissimo", f"6A{index:09d}")


def _timed_run(shop: WineShop, orders: int) -> dict[str, float]:
    started = time.perf_counter()
    for index in range(orders):
        _order_flow(shop, index)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 3), "orders_per_s": round(orders / seconds, 1),
            "commands_per_s": round(3 * orders / seconds, 1)}


def run_peer(database_url: str, orders: int, runs: int) -> dict[str, Any]:
    """Warm up, then ``runs`` timed runs of ``orders`` orders in the (empty) database at
    ``database_url``; each run and the medians."""
    shop = WineShop(env=_settings(database_url))
    try:
        for index in range(WARM_UP_ORDERS):
            _order_flow(shop, index)
        measured = [_timed_run(shop, orders) for _ in range(runs)]
    finally:
        shop.close()
    return {"library": "eventsourcing", "version": importlib.metadata.version("eventsourcing"),
            "orders": orders, "commands_per_order": 3, "runs": measured,
            "median_orders_per_s": statistics.median(r["orders_per_s"] for r in measured),
            "median_commands_per_s": statistics.median(r["commands_per_s"] for r in measured)}


def _in_scratch_database(server_url: str, orders: int, runs: int) -> dict[str, Any]:
    """``run_peer`` in a new database with a random name on that server, dropped after."""
    name = f"bench_peer_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            return run_peer(urlsplit(server_url)._replace(path=f"/{name}").geturl(), orders, runs)
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def measure_peer(server_url: str, orders: int, runs: int = 3) -> dict[str, Any]:
    """Run the peer in its own process on the PostgreSQL server of ``server_url`` (any database
    of it); its figures."""
    command = [sys.executable, "-m", "bench.peer", "--server-url", server_url,
               "--orders", str(orders), "--runs", str(runs)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.peer exited with {done.returncode}: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Entry point: one JSON line on stdout."""
    parser = argparse.ArgumentParser(prog="python -m bench.peer")
    parser.add_argument("--server-url", required=True,
                        help="a PostgreSQL URL of the server (any database of it)")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(_in_scratch_database(args.server_url, args.orders, args.runs)))


if __name__ == "__main__":
    main()
