"""The auditors' commands: ``python -m services.refunds.audit_command verify | proof ORDER_ID``.

``verify`` replays the whole log: the hash chains of every service (``services.platform.verify``)
and the signed checkpoints of their topics, and, for refunds, every figure recomputed by the
engine (``services.refunds.audit``) twice — from ``refunds.events`` on Kafka and from the
refunds database's event store — against the causes of the same order on the other topics;
each issue (``RefundIssued``, ``RefundBalanceIssued``) must match the bank's ``RefundPaid``,
and each ``RefundPaid`` an issue. It prints a JSON report and exits 1 on any finding.

``proof ORDER_ID`` prints one order's proof as JSON: every event of the order on the four topics
in time order with its hash and whether its chain holds (and its topics agree with the stores),
and every refund figure recomputed; ``--html FILE`` also writes it as a readable page.
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
from contracts.topics import SERVICES, dead_letter_topic, events_topic
from services.platform.checkpoints import verify_checkpoints
from services.platform.settings import LogSettings, load_log_settings
from services.platform.verify import (
    COPY,
    ServiceReport,
    checkpoint_settings,
    replay_service,
    summary,
    with_checkpoints,
)
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
    causes = {str(e.get("event_id")): e for service in ("orders", "payments", "fulfilment")
              for stream in log.get(service, {}).values() for e in stream}
    rates = recorded_rates(originals(refunds.get(RATES_STREAM, [])))
    audits = []
    for order_id, stream in sorted(refunds.items()):
        if order_id == RATES_STREAM:
            continue
        events = originals(stream)
        audit = audit_stream(order_id, events, causes, rates)
        bank = originals(log.get("payments", {}).get(order_id, []))
        _bank_paid_what_was_issued(audit, events, bank)
        audits.append(audit)
    return audits


def originals(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of a stream as its events, each once: a copy put back from a dead-letter
    topic, or a second identical record of an event the relay published twice (decision
    0003), is held against the store by ``verify``, but replayed as a second event it read as
    an obligation or a payout recorded twice. A record differing from the first under the
    same id stays (``verify`` reports it too)."""
    first: dict[str, dict[str, Any]] = {}
    events = []
    for envelope in stream:
        event_id = str(envelope.get("event_id"))
        if envelope.get(COPY) or first.get(event_id) == envelope:
            continue
        first.setdefault(event_id, envelope)
        events.append(envelope)
    return events


def _bank_paid_what_was_issued(audit: StreamAudit, stream: list[dict[str, Any]],
                               payments: list[dict[str, Any]]) -> None:
    """Each issue refunds recorded is a payout the bank made (payments' ``RefundPaid`` of its
    refund and attempt) for the amount issued; and each payout the bank made on the order is
    one refunds recorded as issued. Refunds records an issue once it has heard of the
    payment, so a verify run in between reports the payment until then."""
    paid = _paid_by_the_bank(payments)
    issued = _issued(stream)
    for key, envelope, amount in issued:
        bank = paid.get(key)
        bank_amount = bank["payload"].get("amount_cents") if bank else None
        if bank_amount != amount:
            audit.findings.append(Finding(audit.order_id, str(envelope.get("event_id")),
                                          str(envelope.get("type")), "paid by the bank",
                                          amount, bank_amount))
    keys = {key for key, _, _ in issued}
    for key, bank in paid.items():
        if key not in keys:
            audit.findings.append(Finding(
                audit.order_id, str(bank.get("event_id")), "RefundPaid", "issued by refunds",
                bank["payload"].get("amount_cents"), None))


def _paid_by_the_bank(payments: list[dict[str, Any]]) -> dict[tuple[Any, Any], dict[str, Any]]:
    """The bank's payouts on the order (payments' ``RefundPaid``) by refund and attempt."""
    return {(e["payload"].get("refund_id"), e["payload"].get("attempt", 1)): e
            for e in payments if e.get("type") == "RefundPaid"
            and isinstance(e.get("payload"), dict)}


