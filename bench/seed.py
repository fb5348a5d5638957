"""A large, valid orders log put in place fast, for benchmarks: ``python -m bench.seed``.

``seed_orders_log`` writes complete order streams of the orders service into its event store
(``events`` marked published, ``streams``, the buyers' keys), its read model (``order_view``,
``invoice_view``) and, unless told not to, its topic ``orders.events``. Every order is placed,
paid, sent its confirmation, confirmed and invoiced; three in four are then shipped and one in
two delivered (five to seven events, 6.25 on average).

How it stays valid while going fast:

* each variant of an order (its lines and delivery method) is decided once by the real domain
  (``services.orders.domain``, ``services.orders.invoicing``) and sealed by the real
  ``contracts.envelope.seal``; every seeded order is such a template with its own ids, buyer,
  times and invoice number in the same fields (``FIELDS``), and the decision state the real
  ``evolve`` folds, likewise (``STATE_FIELDS``);
* an envelope's ``hash`` is SHA-256 over its RFC 8785 canonical JSON, which for these documents
  (ASCII keys, integers, strings without control characters) is orjson's output with sorted
  keys; the real ``envelope_hash`` and ``Envelope`` check the first order of every chunk;
* rows are written with binary COPY (``copy_records_to_table``), the read model's rows being
  those the orders projection folds from the same events (the tests hold them against a
  rebuild); positions and invoice numbers are reserved first, under the events table's lock;
* records reach ``orders.events`` as the relay sends them: key and partition of the order id,
  headers ``position``, ``event-id`` and ``producer``, the value the stored envelope as the
  relay serialises it (PostgreSQL's jsonb key order, compact), with ``acks=all`` and the
  idempotent producer, in large batches.

Positions and invoice numbers are reserved before anything is written: a seed that fails half
way leaves the chunks it committed (whole orders, published) and gaps in both sequences. With
``publish=False`` the rows still say published, so the relay leaves them alone, but ``verify``
then reports them missing from the topic.

The seeded history is in orders' log and read model only: payments, fulfilment and refunds
never saw it. ``skip_consumers_to_end`` commits their consumer groups at the topic's end, so
that their workers do not react to it (their read models then know none of these orders).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import hashlib
import json
import os
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import CommitFailedError

from contracts.base import Event
from contracts.envelope import EmittingService, Envelope, seal
from contracts.hashing import GENESIS_HASH, envelope_hash
from contracts.personal import PersonalData, Sealed
from contracts.policies import paris_date
from contracts.topics import events_topic
from contracts.vocabulary import DeliveryAddress
from services.orders import domain, invoicing
from services.orders.after_sale import NoteDelivery, NoteShipment
from services.orders.confirmation import message_id
from services.orders.views import offer_at
from services.platform import personal as sealing
from services.platform.collector import collector_paused
from services.platform.kafka_io import partition_for

__all__ = [
    "FIELDS",
    "PROFILES",
    "STATE_FIELDS",
    "GroupBusyError",
    "downstream_groups",
    "jsonb_order",
    "main",
    "plan_seed",
    "seed_orders_log",
    "skip_consumers_to_end",
    "store_chunk",
]

SERVICE = "orders"
PROFILES = (6, 6, 5, 4)
"""Steps of order ``i`` (``PROFILES[i % 4]``): 6 = delivered, 5 = shipped, 4 = invoiced."""
STEP_AFTER = (0, 300, 360, 420, 86_400, 3 * 86_400)
"""Seconds after the order is placed: paid, confirmed, invoiced, shipped, delivered."""
REACTIONS = (False, True, False, False, True, True)
"""Which steps react to another service's event (payment captured, shipped, delivered)."""
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "OrderPlaced": (("buyer_id", "buyer_id"), ("personal", "personal"), ("validated_at", "at")),
    "OrderPaid": (("payment_id", "payment_id"), ("paid_at", "at")),
    "ConfirmationSent": (("message_id", "message_id"), ("sent_at", "at")),
    "OrderConfirmed": (("confirmed_at", "at"),),
    "InvoiceIssued": (("number", "number"), ("invoice_id", "invoice_id"), ("issued_on", "date")),
    "OrderShipped": (("shipped_at", "at"),),
    "OrderDelivered": (("delivered_on", "date"),),
}
"""The payload fields that differ from one order to the next → where each order's value is."""
STATE_FIELDS = (("buyer_id", "buyer_id", 0), ("placed_at", "at", 0), ("paid_on", "date", 1),
                ("delivered_on", "date", 5))
