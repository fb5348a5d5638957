"""The contract copy's files: deterministic JSON, a manifest and SHA256SUMS that check."""

from __future__ import annotations

import datetime as dt
import hashlib

from services.ops.export import document, manifest, safe_name, sha256sums

FILES = {"orders/o1/order.json": b'{"a": 1}\n', "buyer.json": b"{}\n",
         "orders/o1/INV-1.pdf": b"%PDF-1.4 ..."}
AT = dt.datetime(2026, 5, 11, 8, 0, tzinfo=dt.UTC)


def test_the_same_data_is_the_same_bytes() -> None:
    assert document({"b": 1, "a": "é"}) == document({"a": "é", "b": 1}) == (
        '{\n  "a": "é",\n  "b": 1\n}\n'.encode())


def test_the_manifest_lists_every_file_with_its_sha256_and_size() -> None:
    listing = manifest("buyer-1", AT, FILES)
    assert [entry["path"] for entry in listing["files"]] == sorted(FILES)
    for entry in listing["files"]:
        assert entry["sha256"] == hashlib.sha256(FILES[entry["path"]]).hexdigest()
        assert entry["bytes"] == len(FILES[entry["path"]])
    assert listing["exported_at"] == "2026-05-11T08:00:00+00:00"


def test_sha256sums_is_what_sha256sum_checks() -> None:
    lines = sha256sums(FILES).decode().splitlines()
    assert lines[0] == f"{hashlib.sha256(b'{}' + bytes([10])).hexdigest()}  buyer.json"
    assert len(lines) == 3


def test_an_id_cannot_climb_out_of_the_export_folder() -> None:
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("..") == "_" and safe_name("INV-2026-000012") == "INV-2026-000012"
