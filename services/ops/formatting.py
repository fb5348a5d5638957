"""How records, ages and hashes are written on the terminal (Rich text). Pure functions."""

from __future__ import annotations

from rich.text import Text

from services.ops.records import Summary

__all__ = ["SERVICE_STYLES", "age", "line", "short"]

SERVICE_STYLES = {"orders": "cyan", "payments": "green", "fulfilment": "yellow",
                  "refunds": "magenta"}
"""One colour per service, the same in every table and in the tail."""


def short(text: str | None, length: int = 12) -> str:
    """The start of a hash or id: enough to tell records apart on a screen."""
    return "-" if not text else text[:length]


def age(seconds: float | None) -> str:
    """A duration as people read it: ``-``, ``850 ms``, ``12.3 s``, ``4 min``, ``2.5 h``,
    ``3.0 d``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def line(summary: Summary) -> Text:
    """One line per record: time, ``topic[partition]@offset``, type, order, version and the
    start of the hash; a dead letter says by whom and why, a re-driven record whence."""
    text = Text()
    text.append(f"{summary.time or '-':<32} ", style="dim")
    text.append(f"{summary.where:<28} ", style=SERVICE_STYLES.get(summary.service, ""))
    if summary.dead_letter is not None:
        text.append("DEAD LETTER ", style="bold red")
    text.append(f"{summary.type or 'UNDECODABLE':<28} ",
                style="bold" if summary.type else "bold red")
    text.append(f"order={summary.order_id} ")
    text.append(f"v{summary.version if summary.version is not None else '?'} ")
    text.append(f"hash={short(summary.hash)}", style="dim")
    if summary.dead_letter is not None:
        dead = summary.dead_letter
        text.append(f"  by {dead.consumer} from {dead.source or '?'}: ", style="red")
        text.append(dead.reason, style="red")
    if summary.redriven_from:
        text.append(f"  re-driven from {summary.redriven_from}", style="bold blue")
    return text