"""Decision-state fields that differ per order: (field, value, step whose time it is)."""
VARIANTS = 12
SPACING_SECONDS = 1
ORDERS_PER_BUYER = 8
_BATCH_BYTES = 512 * 1024
_PRODUCER = SERVICE.encode()
_SLICE = 250
"""Orders generated between two chances for storing and publishing to go on."""


def jsonb_order(value: Any) -> Any:
    """``value`` with every object's keys in PostgreSQL's jsonb order (shorter keys first, then
    bytewise): the order the relay reads an envelope back in, and so publishes it in."""
    if isinstance(value, dict):
        return {key: jsonb_order(value[key])
                for key in sorted(value, key=lambda k: (len(k.encode()), k.encode()))}
    if isinstance(value, list):
        return [jsonb_order(item) for item in value]
    return value


# --- templates: one order per variant, decided by the real domain --------------------------


@dataclass(frozen=True)
class Buyer:
    """A seeded buyer: their id and personal data sealed with their key (as the payload and
    as the read model hold it)."""

    buyer_id: str
    sealed: Sealed
    document: dict[str, Any] = field(default_factory=dict, compare=False)
    text: str = ""

    @classmethod
    def of(cls, buyer_id: str, sealed: Sealed) -> Buyer:
        """The buyer with their sealed data's JSON forms."""
        document = sealed.model_dump(mode="json")
        return cls(buyer_id, sealed, jsonb_order(document), json.dumps(document))


@dataclass(frozen=True)
class OrderValues:
    """What differs from one seeded order to the next."""

    order_id: str
    buyer: Buyer
    payment_id: str
    placed: int
    """Epoch seconds of the placing; every step follows at ``STEP_AFTER``."""
    invoice_number: int

    def at(self, step: int) -> dt.datetime:
        """When ``step`` happened."""
        return dt.datetime.fromtimestamp(self.placed + STEP_AFTER[step], dt.UTC)


def decided_steps(offer: domain.Offer, variant: int,
                  values: OrderValues) -> list[tuple[list[Event], domain.OrderState]]:
    """The six steps of an order decided by the real domain with ``values``: each step's events
    and the decision state after it."""
    request = _request(offer, variant, values.buyer.buyer_id)
    state: domain.OrderState | None = None
    steps: list[tuple[list[Event], domain.OrderState]] = []
    history: list[Event] = []
    for step in range(len(STEP_AFTER)):
        events = _decide(offer, request, state, step, values, history)
        for event in events:
            state = domain.evolve(state, event)
        history.extend(events)
        assert state is not None
        steps.append((events, state))
    return steps


def _decide(offer: domain.Offer, request: domain.OrderRequest, state: domain.OrderState | None,
            step: int, values: OrderValues, history: list[Event]) -> list[Event]:
    now = values.at(step)
    if step == 3:  # the invoicing pass
        return [invoicing.invoice(history, values.invoice_number, paris_date(now),
                                  invoicing.vat_data())]
    command: domain.Command = (
        domain.PlaceOrder(request, offer, values.buyer.sealed) if step == 0
        else domain.RecordPayment(values.payment_id, state.total_cents if state else 0, now)
        if step == 1 else domain.RecordConfirmationSent(message_id(values.order_id))
        if step == 2 else NoteShipment(now) if step == 4 else NoteDelivery(paris_date(now)))
    return domain.decide(state, command, now)


