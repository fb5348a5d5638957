"""Consumer agents on faust-streaming: one agent per input topic, concurrency 1.

Concurrency 1 keeps each partition's order and keeps the committed offset from running past a
record that is still being applied. The agent takes the records in batches (``take_ready``: as
soon as one is there, with those already fetched behind it and those that come within
``CONSUMER_LINGER_MS``, at most ``BATCH_SIZE``) and hands each batch to
``EventApplier.apply_batch``, which applies it in one transaction and never raises (see
``services.platform.consumer``); a batch's records are acknowledged only when the agent
asks for the next batch, so the committed offset never passes a record not yet applied.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
import faust
from aiokafka import AIOKafkaProducer
from faust.types import TransportT

from services.platform.batches import take_ready
from services.platform.consumer import EventApplier
from services.platform.db import create_pool
from services.platform.fetching import Fetching, fetching_transport
from services.platform.kafka_io import Record, idempotent_producer
from services.platform.settings import ServiceSettings
from services.platform.turns import Turns
from services.platform.wakeups import Wakeups
from services.platform.write_path import EventHandler

__all__ = [
    "SESSION_TIMEOUT_SECONDS",
    "Periodic",
    "Subscription",
    "WorkerApp",
    "WorkerResources",
    "run_timed_work",
    "worker_app",
]


@dataclass(frozen=True)
class Subscription:
    """A consumer of one topic: its name (unique within the service) and handlers by event type."""

    name: str
    topic: str
    handlers: Mapping[str, EventHandler] = field(default_factory=dict)

    def consumer(self, service: str) -> str:
        """The consumer's name in ``service``'s inbox (``processed_events.consumer``)."""
        return f"{service}.{self.name}"


@dataclass(frozen=True)
class Periodic:
    """Timed work a worker runs every ``interval`` seconds on the service's pool: sweeps, and
    outboxes to the outside world (e-mail). ``run`` must be safe to run again after a crash.
    A commit that makes it due runs a pass sooner (``services.platform.wakeups``: the
    service's migrations name the work); ``run`` returns what it did (falsy: nothing). Among
    copies of the worker, one at a time runs a pass (``services.platform.turns``)."""

    name: str
    interval: float
    run: Callable[[asyncpg.Pool], Awaitable[object]]


log = logging.getLogger(__name__)
BATCH_SIZE = 200
SESSION_TIMEOUT_SECONDS = 10.0
"""How long a silent worker keeps its partitions: a crashed worker's partitions move to
another within seconds, not a minute."""


class WorkerResources:
    """The database pool and dead-letter producer of a worker, opened on first use."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._lock = asyncio.Lock()
        self.pool: asyncpg.Pool | None = None
        self.producer: AIOKafkaProducer | None = None
        self.turns = Turns(settings.service_database_url)
        self.wakeups = Wakeups(settings.service_database_url)
        self.linger = settings.consumer_linger_ms / 1000

    async def shared_pool(self) -> asyncpg.Pool:
        """The worker's database pool, opened on first use."""
        async with self._lock:
            if self.pool is None:
                self.pool = await create_pool(self._settings.service_database_url, max_size=4)
            return self.pool

    async def applier(self, subscription: Subscription) -> EventApplier:
        """An ``EventApplier`` for ``subscription`` on the shared pool and producer."""
        await self.shared_pool()
        async with self._lock:
            if self.producer is None:
                self.producer = idempotent_producer(self._settings.kafka_bootstrap)
                await self.producer.start()
        return EventApplier(subscription.consumer(self._settings.service), self.pool,
                            subscription.handlers, self.producer)

    async def close(self) -> None:
        """Close what was opened."""
        if self.producer is not None:
            await self.producer.stop()
        await self.turns.close()
        await self.wakeups.close()
        if self.pool is not None:
            await self.pool.close()


class WorkerApp(faust.App):
    """A faust app that closes the worker's pool and producer when it stops, and whose
    consumer fetches as the worker's settings say (``services.platform.fetching``)."""

    resources: WorkerResources
    fetching: Fetching = Fetching(max_wait_ms=1500, min_bytes=1)

    def _new_transport(self) -> TransportT:
        return fetching_transport(self.fetching)(self.conf.broker_consumer, self)

    async def on_shutdown(self) -> None:
        """Close our resources once everything that uses them has stopped: the agents (faust
        commits their offsets) and the timers. Closing them in ``on_stop`` raced a timer still
        recording its pass ("pool is closing"), and the worker exited with status 1."""
        await super().on_shutdown()
        await self.resources.close()


def worker_app(settings: ServiceSettings, subscriptions: list[Subscription],
               periodic: list[Periodic] | None = None) -> faust.App:
    """A faust app whose agents apply the subscribed topics' records to the service, and whose
    timers run its periodic work."""
    app = WorkerApp(
        settings.consumer_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        web_enabled=False,
        datadir=_data_dir(settings),
        topic_allow_declare=False,  # the platform provisions topics; faust must not create them
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=settings.consumer_commit_interval,
        broker_session_timeout=SESSION_TIMEOUT_SECONDS,
        broker_heartbeat_interval=3.0,
    )
    app.resources = WorkerResources(settings)
    app.fetching = Fetching(settings.consumer_fetch_max_wait_ms,
                            settings.consumer_fetch_min_bytes)
    for subscription in subscriptions:
        _add_agent(app, app.resources, subscription)
    for work in periodic or ():
        _add_timer(app, app.resources, work)
    if periodic:
        app.task(app.resources.wakeups.keep_listening)
    return app


def _add_timer(app: faust.App, resources: WorkerResources, work: Periodic) -> None:
    async def timer() -> None:
        await run_timed_work(work, resources.wakeups, lambda: _run_pass(resources, work),
                             lambda: app.should_stop)

    timer.__name__ = f"periodic_{work.name}"
    app.task(timer)


class _Waits(Protocol):
    async def wait(self, work: str, interval: float, *, heed_wakes: bool = True) -> bool: ...


async def run_timed_work(work: Periodic, wakeups: _Waits, run_pass: Callable[[], Awaitable[bool]],
                         stopping: Callable[[], bool]) -> None:
    """Run ``work``'s passes, each when woken or at its interval, until ``stopping``. A woken
    pass that did nothing (the bank or the mail server not answering) makes the next one wait
    its interval, so a failing system is not asked again at every commit."""
    heed_wakes = True
    while not stopping():  # no pass starts once the worker is stopping
        woken = await wakeups.wait(work.name, work.interval, heed_wakes=heed_wakes)
        did_something = await run_pass()
        heed_wakes = did_something or not woken


async def _run_pass(resources: WorkerResources, work: Periodic) -> bool:
    """One pass, if it is this copy's turn; False when it failed or did nothing."""
    pool = await resources.shared_pool()
    started, error, done = dt.datetime.now(dt.UTC), None, None
    try:
        async with resources.turns.turn(work.name) as mine:
            if not mine:
                return True  # another copy of this worker runs this pass
            done = await work.run(pool)
    except Exception as failure:  # the next pass tries again: a timer must not die
        log.exception("periodic %s failed; next pass in %.1fs", work.name, work.interval)
        error = type(failure).__name__
    await _note_pass(pool, work.name, started, error)
    return bool(done)


def _data_dir(settings: ServiceSettings) -> str:
    # faust keeps a data folder even with in-memory stores: not in the working directory
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return str(settings.data_dir)


def _add_agent(app: faust.App, resources: WorkerResources, subscription: Subscription) -> None:
    topic = app.topic(subscription.topic, key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")

    async def agent(stream: faust.StreamT) -> AsyncIterator[None]:
        applier = await resources.applier(subscription)
        assert isinstance(stream, faust.Stream)  # StreamT does not declare the buffer hooks
        async for events in take_ready(stream, BATCH_SIZE, resources.linger):
            await applier.apply_batch([_record(event.message) for event in events])
            yield None

    app.agent(topic, name=f"{app.conf.id}.{subscription.name}", concurrency=1)(agent)


def _record(message: faust.types.Message) -> Record:
    return Record(message.topic, message.partition, message.offset, message.key, message.value,
                  _headers(message.headers))


def _headers(headers: object) -> tuple[tuple[str, bytes], ...]:
    if isinstance(headers, Mapping):
        return tuple(headers.items())
    return tuple(headers or ())  # type: ignore[arg-type]


async def _note_pass(pool: asyncpg.Pool, name: str, started: dt.datetime,
                     error: str | None) -> None:
    """Keep when the task last ran (``timed_work``), for operators and for tests."""
    try:
        await pool.execute(
            "INSERT INTO timed_work (name, last_started_at, last_finished_at, last_error) "
            "VALUES ($1, $2, now(), $3) ON CONFLICT (name) DO UPDATE SET "
            "last_started_at = $2, last_finished_at = now(), last_error = $3",
            name, started, error)
    except (OSError, asyncpg.PostgresError):
        log.warning("periodic %s: could not note its pass", name)
