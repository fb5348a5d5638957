"""The committed JSON Schemas and AsyncAPI document are what the code generates."""

from __future__ import annotations

import json

from contracts.schema_export import ASYNCAPI_FILE, rendered_files
from contracts.topics import all_topics
from tests.support.sealed import SEALED


def test_committed_schemas_and_asyncapi_match_the_code() -> None:
    drifted = [path.name for path, text in rendered_files().items()
               if not path.exists() or path.read_text() != text]
    assert drifted == [], "run `make schemas` and commit the result"


def test_asyncapi_documents_every_topic() -> None:
    document = json.loads(ASYNCAPI_FILE.read_text())
    assert sorted(document["channels"]) == sorted(all_topics())


def test_committed_schema_accepts_an_event_the_code_produces() -> None:
    import datetime as dt

    import jsonschema

    from contracts.orders import OrderPlaced
    from contracts.schema_export import SCHEMA_DIR
    from contracts.vocabulary import PricedLine

    event = OrderPlaced(
        buyer_id="b", lines=(PricedLine(sku="ROUGE", name="Rouge", quantity=2,
                                        unit_price_cents=890, line_total_cents=1780),),
        personal=SEALED,
        delivery_method="standard", delivery_charge_cents=990, products_total_cents=1780,
        total_cents=2770, terms_version="CGV-2026-01",
        validated_at=dt.datetime(2026, 5, 13, tzinfo=dt.UTC))
    schema = json.loads((SCHEMA_DIR / "OrderPlaced.v1.json").read_text())
    jsonschema.validate(event.model_dump(mode="json"), schema)
    with __import__("pytest").raises(jsonschema.ValidationError):
        jsonschema.validate({**event.model_dump(mode="json"), "total_cents": -1}, schema)