def _request(offer: domain.Offer, variant: int, buyer_id: str) -> domain.OrderRequest:
    skus = sorted(offer.items)
    lines = tuple(domain.RequestedLine(skus[(variant + k * 3) % len(skus)], 1 + (variant + k) % 6)
                  for k in range(1 + variant % 2))
    address = domain.RequestedAddress(recipient="Jeanne Martin", street="12 rue des Vignes",
                                      postcode="66300", city="Thuir")
    return domain.OrderRequest(
        buyer_id=buyer_id, email="bench@example.org", lines=lines, delivery_address=address,
        delivery_method="express" if variant % 3 == 0 else "standard",
        accepted_terms_version=offer.terms_version, declared_of_age=True)


@dataclass(frozen=True)
class Step:
    """One step of a template: its events' types, payloads (jsonb key order) and the fields
    that vary, and the decision state after it (JSON)."""

    events: tuple[tuple[str, dict[str, Any], tuple[tuple[str, str], ...]], ...]
    state: dict[str, Any]


@dataclass(frozen=True)
class Template:
    """One variant of an order: its steps, and what of its ``OrderPlaced`` the read model
    holds (the same for every order of the variant)."""

    steps: tuple[Step, ...]
    placed: dict[str, Any]

    def events(self, steps: int) -> int:
        """How many events the first ``steps`` steps record."""
        return sum(len(step.events) for step in self.steps[:steps])


_TEMPLATE_BUYER = Buyer("template", Sealed(key_id="template", nonce="", ciphertext=""))


def template(offer: domain.Offer, variant: int) -> Template:
    """The variant decided by the real domain and sealed by the real envelope (placeholders)."""
    values = OrderValues("template", _TEMPLATE_BUYER, "template", 1_780_000_000, 1)
    steps = decided_steps(offer, variant, values)
    emitter = EmittingService(service=SERVICE, build="template")
    for events, _ in steps:
        for event in events:  # the real envelope accepts every event the seed writes
            seal(event, order_id="template", version=1, prev_hash=GENESIS_HASH,
                 occurred_at=values.at(0), producer=emitter, correlation_id=uuid.uuid4())
    placed = steps[0][0][0].model_dump(mode="json")
    return Template(
        steps=tuple(Step(tuple((e.type_name(), jsonb_order(e.model_dump(mode="json")),
                                FIELDS[e.type_name()]) for e in events),
                         state.model_dump(mode="json")) for events, state in steps),
        placed={**{name: placed[name] for name in _PLACED_COLUMNS},
                "lines": json.dumps(placed["lines"]), "status": "placed"})


_PLACED_COLUMNS = ("delivery_method", "delivery_charge_cents", "products_total_cents",
                   "total_cents", "terms_version")


# --- ids and instants ---------------------------------------------------------------------


def _hex_uuid(value: int) -> str:
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _uuid7(ms: int, rng: random.Random) -> str:
    """A time-ordered UUID (version 7) of ``ms`` milliseconds since the epoch."""
    return _hex_uuid((ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
                     | rng.getrandbits(62))


def _uuid4(rng: random.Random) -> str:
    """A random UUID (version 4)."""
    return _hex_uuid((rng.getrandbits(48) << 80) | (0x4 << 76) | (rng.getrandbits(12) << 64)
                     | (0b10 << 62) | rng.getrandbits(62))


def _iso(seconds: int) -> str:
    """An instant as the envelope and pydantic write it (whole seconds, UTC, ``Z``)."""
    day, second = divmod(seconds, 86_400)
    return f"{_utc_day(day)}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"


@functools.cache
def _utc_day(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))


@functools.cache
def _paris_day(hour: int) -> dt.date:
    """The Europe/Paris date of the UTC hour ``hour`` (hours since the epoch)."""
    return paris_date(dt.datetime.fromtimestamp(hour * 3600, dt.UTC))


