"""The command line's composition root: ``python -m services.ops COMMAND`` (Typer, Rich).

Reads its settings once (``OpsSettings``: ``KAFKA_BOOTSTRAP``, ``DATABASE_URL``, …, the local
stack of ``make run`` by default). Tables, tail lines and JSON go to stdout; progress bars,
notes and errors to stderr, so ``… verify | jq`` and ``… order ID --json`` stay parseable.
Exit codes: 0 done (and, for ``verify``/``proof``/``rebuild``, nothing found), 1 a finding,
2 the log or a database could not be reached, or what was asked for does not exist.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from contracts.topics import SERVICES
from services.ops.dlq import Listed, Redriven, list_dead_letters, redrive
from services.ops.export import export_buyer, safe_name
from services.ops.formatting import line, short
from services.ops.lag import LagReport, measure
from services.ops.records import Summary
from services.ops.replays import progress_bars, rebuild_with_progress, verify_with_progress
from services.ops.settings import OpsSettings, load_ops_settings
from services.ops.tables import (
    dead_letters_table,
    lag_tables,
    rebuild_table,
    redriven_table,
    timeline_table,
    verify_table,
    views_table,
)
from services.ops.tail import TailFilter
from services.ops.tail import tail as follow
from services.ops.timeline import order_state
from services.platform.clock_command import clock_for
from services.platform.eventloop import run_on_uvloop
from services.platform.rebuild import Comparison
from services.refunds.audit_command import order_proof
from services.refunds.proof_page import proof_page

__all__ = ["app"]



class ServiceName(enum.StrEnum):
    """A service of the log (Typer offers the values as choices)."""

    orders = "orders"
    payments = "payments"
    fulfilment = "fulfilment"
    refunds = "refunds"


# the choices are the log's services: this fails at import if one is added and not here
assert tuple(s.value for s in ServiceName) == SERVICES, "ServiceName must list SERVICES"
T = TypeVar("T")

app = typer.Typer(name="ops", no_args_is_help=True, add_completion=False,
                  rich_markup_mode="markdown",
                  help="Operators' and auditors' tools on the event log and the services' "
                       "stores.")
dlq_app = typer.Typer(no_args_is_help=True, rich_markup_mode="markdown",
                      help="The dead-letter topics: list what was set aside, put it back.")
app.add_typer(dlq_app, name="dlq")
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
AsJson = Annotated[bool, typer.Option("--json", help="JSON on stdout instead of tables")]
OrderOption = Annotated[str | None, typer.Option("--order", help="only this order")]
DlqTopic = Annotated[str | None, typer.Option(
    "--topic", help="one dead-letter topic (or its source topic); default: all four")]


@app.callback()
def _settings_once(ctx: typer.Context) -> None:
    """Operators' and auditors' tools on the event log and the services' stores."""
    ctx.obj = load_ops_settings()


def _settings(ctx: typer.Context) -> OpsSettings:
    settings = ctx.obj
    assert isinstance(settings, OpsSettings), "set by the app's callback"
    return settings


