"""The auditors' commands: ``python -m services.refunds.audit_command verify | proof ORDER_ID``.

``verify`` replays the whole log: the hash chains of every service (``services.platform.verify``)
and, for refunds, every figure recomputed by the engine (``services.refunds.audit``) twice — from
``refunds.events`` on Kafka and from the refunds database's event store — against the causes on
the other topics; each ``RefundIssued`` must match the bank's ``RefundPaid``. It prints a JSON
report and exits 1 on any finding.

``proof ORDER_ID`` prints one order's proof as JSON: every event of the order on the four topics
in time order with its hash and whether its chain holds, and every refund figure recomputed;
``--html FILE`` also writes it as a readable page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from contracts.refunds import RATES_STREAM
from contracts.topics import SERVICES
from services.platform.settings import LogSettings, load_log_settings
from services.platform.verify import COPY, ServiceReport, replay_service, summary
from services.refunds.audit import Finding, StreamAudit, audit_stream, recorded_rates
from services.refunds.proof_page import proof_page

__all__ = ["audit_refunds", "main", "order_proof", "replay", "verify_all"]

Log = dict[str, dict[str, list[dict[str, Any]]]]  # service → order → envelopes in topic order


async def replay(settings: LogSettings, orders: set[str] | None,
                 ) -> tuple[dict[str, ServiceReport], Log, dict[str, list[dict[str, Any]]]]:
    """One read of every topic (hash chains held against each store), the log by service and
    order, and the refunds store by order in stream order (the rates' stream always included)."""
    wanted = None if orders is None else orders | {RATES_STREAM}
    replays = {service: await replay_service(settings, service, wanted) for service in SERVICES}
    stored: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for envelope in sorted(replays["refunds"].store.values(),
                           key=lambda e: (e["order_id"], e["version"])):
        stored[envelope["order_id"]].append(envelope)
    return ({service: r.report for service, r in replays.items()},
            {service: r.topic for service, r in replays.items()}, dict(stored))


def audit_refunds(log: Log, refunds: dict[str, list[dict[str, Any]]]) -> list[StreamAudit]:
    """Recompute every refund figure of ``refunds`` (streams by order) against ``log``."""
    causes = {str(e["event_id"]): e for service in ("orders", "payments", "fulfilment")
              for stream in log.get(service, {}).values() for e in stream}
    rates = recorded_rates(refunds.get(RATES_STREAM, []))
    audits = []
    for order_id, stream in sorted(refunds.items()):
        if order_id == RATES_STREAM:
            continue
        # a copy put back from a dead-letter topic is held against the store by ``verify``;
        # replayed as a second event it looked like an obligation recorded twice
        originals = [envelope for envelope in stream if not envelope.get(COPY)]
        audit = audit_stream(order_id, originals, causes, rates)
        _bank_paid_what_was_issued(audit, originals, log.get("payments", {}).get(order_id, []))
        audits.append(audit)
    return audits


def _bank_paid_what_was_issued(audit: StreamAudit, stream: list[dict[str, Any]],
                               payments: list[dict[str, Any]]) -> None:
    paid = {(e["payload"]["refund_id"], e["payload"].get("attempt", 1)): e["payload"]
            for e in payments if e["type"] == "RefundPaid"}
    attempts: dict[str, int] = {}
    for envelope in stream:
        payload, kind = envelope["payload"], envelope["type"]
        if kind == "RefundPayoutRequested":
            attempts[payload["refund_id"]] = payload["attempt"]
        if kind not in _ISSUED:
            continue
        attempt = payload.get("attempt") or attempts.get(payload["refund_id"], 1)
        bank = paid.get((payload["refund_id"], attempt))
        amount = bank["amount_cents"] if bank else None
        if amount != payload[_ISSUED[kind]]:
            audit.findings.append(Finding(audit.order_id, str(envelope["event_id"]), kind,
                                          "paid by the bank", payload[_ISSUED[kind]], amount))


_ISSUED = {"RefundIssued": "total_cents", "RefundBalanceIssued": "amount_cents"}
"""The events saying the bank refunded the buyer, and the field holding how much."""


def _audit_report(audits: list[StreamAudit]) -> dict[str, Any]:
    findings = [vars(f) for audit in audits for f in audit.findings]
    return {"ok": not findings, "orders": len(audits),
            "figures": sum(len(audit.figures) for audit in audits), "findings": findings}


async def verify_all(settings: LogSettings, orders: set[str] | None) -> dict[str, Any]:
    """Hash chains, and refund figures recomputed from the topic and from the store."""
    reports, log, stored = await replay(settings, orders)
    from_log = _audit_report(audit_refunds(log, log.get("refunds", {})))
    from_store = _audit_report(audit_refunds(log, stored))
    chains = summary(reports)
    return {"ok": chains["ok"] and from_log["ok"] and from_store["ok"], "chains": chains,
            "refunds": {"from_log": from_log, "from_store": from_store}}


async def order_proof(settings: LogSettings, order_id: str) -> dict[str, Any]:
    """One order's proof: its events across the four services in time order, with their hashes
    and chains, and every refund figure recomputed."""
    reports, log, _ = await replay(settings, {order_id})
    chains = {service: reports[service].broken_chains.get(order_id, "ok")
              for service in SERVICES}
    events = sorted((_row(service, envelope) for service in SERVICES
                     for envelope in log[service].get(order_id, [])),
                    key=lambda row: (row["occurred_at"], SERVICES.index(row["service"]),
                                     row["version"]))
    audits = [a for a in audit_refunds(log, log["refunds"]) if a.order_id == order_id]
    figures = [vars(f) | {"agrees": f.agrees} for a in audits for f in a.figures]
    findings = [vars(f) for a in audits for f in a.findings]
    return {"order_id": order_id, "ok": not findings and all(c == "ok" for c in chains.values()),
            "chains": chains, "events": events, "refund_figures": figures,
            "findings": findings}


def _row(service: str, envelope: dict[str, Any]) -> dict[str, Any]:
    return {"service": service, "occurred_at": envelope["occurred_at"],
            "version": envelope["version"], "type": envelope["type"],
            "event_id": envelope["event_id"], "hash": envelope["hash"],
            "prev_hash": envelope["prev_hash"], "payload": envelope["payload"]}


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.refunds.audit_command",
                                     description="Replay the log and recompute every refund.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="hash chains and every refund figure")
    check.add_argument("--order", action="append", help="only these orders")
    proof = commands.add_parser("proof", help="one order's proof, as JSON (and HTML)")
    proof.add_argument("order_id")
    proof.add_argument("--html", type=Path, help="also write the proof as an HTML page here")
    args = parser.parse_args(argv)
    settings = load_log_settings()
    if args.command == "verify":
        result = asyncio.run(verify_all(settings, set(args.order) if args.order else None))
    else:
        result = asyncio.run(order_proof(settings, args.order_id))
        if args.html:
            args.html.write_text(proof_page(result), encoding="utf-8")
    print(json.dumps(result, indent=2, default=str))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
