"""Kafka record values the tests publish themselves, as a producer other than the relay would."""

from __future__ import annotations

import json
import uuid

from contracts.envelope import EmittingService, encode_record, seal
from contracts.hashing import GENESIS_HASH
from contracts.orders import OrderPlaced
from contracts.vocabulary import PricedLine
from tests.support.sealed import SEALED
from tests.support.waiting import stack_now


def valid_order_placed(order_id: str) -> bytes:
    event = OrderPlaced(
        buyer_id="buyer-poison-test",
        lines=(PricedLine(sku="COTES-ROUSSILLON-BLANC-2024", name="Côtes du Roussillon blanc",
                          quantity=1, unit_price_cents=850, line_total_cents=850),),
        personal=SEALED,
        delivery_method="standard", delivery_charge_cents=990, products_total_cents=850,
        total_cents=1840, terms_version="CGV-2026-01", validated_at=stack_now())
    return encode_record(seal(event, order_id=order_id, version=1, prev_hash=GENESIS_HASH,
                              occurred_at=stack_now(),
                              producer=EmittingService(service="orders", build="test"),
                              correlation_id=uuid.uuid4()))


def with_schema_version(raw: bytes, version: int) -> bytes:
    document = json.loads(raw)
    document["schema_version"] = version
    return json.dumps(document).encode()