def order_facts(values: OrderValues, steps: int) -> list[dict[str, Any]]:
    """For each of the order's first ``steps`` steps, the values its events take from the
    order and from when the step happened (``FIELDS``, ``STATE_FIELDS``)."""
    own = {"buyer_id": values.buyer.buyer_id, "personal": values.buyer.document,
           "payment_id": values.payment_id, "message_id": message_id(values.order_id),
           "number": values.invoice_number}
    facts = []
    for step in range(steps):
        seconds = values.placed + STEP_AFTER[step]
        day = _paris_day(seconds // 3600)
        facts.append({**own, "at": _iso(seconds), "date": day.isoformat(), "day": day,
                      "instant": dt.datetime.fromtimestamp(seconds, dt.UTC),
                      "invoice_id": f"F{day.year}-{values.invoice_number:06d}"})
    return facts


# --- one chunk of orders -------------------------------------------------------------------

EVENT_COLUMNS = ("position", "event_id", "order_id", "version", "type", "envelope",
                 "published_at")
STREAM_COLUMNS = ("order_id", "version", "last_hash", "state")
VIEW_COLUMNS = ("order_id", "version", "buyer_id", "status", "lines", "personal",
                "delivery_method", "delivery_charge_cents", "products_total_cents", "total_cents",
                "terms_version", "placed_at", "payable_since", "updated_at", "paid_at",
                "paid_cents", "confirmation_sent_at",
                "confirmed_at", "shipped_at", "delivered_on", "invoiced")
INVOICE_COLUMNS = ("order_id", "invoice_id", "number", "issued_on", "total_excl_vat_cents",
                   "vat_cents", "total_incl_vat_cents")
VIEW_CHANGES: dict[str, tuple[str | None, str, str]] = {
    "OrderPaid": (None, "paid_at", "instant"),
    "ConfirmationSent": (None, "confirmation_sent_at", "instant"),
    "OrderConfirmed": ("confirmed", "confirmed_at", "instant"),
    "OrderShipped": ("shipped", "shipped_at", "instant"),
    "OrderDelivered": ("delivered", "delivered_on", "day")}
"""What the orders projection sets on ``order_view`` for each event after ``OrderPlaced``:
(new status, the column set, to the step's instant or date), with the event's version and
instant as the row's ``version`` and ``updated_at``."""


@dataclass
class Chunk:
    """The rows and records of a run of whole orders."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    streams: list[tuple[Any, ...]] = field(default_factory=list)
    views: list[tuple[Any, ...]] = field(default_factory=list)
    invoices: list[tuple[Any, ...]] = field(default_factory=list)
    records: dict[int, list[tuple[bytes, bytes, list[tuple[str, bytes]]]]] = field(
        default_factory=lambda: defaultdict(list))


@dataclass
class Plan:
    """What a seed writes: its templates, buyers, reserved positions and invoice numbers
    (``partitions`` 0: no topic records)."""

    templates: list[Template]
    buyers: list[Buyer]
    orders: int
    start: int
    partitions: int
    build: str
    first_position: int = 1
    first_invoice: int = 1
    rng: random.Random = field(default_factory=lambda: random.Random(os.urandom(16)))
    published_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @functools.cached_property
    def _events_per_profile(self) -> list[int]:
        return [self.templates[0].events(steps) for steps in PROFILES]

    def events_before(self, order: int) -> int:
        """How many events the orders before ``order`` have."""
        whole, rest = divmod(order, len(PROFILES))
        return (whole * sum(self._events_per_profile)
                + sum(self._events_per_profile[:rest]))

    def values(self, i: int) -> OrderValues:
        """Order ``i``'s own ids, buyer, times and invoice number."""
        placed = self.start + i * SPACING_SECONDS
        return OrderValues(_uuid7(placed * 1000, self.rng), self.buyers[i % len(self.buyers)],
                           _uuid4(self.rng), placed, self.first_invoice + i)


class ChunkWriter:
    """Turns orders into rows and records: envelopes chained and hashed, decision state, read
    model."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.producer = jsonb_order({"service": SERVICE, "build": plan.build})
        self.chunk = Chunk()

    def add(self, i: int) -> None:
        """Order ``i``, all the steps of its profile."""
        plan, values = self.plan, self.plan.values(i)
        template = plan.templates[i % len(plan.templates)]
        record = _Record(values, partition_for(values.order_id, plan.partitions)
                         if plan.partitions else None, _uuid4(plan.rng),
                         position=plan.first_position + plan.events_before(i))
        view = {**template.placed, "order_id": values.order_id,
                "buyer_id": values.buyer.buyer_id, "personal": values.buyer.text,
                "invoiced": False}
        facts = order_facts(values, PROFILES[i % len(PROFILES)])
        for step, step_facts in enumerate(facts):
            record.causation = _uuid4(plan.rng) if REACTIONS[step] else None
            if step and not REACTIONS[step]:  # a command: the mailer's, the invoicing pass's
                record.correlation = _uuid4(plan.rng)
            for kind, shape, fields in template.steps[step].events:
                payload = _payload(shape, fields, step_facts)
                self._event(record, kind, payload, step_facts["at"])
                self._project(view, kind, record.version, step_facts, payload)
        self._stream(values, template.steps[len(facts) - 1].state, facts, record)
        self.chunk.views.append(tuple(view.get(column) for column in VIEW_COLUMNS))

    def _event(self, record: _Record, kind: str, payload: dict[str, Any], at: str) -> None:
        """Record the order's next event (store row and topic record), chained to the last."""
        order_id, position, version = record.values.order_id, record.position, record.version + 1
        event_id = _uuid7(record.values.placed * 1000 + version, self.plan.rng)
        unhashed = {"type": kind, "payload": payload, "version": version,
                    "event_id": event_id, "order_id": order_id, "producer": self.producer,
                    "prev_hash": record.last_hash, "occurred_at": at,
                    "causation_id": record.causation, "correlation_id": record.correlation,
                    "schema_version": 1, "idempotency_key": None}
        digest = hashlib.sha256(orjson.dumps(unhashed, option=orjson.OPT_SORT_KEYS)).hexdigest()
        value = b'{"hash":"' + digest.encode() + b'",' + orjson.dumps(unhashed)[1:]
        self.chunk.events.append((position, event_id, order_id, version, kind, value.decode(),
                                  self.plan.published_at))
        if record.partition is not None:
            self.chunk.records[record.partition].append((record.key, value, [
                ("position", str(position).encode()), ("event-id", event_id.encode()),
                ("producer", _PRODUCER)]))
        record.position, record.version, record.last_hash = position + 1, version, digest

    def _project(self, view: dict[str, Any], kind: str, version: int, facts: dict[str, Any],
                 payload: dict[str, Any]) -> None:
        """What the orders projection does with this event (see ``VIEW_CHANGES``)."""
        if kind == "OrderPlaced":
            view.update(version=version, placed_at=facts["instant"],
                        payable_since=facts["instant"], updated_at=facts["instant"])
        elif kind == "InvoiceIssued":
            self.chunk.invoices.append((
                view["order_id"], payload["invoice_id"], payload["number"], facts["day"],
                payload["total_excl_vat_cents"], payload["vat_cents"],
                payload["total_incl_vat_cents"]))
            view["invoiced"] = True
        else:
            status, column, source = VIEW_CHANGES[kind]
            view.update({"version": version, "updated_at": facts["instant"],
                         column: facts[source]})
            if status:
                view["status"] = status
            if kind == "OrderPaid":
                view["paid_cents"] = payload["amount_cents"]

    def _stream(self, values: OrderValues, template_state: dict[str, Any],
                facts: list[dict[str, Any]], record: _Record) -> None:
        """The order's ``streams`` row: the template's state with the order's own values."""
        state = dict(template_state)
        for name, source, step in STATE_FIELDS:
            if state[name] is not None:
                state[name] = facts[step][source]
        self.chunk.streams.append((values.order_id, record.version, record.last_hash,
                                   orjson.dumps(state).decode()))


@dataclass
class _Record:
    """An order being written: where its events go on the topic, how they are linked to their
    causes, and where its stream is (next position, version and hash so far)."""

    values: OrderValues
    partition: int | None
    correlation: str
    causation: str | None = None
    position: int = 1
    version: int = 0
    last_hash: str = GENESIS_HASH

    @property
    def key(self) -> bytes:
        """The record key: the order id."""
        return self.values.order_id.encode()


def _payload(template: dict[str, Any], fields: tuple[tuple[str, str], ...],
             facts: dict[str, Any]) -> dict[str, Any]:
    payload = dict(template)
    for name, source in fields:
        payload[name] = facts[source]
    return payload


def check_sample(chunk: Chunk) -> None:
    """The chunk's first order against the real envelope and hash (raise if they differ)."""
    first_order = chunk.events[0][2]
    for _, _, order_id, _, _, text, _ in chunk.events:
        if order_id != first_order:
            return
        document = json.loads(text)
        Envelope.model_validate(document).event()
        if envelope_hash(document) != document["hash"]:
            raise AssertionError(f"seeded hash of {document['event_id']} is not RFC 8785's")


# --- writing: reserve, copy, publish ---------------------------------------------------------


async def _reserve(conn: asyncpg.Connection, events: int, invoices: int) -> tuple[int, int]:
    """Positions and invoice numbers for the whole seed (first of each), under the events
    table's lock so that no command takes a position in between."""
    async with conn.transaction():
        await conn.execute("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE")
        sequence = await conn.fetchval("SELECT pg_get_serial_sequence('events', 'position')")
        first = await conn.fetchval("SELECT nextval($1::regclass)", sequence)
        await conn.execute("SELECT setval($1::regclass, $2)", sequence, first + events - 1)
        last = await conn.fetchval(
            "INSERT INTO document_numbers (kind, last) VALUES ('invoice', $1) "
            "ON CONFLICT (kind) DO UPDATE SET last = document_numbers.last + $1 RETURNING last",
            invoices)
    return int(first), int(last) - invoices + 1


async def _buyers(conn: asyncpg.Connection, count: int) -> list[Buyer]:
    """``count`` new buyers, each with a live key (``personal_keys``) and sealed data."""
    run, buyers, keys = os.urandom(4).hex(), [], []
    address = DeliveryAddress(recipient="Jeanne Martin", street="12 rue des Vignes",
                              postcode="66300", city="Thuir")
    for n in range(count):
        buyer_id, key_id, key = f"bench-{run}-{n}", f"bench-{run}-{n}", os.urandom(32)
        data = PersonalData(email=f"buyer{n}@example.org", delivery_address=address,
                            declared_of_age=True)
        buyers.append(Buyer.of(buyer_id, sealing.seal(key_id, key, data)))
        keys.append((key_id, buyer_id, key))
    await conn.copy_records_to_table("personal_keys", records=keys,
                                     columns=("key_id", "subject", "material"))
    return buyers


async def store_chunk(conn: asyncpg.Connection, chunk: Chunk) -> tuple[float, float]:
    """The chunk's event store rows, then its read model, in one transaction; seconds of each.
    ``conn`` is a plain connection (jsonb as text: the rows carry their JSON)."""
    async with conn.transaction():
        started = time.perf_counter()
        await conn.copy_records_to_table("events", records=chunk.events, columns=EVENT_COLUMNS)
        await conn.copy_records_to_table("streams", records=chunk.streams,
                                         columns=STREAM_COLUMNS)
        stored = time.perf_counter()
        await conn.copy_records_to_table("order_view", records=chunk.views,
                                         columns=VIEW_COLUMNS)
        await conn.copy_records_to_table("invoice_view", records=chunk.invoices,
                                         columns=INVOICE_COLUMNS)
    return stored - started, time.perf_counter() - stored


def high_throughput_producer(bootstrap: str) -> AIOKafkaProducer:
    """The relay's guarantees (idempotent, ``acks=all``) with large batches and a longer linger."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                            linger_ms=20, max_batch_size=_BATCH_BYTES,
                            request_timeout_ms=60000)


async def _publish(producer: AIOKafkaProducer, topic: str, chunk: Chunk) -> None:
    """The chunk's records, per partition in position order, in full batches; waits for acks."""
    sent = []
    for partition, records in sorted(chunk.records.items()):
        batch = producer.create_batch()
        for key, value, headers in records:
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                sent.append(await producer.send_batch(batch, topic, partition=partition))
                batch = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
        if batch.record_count():
            sent.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*sent)