def _issued(stream: list[dict[str, Any]]) -> list[tuple[tuple[Any, Any], dict[str, Any], Any]]:
    """Each issue refunds recorded (``RefundIssued``, ``RefundBalanceIssued``): its refund and
    attempt (a ``RefundIssued`` names none: its refund's latest payout request), its record,
    and the amount it says the bank paid."""
    attempts: dict[Any, Any] = {}
    issued = []
    for envelope in stream:
        payload, kind = envelope.get("payload") or {}, envelope.get("type")
        refund_id = payload.get("refund_id")
        if kind == "RefundPayoutRequested":
            attempts[refund_id] = payload.get("attempt")
        if kind in _ISSUED:
            attempt = payload.get("attempt") or attempts.get(refund_id, 1)
            issued.append(((refund_id, attempt), envelope, payload.get(_ISSUED[kind])))
    return issued


_ISSUED = {"RefundIssued": "total_cents", "RefundBalanceIssued": "amount_cents"}
"""The events saying the bank refunded the buyer, and the field holding how much."""


def _audit_report(audits: list[StreamAudit]) -> dict[str, Any]:
    findings = [vars(f) for audit in audits for f in audit.findings]
    return {"ok": not findings, "orders": len(audits),
            "figures": sum(len(audit.figures) for audit in audits), "findings": findings}


async def verify_all(settings: LogSettings, orders: set[str] | None) -> dict[str, Any]:
    """Hash chains and the signed checkpoints of every service's topics, and refund figures
    recomputed from the topic and from the store."""
    reports, log, stored = await replay(settings, orders)
    from_log = _audit_report(audit_refunds(log, log.get("refunds", {})))
    from_store = _audit_report(audit_refunds(log, stored))
    topics = [topic for service in SERVICES
              for topic in (events_topic(service), dead_letter_topic(events_topic(service)))]
    chains = with_checkpoints(summary(reports), await verify_checkpoints(
        checkpoint_settings(settings), topics))
    return {"ok": chains["ok"] and from_log["ok"] and from_store["ok"], "chains": chains,
            "refunds": {"from_log": from_log, "from_store": from_store}}


async def order_proof(settings: LogSettings, order_id: str) -> dict[str, Any]:
    """One order's proof: its events across the four services in time order, with their hashes
    and chains (and whatever else holding its topics against the stores found), and every
    refund figure recomputed, from the topic and from the store."""
    reports, log, stored = await replay(settings, {order_id})
    chains = {service: _order_chain(reports[service], order_id) for service in SERVICES}
    events = sorted((_row(service, envelope) for service in SERVICES
                     for envelope in log[service].get(order_id, [])),
                    key=lambda row: (row["occurred_at"], SERVICES.index(row["service"]),
                                     row["version"]))
    audits = [a for a in audit_refunds(log, log["refunds"]) if a.order_id == order_id]
    figures = [vars(f) | {"agrees": f.agrees} for a in audits for f in a.figures]
    findings = [vars(f) for a in audits for f in a.findings]
    findings += [vars(f) | {"from": "store"} for a in audit_refunds(log, stored)
                 if a.order_id == order_id for f in a.findings if vars(f) not in findings]
    return {"order_id": order_id, "ok": not findings and all(c == "ok" for c in chains.values()),
            "chains": chains, "events": events, "refund_figures": figures,
            "findings": findings}


_STORE_FINDINGS = (("published_but_not_on_topic", "published but not on the topic"),
                   ("on_topic_but_not_in_store", "on the topic but not in the store"),
                   ("differs_from_store", "on the topic otherwise than in the store"),
                   ("undecodable_records", "undecodable records"))


def _order_chain(report: ServiceReport, order_id: str) -> str:
    """``ok``, or what replaying the order's records of one topic found: its chain broken, or
    events the topic and the store disagree on (a forged event chained on at the end, a tail
    cut from the topic)."""
    if order_id in report.broken_chains:
        return report.broken_chains[order_id]
    found = [f"{label}: {', '.join(getattr(report, name))}" for name, label in _STORE_FINDINGS
             if getattr(report, name)]
    return "; ".join(found) or "ok"


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
