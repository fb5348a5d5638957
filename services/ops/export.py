"""``export BUYER``: the buyer's contract copy on a durable medium (terms Art. 6–7).

For every order of the buyer: the order as the buyer's own ``GET`` endpoints show it (personal
fields opened with the buyer's key, as ``/buyers/{id}/personal-data`` does) with its events as
recorded (sealed fields stay sealed: the hashes hold), the version of the terms accepted and the
SHA-256 of their text, the payment with its events, the invoice and credit notes as
``GET /orders/{id}/invoice`` answers them and the invoice PDF (rendered from the recorded events:
the same bytes as ``invoice.pdf``). A manifest gives the SHA-256 of every file, and
``SHA256SUMS`` lets anyone check the copy with ``sha256sum -c``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from services.orders.invoice_api import InvoiceDocuments
from services.orders.invoice_pdf import invoice_pdf
from services.orders.invoices import billed_to, recorded_documents
from services.orders.rights import export_buyer_data
from services.orders.views import OrderView, order_record
from services.payments.views import PaymentView, payment_record
from services.platform.db import create_pool
from services.platform.personal import PostgresKeyStore
from services.platform.settings import LogSettings

__all__ = ["MANIFEST", "SUMS", "Export", "contract_copy", "document", "export_buyer",
           "manifest", "safe_name", "sha256sums"]

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
Files = dict[str, bytes]  # path inside the export → content


@dataclass(frozen=True)
class Export:
    """What was written: where, for which orders, and the manifest."""

    directory: Path
    orders: list[str]
    manifest: dict[str, Any]


def document(value: Any) -> bytes:
    """JSON as written to the medium: indented, keys sorted, UTF-8 (the same data, the same
    bytes)."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
            + "\n").encode()


def safe_name(name: str) -> str:
    """``name`` as one path component (an id chosen by a client must not climb directories)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).strip(".")
    return cleaned or "_"


def manifest(buyer_id: str, exported_at: dt.datetime, files: Mapping[str, bytes],
             ) -> dict[str, Any]:
    """The SHA-256 and size of every file, in path order."""
    return {"buyer_id": buyer_id, "exported_at": exported_at.isoformat(),
            "algorithm": "SHA-256",
            "files": [{"path": path, "sha256": hashlib.sha256(files[path]).hexdigest(),
                       "bytes": len(files[path])} for path in sorted(files)]}


def sha256sums(files: Mapping[str, bytes]) -> bytes:
    """``sha256sum``'s format: ``<hex>  <path>`` per line."""
    return "".join(f"{hashlib.sha256(files[path]).hexdigest()}  {path}\n"
                   for path in sorted(files)).encode()


async def contract_copy(orders: asyncpg.Pool, payments: asyncpg.Pool, buyer_id: str,
                        now: dt.datetime) -> tuple[list[str], Files]:
    """The buyer's orders and every file of their contract copy."""
    data = await export_buyer_data(orders, PostgresKeyStore(orders), buyer_id, now)
    files: Files = {}
    for view in data.orders:
        files |= await _order_files(orders, payments, view)
    order_ids = [view.order_id for view in data.orders]
    files["buyer.json"] = document({"buyer_id": buyer_id, "exported_at": now.isoformat(),
                                    "orders": order_ids})
    return order_ids, files


async def _order_files(orders: asyncpg.Pool, payments: asyncpg.Pool, view: OrderView) -> Files:
    base = f"orders/{safe_name(view.order_id)}"
    files = {
        f"{base}/order.json": document({"order": view.model_dump(mode="json"),
                                        "events": await _events(orders, view.order_id)}),
        f"{base}/terms.json": document(await _terms(orders, view.terms_version)),
        f"{base}/payment.json": document(await _payment(payments, view.order_id)),
    }
    return files | await _invoice_files(orders, view.order_id, base)


async def _events(db: asyncpg.Pool, order_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT envelope FROM events WHERE order_id = $1 ORDER BY version",
                          order_id)
    return [row["envelope"] for row in rows]


async def _terms(orders: asyncpg.Pool, version: str) -> dict[str, Any]:
    row = await orders.fetchrow(
        "SELECT version, sha256, published_at FROM terms_versions WHERE version = $1", version)
    return {"accepted_terms_version": version,
            "terms_text_sha256": row["sha256"] if row else None,
            "published_at": row["published_at"].isoformat() if row else None}


async def _payment(payments: asyncpg.Pool, order_id: str) -> dict[str, Any]:
    record = await payment_record(payments, order_id)
    view = PaymentView.model_validate(record.model_dump(exclude={"personal"})) if record else None
    return {"payment": view.model_dump(mode="json") if view else None,
            "events": await _events(payments, order_id)}


async def _invoice_files(orders: asyncpg.Pool, order_id: str, base: str) -> Files:
    """The invoice as ``GET /orders/{id}/invoice`` and ``…/invoice.pdf`` give it, if issued."""
    issued, notes = await recorded_documents(orders, order_id)
    record = await order_record(orders, order_id)
    if issued is None or record is None:
        return {}
    billed = await billed_to(PostgresKeyStore(orders), record, reveal=True)  # the buyer's copy
    documents = InvoiceDocuments(invoice=issued, billed_to=billed, credit_notes=notes)
    return {f"{base}/invoice.json": document(documents.model_dump(mode="json")),
            f"{base}/{safe_name(issued.invoice_id)}.pdf": invoice_pdf(issued, billed, notes)}


async def export_buyer(settings: LogSettings, buyer_id: str, out: Path,
                       now: dt.datetime) -> Export:
    """Write the buyer's contract copy into ``out`` (a new or empty folder)."""
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: an export goes into a folder of its own")
    orders = await create_pool(settings.database_url_for("orders"), max_size=2)
    payments = await create_pool(settings.database_url_for("payments"), max_size=2)
    try:
        order_ids, files = await contract_copy(orders, payments, buyer_id, now)
    finally:
        await orders.close()
        await payments.close()
    if not order_ids:
        raise LookupError(f"no order of buyer {buyer_id}")
    listing = manifest(buyer_id, now, files)
    _write(out, {**files, MANIFEST: document(listing)})
    _write(out, {SUMS: sha256sums({**files, MANIFEST: document(listing)})})
    return Export(out, order_ids, listing)


def _write(out: Path, files: Mapping[str, bytes]) -> None:
    for path, content in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