# --- the seed ------------------------------------------------------------------------------


@dataclass
class Phases:
    """Seconds spent in each phase of a seed."""

    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, name: str, seconds: float) -> None:
        """Count ``seconds`` more to ``name``."""
        self.seconds[name] += seconds

    def since(self, name: str, started: float) -> float:
        """Count the time since ``started`` to ``name``; now."""
        now = time.perf_counter()
        self.add(name, now - started)
        return now


async def _partitions(bootstrap: str, topic: str) -> int:
    """How many partitions ``topic`` has (the relay places keys by the topic's real count)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.client.force_metadata_update()
        partitions = producer.client.cluster.partitions_for_topic(topic)
        if not partitions:
            raise LookupError(f"topic {topic} does not exist: the platform provisions it "
                              "(services.platform.kafka_io.provision_topics)")
        return len(partitions)
    finally:
        await producer.stop()


async def plan_seed(conn: asyncpg.Connection, orders: int, start: int | None, build: str,
                    partitions: int) -> Plan:
    """Templates from the offer in force, new buyers with keys, positions and invoice numbers
    reserved (``partitions`` 0: no topic records are made)."""
    begin = start if start is not None else (
        int(time.time()) - orders * SPACING_SECONDS - STEP_AFTER[-1] - 86_400)
    offer = await offer_at(conn, dt.datetime.fromtimestamp(begin, dt.UTC))
    templates = [template(offer, variant) for variant in range(VARIANTS)]
    async with conn.transaction():
        buyers = await _buyers(conn, max(1, orders // ORDERS_PER_BUYER))
    plan = Plan(templates, buyers, orders, begin, partitions, build)
    plan.first_position, plan.first_invoice = await _reserve(
        conn, plan.events_before(orders), orders)
    return plan


async def seed_orders_log(database_url: str, bootstrap: str, orders: int, *,
                          publish: bool = True, chunk_orders: int = 10_000,
                          start: int | None = None, build: str = "bench-seed") -> dict[str, Any]:
    """Write ``orders`` complete order streams into the orders service's event store and read
    model (and, with ``publish``, its topic, as its relay would); counts and seconds per phase.

    Chunks of ``chunk_orders`` orders go through three overlapping phases: generated, stored
    (with their read model, one transaction per chunk), published after their commit; the
    seconds of a phase are the time it was busy, ``total`` the seed's wall time. ``start`` is
    the epoch second the first order is placed at (one order a second after it; default: so
    that the last delivery is a day in the past). See the module's docstring.
    """
    if orders < 1:
        raise ValueError("seed at least one order")
    phases, began = Phases(), time.perf_counter()
    topic = events_topic(SERVICE)
    conn = await asyncpg.connect(database_url)
    producer = high_throughput_producer(bootstrap) if publish else None
    try:
        partitions = await _partitions(bootstrap, topic) if publish else 0
        plan = await plan_seed(conn, orders, start, build, partitions)
        if producer is not None:
            await producer.start()
        phases.since("prepare", began)
        with collector_paused():  # chunks are millions of objects: no cyclic GC walks over them
            await _pipeline(conn, producer, topic, plan, chunk_orders, phases)
    finally:
        if producer is not None:
            await producer.stop()
        await conn.close()
    return _summary(plan, phases, time.perf_counter() - began)


async def _pipeline(conn: asyncpg.Connection, producer: AIOKafkaProducer | None, topic: str,
                    plan: Plan, chunk_orders: int, phases: Phases) -> None:
    """Generate chunks while the previous ones are stored and published."""
    stored: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=1)
    published: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=1)
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(_generate_all(plan, chunk_orders, stored, phases))
        tasks.create_task(_store_all(conn, stored, published, phases))
        tasks.create_task(_publish_all(producer, topic, published, phases))


async def _generate_all(plan: Plan, chunk_orders: int, out: asyncio.Queue[Chunk | None],
                        phases: Phases) -> None:
    """Every chunk in order; yields to the other phases every few hundred orders."""
    for first in range(0, plan.orders, chunk_orders):
        writer = ChunkWriter(plan)
        for begin in range(first, min(first + chunk_orders, plan.orders), _SLICE):
            mark = time.perf_counter()
            for i in range(begin, min(begin + _SLICE, first + chunk_orders, plan.orders)):
                writer.add(i)
            phases.since("generate", mark)
            await asyncio.sleep(0)
        mark = time.perf_counter()
        check_sample(writer.chunk)
        phases.since("check", mark)
        await out.put(writer.chunk)
    await out.put(None)


async def _store_all(conn: asyncpg.Connection, chunks: asyncio.Queue[Chunk | None],
                     out: asyncio.Queue[Chunk | None], phases: Phases) -> None:
    while (chunk := await chunks.get()) is not None:
        stored, projected = await store_chunk(conn, chunk)
        phases.add("store", stored)
        phases.add("project", projected)
        await out.put(chunk)
    await out.put(None)


async def _publish_all(producer: AIOKafkaProducer | None, topic: str,
                       chunks: asyncio.Queue[Chunk | None], phases: Phases) -> None:
    while (chunk := await chunks.get()) is not None:
        if producer is not None:
            mark = time.perf_counter()
            await _publish(producer, topic, chunk)
            phases.since("publish", mark)


def _summary(plan: Plan, phases: Phases, total: float) -> dict[str, Any]:
    events = plan.events_before(plan.orders)
    return {
        "orders": plan.orders, "events": events, "invoices": plan.orders,
        "buyers": len(plan.buyers), "published": events if plan.partitions else 0,
        "partitions": plan.partitions,
        "positions": [plan.first_position, plan.first_position + events - 1],
        "seconds": {**{name: round(s, 3) for name, s in phases.seconds.items()},
                    "total": round(total, 3)},
        "events_per_second": round(events / total),
    }


# --- downstream consumers ------------------------------------------------------------------


def downstream_groups(topic: str) -> list[str]:
    """The consumer groups of the services' workers that read ``topic``."""
    from services.ops.registry import consumer_groups

    return sorted(group for group, topics in consumer_groups().items() if topic in topics)