_UNREACHABLE = (OSError, KafkaError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; what cannot be reached or does not exist is one line on stderr and exit
    code 2, not a traceback (a bug still gets its traceback)."""
    try:
        return run_on_uvloop(work)
    except Exception as error:
        # a plain LookupError: a topic or a buyer that does not exist (KeyError is a bug)
        if not isinstance(error, _UNREACHABLE) and type(error) is not LookupError:
            raise
        said = escape(f"{type(error).__name__}: {error or 'no answer in time'}")
        err.print(f"[bold red]error:[/] {said}")
        raise typer.Exit(2) from None


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


def _tables(*tables: Table) -> None:
    for table in tables:
        out.print(table)


@app.command()
def tail(ctx: typer.Context,
         service: Annotated[ServiceName | None, typer.Option(
             "--service", "-s", help="only this service's topic and its dead letters")] = None,
         type_: Annotated[str | None, typer.Option("--type", "-t",
                                                   help="only this event type")] = None,
         order: OrderOption = None,
         from_beginning: Annotated[bool, typer.Option(
             "--from-beginning", help="from the start of every topic, then live")] = False,
         limit: Annotated[int | None, typer.Option(
             "--limit", "-n", min=1, help="stop after this many records")] = None,
         until_idle: Annotated[float | None, typer.Option(
             "--until-idle", min=0.1, help="stop after this many seconds without a record",
         )] = None) -> None:
    """Follow the log live, one line per record (no consumer group: never moves offsets)."""
    wanted = TailFilter(service.value if service else None, type_, order)

    def show(summary: Summary) -> None:
        out.print(line(summary), soft_wrap=True)

    def ready() -> None:
        err.print(f"following {', '.join(wanted.topics())}", style="dim")

    try:
        _run(follow(_settings(ctx).kafka_bootstrap, wanted, show, from_beginning=from_beginning,
                    limit=limit, idle=until_idle, ready=ready))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def order(ctx: typer.Context, order_id: Annotated[str, typer.Argument(metavar="ORDER_ID")],
          as_json: AsJson = False) -> None:
    """One order's events across the four services in time order, what caused each, and its
    rows in every read model (from the services' stores, read only)."""
    state = _run(order_state(_settings(ctx), order_id))
    if not state.events and not state.views:
        err.print(f"[bold red]no order {escape(order_id)}[/] in any service's store")
        raise typer.Exit(2)
    if as_json:
        _json(dataclasses.asdict(state))
    else:
        _tables(timeline_table(state), views_table(state.views))


@app.command()
def lag(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Per consumer group and partition: end and committed offsets, lag, age of the oldest
    unprocessed record; and each relay's unpublished outbox rows."""
    report = _run(measure(_settings(ctx)))
    if as_json:
        _json(_lag_json(report))
    else:
        _tables(*lag_tables(report))


def _lag_json(report: LagReport) -> dict[str, Any]:
    return {"partitions": [dataclasses.asdict(row) for row in report.partitions],
            "groups": {name: {**lag.model_dump(), "status": report.group_status[name]}
                       for name, lag in report.groups.items()},
            "outboxes": {name: box.model_dump() for name, box in report.outboxes.items()}}


@dlq_app.command("list")
def dlq_list(ctx: typer.Context, topic: DlqTopic = None, order: OrderOption = None,
             everything: Annotated[bool, typer.Option(
                 "--all", help="also those already re-driven")] = False,
             as_json: AsJson = False) -> None:
    """The dead letters waiting for a re-drive: where, which order and type, which consumer set
    each aside and why (``dlq-reason``, ``dlq-consumer``, ``dlq-source``)."""
    listed = _run(list_dead_letters(_settings(ctx), topic, order, with_redriven=everything))
    if as_json:
        _json([_listed_json(item) for item in listed])
    else:
        _tables(dead_letters_table(listed, pending_only=not everything))


def _listed_json(item: Listed) -> dict[str, Any]:
    summary, dead = item.letter.summary, item.letter.summary.dead_letter
    return {"dead_letter": summary.where, "order_id": summary.order_id, "type": summary.type,
            "event_id": summary.event_id, "reason": dead.reason if dead else None,
            "consumer": dead.consumer if dead else None, "source": dead.source if dead else None,
            "redriven_to": item.redriven_to}


@dlq_app.command("redrive")
def dlq_redrive(ctx: typer.Context, topic: DlqTopic = None, order: OrderOption = None,
                as_json: AsJson = False) -> None:
    """Put the dead letters back on their source topic, after the cause is fixed: same key and
    partition, in their order on the source topic, each at most once."""
    done = _run(redrive(_settings(ctx), topic, order))
    if as_json:
        _json([_redriven_json(item) for item in done])
    else:
        _tables(redriven_table(done))
    late = [item for item in done if item.later_events]
    if late:
        err.print(f"[yellow]{len(late)} record(s) went back after later events of their order "
                  "that the consumers already applied: check those orders (`order ID`).[/]")


def _redriven_json(item: Redriven) -> dict[str, Any]:
    first = item.letters[0].summary
    return {"from": [letter.summary.where for letter in item.letters], "to": item.to,
            "order_id": first.order_id, "type": first.type, "event_id": first.event_id,
            "later_events": item.later_events}


@app.command()
def rebuild(ctx: typer.Context,
            service: Annotated[ServiceName, typer.Argument(metavar="SERVICE")],
            as_json: AsJson = False) -> None:
    """Drop and replay the service's read model from its topic, with progress, then compare it
    table by table with the live one it replaced (exit 1 if any differs)."""
    with progress_bars(err) as progress:
        comparison = _run(rebuild_with_progress(_settings(ctx), service.value, progress))
    if as_json:
        _json(_rebuild_json(service.value, comparison))
    else:
        _tables(rebuild_table(service.value, comparison))
    raise typer.Exit(0 if comparison.equal else 1)


def _rebuild_json(service: str, comparison: Comparison) -> dict[str, Any]:
    return {"service": service, "equal": comparison.equal,
            "replayed_events": comparison.replay.replayed_events,
            "skipped_records": comparison.replay.skipped_records,
            "tables": {row.table: {**dataclasses.asdict(row), "equal": row.equal}
                       for row in comparison.tables}}


@app.command()
def verify(ctx: typer.Context,
           service: Annotated[list[ServiceName] | None, typer.Option(
               "--service", help="only these services (repeat)")] = None,
           order: Annotated[list[str] | None, typer.Option(
               "--order", help="only these orders (repeat; checkpoints cover whole topics)",
           )] = None,
           checkpoint_dir: Annotated[Path | None, typer.Option(
               "--checkpoint-dir", help="also hold the checkpoint files of this folder against "
                                        "the log")] = None) -> None:
    """Replay every topic and verify its hash chains against each store and its signed
    checkpoints, with progress; the JSON report of ``services.platform.verify`` on stdout, exit
    1 on any finding."""
    names = [s.value for s in service] if service else list(SERVICES)
    with progress_bars(err) as progress:
        result = _run(verify_with_progress(_settings(ctx), names, set(order) if order else None,
                                           progress, checkpoint_dir))
    err.print(verify_table(result))
    _json(result)
    raise typer.Exit(0 if result["ok"] else 1)


@app.command()
def proof(ctx: typer.Context, order_id: Annotated[str, typer.Argument(metavar="ORDER_ID")],
          html: Annotated[Path | None, typer.Option(
              "--html", help="also write the proof as a readable page here")] = None) -> None:
    """The auditors' bundle of one order (``audit_command proof``): its events on the four
    topics in time order with their hashes and chains, every refund figure recomputed."""
    with err.status(f"replaying the four topics for order {order_id}"):
        result = _run(order_proof(_settings(ctx), order_id))
    if not result["events"]:
        err.print(f"[bold red]no event of order {escape(order_id)}[/] on the log")
        raise typer.Exit(2)
    if html:
        html.write_text(proof_page(result), encoding="utf-8")
        err.print(f"proof page written to {html}")
    _json(result)
    raise typer.Exit(0 if result["ok"] else 1)


@app.command()
def export(ctx: typer.Context, buyer_id: Annotated[str, typer.Argument(metavar="BUYER_ID")],
           directory: Annotated[Path | None, typer.Option(
               "--out", help="a new or empty folder (default: ./export-BUYER_ID)")] = None,
           ) -> None:
    """The buyer's contract copy on a durable medium: every order with its events, the terms
    accepted and their text's SHA-256, payments, invoices (JSON and PDF), and a manifest of
    every file's SHA-256."""
    settings = _settings(ctx)
    target = directory or Path(f"export-{safe_name(buyer_id)}")
    done = _run(export_buyer(settings, buyer_id, target, clock_for(settings).now()))
    table = Table(title=f"Contract copy of {buyer_id}: {len(done.orders)} orders, "
                        f"written to {done.directory}", title_justify="left")
    for column in ("file", "bytes", "sha256"):
        table.add_column(column, overflow="fold")
    for entry in done.manifest["files"]:
        table.add_row(entry["path"], str(entry["bytes"]), short(entry["sha256"], 16))
    out.print(table)
