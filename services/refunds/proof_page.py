"""An order's proof (``audit_command.order_proof``) as a self-contained, readable HTML page."""

from __future__ import annotations

import json
from html import escape
from typing import Any

__all__ = ["proof_page"]

_STYLE = """body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border:1px solid #ccc;
padding:.3em .5em;vertical-align:top;text-align:left}th{background:#f3f0ea}
code{font-size:12px;word-break:break-all}.ok{color:#176d2c}.bad{color:#a31515;font-weight:bold}
details summary{cursor:pointer}"""


def proof_page(proof: dict[str, Any]) -> str:
    """The proof as HTML: verdict, chains, the events in time order, the refund figures."""
    verdict = "verified" if proof["ok"] else "NOT verified"
    return "\n".join([
        "<!doctype html><html lang='en'><meta charset='utf-8'>",
        f"<title>Proof of order {escape(proof['order_id'])}</title><style>{_STYLE}</style>",
        f"<h1>Order {escape(proof['order_id'])}</h1>",
        f"<p class='{'ok' if proof['ok'] else 'bad'}'>Log {verdict}: every hash chain "
        "recomputed, every refund figure recomputed with the engine.</p>",
        _chains(proof["chains"]), _events(proof["events"]), _figures(proof["refund_figures"]),
        _findings(proof["findings"]), "</html>"])


def _chains(chains: dict[str, str]) -> str:
    rows = "".join(f"<tr><td>{escape(service)}</td><td class='{_css(state == 'ok')}'>"
                   f"{escape(state)}</td></tr>" for service, state in chains.items())
    return f"<h2>Hash chains</h2><table><tr><th>service</th><th>chain</th></tr>{rows}</table>"


def _events(events: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(str(e['occurred_at']))}</td><td>{escape(e['service'])}</td>"
        f"<td>{e['version']}</td><td>{escape(e['type'])}</td>"
        f"<td><code>{escape(e['hash'])}</code></td><td><details><summary>payload</summary>"
        f"<pre>{escape(json.dumps(e['payload'], indent=1, ensure_ascii=False))}</pre>"
        "</details></td></tr>" for e in events)
    return ("<h2>Events, in time order</h2><table><tr><th>occurred at (UTC)</th>"
            "<th>service</th><th>version</th><th>type</th><th>hash</th><th></th></tr>"
            f"{rows}</table>")


def _figures(figures: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escape(f['on'])}</td><td>{escape(f['type'])}</td>"
        f"<td><code>{escape(f['refund_id'])}</code></td>"
        f"<td>{escape(_cents(f['recorded']))}</td><td>{escape(_cents(f['recomputed']))}</td>"
        f"<td class='{_css(f['agrees'])}'>{'agrees' if f['agrees'] else 'DIFFERS'}</td></tr>"
        for f in figures)
    return ("<h2>Refund figures, recomputed</h2><table><tr><th>date</th><th>event</th>"
            "<th>refund</th><th>recorded</th><th>recomputed</th><th></th></tr>"
            f"{rows}</table>")


def _findings(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "<h2>Findings</h2><p class='ok'>None.</p>"
    items = "".join(f"<li class='bad'>{escape(f['type'])} {escape(f['event_id'])}: "
                    f"{escape(f['field'])} recorded {escape(str(f['recorded']))}, "
                    f"recomputed {escape(str(f['recomputed']))}</li>" for f in findings)
    return f"<h2>Findings</h2><ul>{items}</ul>"


def _cents(figures: dict[str, Any]) -> str:
    return ", ".join(f"{name} {value}" for name, value in figures.items())


def _css(ok: bool) -> str:
    return "ok" if ok else "bad"