async def skip_consumers_to_end(bootstrap: str, group_ids: Sequence[str],
                                topic: str) -> dict[str, dict[int, int]]:
    """Commit each group's offsets on ``topic`` at the topic's end: its worker then starts after
    the seeded records, so the seeded history stays in the topic's own service (the groups'
    read models never hear of it). A group with live members refuses the commit: stop its
    workers first. Returns the offsets committed, by group and partition."""
    return {group: await _commit_at_end(bootstrap, group, topic) for group in group_ids}


class GroupBusyError(RuntimeError):
    """A consumer group has live members, so its offsets cannot be moved from outside."""


async def _commit_at_end(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        partitions = [TopicPartition(topic, p)
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        try:
            await consumer.commit(dict(ends))
        except CommitFailedError as error:
            raise GroupBusyError(f"{group} has live members: stop its workers, then skip "
                                 "its offsets") from error
        return {tp.partition: ends[tp] for tp in partitions}
    finally:
        await consumer.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m bench.seed --orders N [--no-publish] [--skip-consumers]``: prints JSON."""
    from services.platform.settings import LogSettings

    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--orders", type=int, required=True, help=(
        "orders to seed, 6.25 events each on average (160000: a million events)"))
    parser.add_argument("--no-publish", action="store_true",
                        help="leave the topic alone (verify then misses these events)")
    parser.add_argument("--skip-consumers", action="store_true",
                        help="then commit the downstream workers' groups at the topic's end")
    parser.add_argument("--database-url", help="the orders database (default: from settings)")
    parser.add_argument("--bootstrap", help="Kafka (default: KAFKA_BOOTSTRAP)")
    parser.add_argument("--chunk", type=int, default=10_000, help="orders per transaction")
    args = parser.parse_args(argv)
    settings = LogSettings()
    bootstrap = args.bootstrap or settings.kafka_bootstrap
    result = asyncio.run(seed_orders_log(
        args.database_url or settings.database_url_for(SERVICE), bootstrap, args.orders,
        publish=not args.no_publish, chunk_orders=args.chunk))
    if args.skip_consumers:
        topic = events_topic(SERVICE)
        result["skipped_groups"] = asyncio.run(
            skip_consumers_to_end(bootstrap, downstream_groups(topic), topic))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
