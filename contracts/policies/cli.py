"""Command line for auditors and operators: deadlines, surcharges and escalation steps as JSON.

    python -m contracts.policies deadline delivery --from 2026-05-13
    python -m contracts.policies surcharge --situation withdrawal --base-cents 10000 \
        --products-cents 8000 --deadline 2026-01-31 --paid-on 2026-03-01
    python -m contracts.policies escalation --situation late_delivery --base-cents 10000 \
        --products-cents 8000 --deadline 2026-01-31 --until 2027-01-31

Invalid arguments print one line on stderr and exit non-zero (2 for usage, 1 for a
rule's refusal), never a traceback.
"""

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from contracts.policies import deadlines
from contracts.policies.errors import PolicyError
from contracts.policies.escalation import escalation_steps
from contracts.policies.names import Situation
from contracts.policies.policy_data import load_policy
from contracts.policies.surcharges import compute_surcharge

PROG = "python -m contracts.policies"
DESCRIPTION = "Deadlines, late-refund surcharges and escalation steps, as JSON."
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EXTRA_DATES = ("goods_received", "proof_of_dispatch", "cancellation")


@dataclass(frozen=True)
class RuleSpec:
    """How the command line computes one deadline rule, and which dates it takes."""

    counts_from: str
    compute: Callable[[date, dict[str, date | None]], date]
    accepts: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    provisional: Callable[[date, dict[str, date | None]], bool] = lambda _start, _extra: False


def _plain(function: Callable[[date], date], counts_from: str) -> RuleSpec:
    return RuleSpec(counts_from, lambda start, _extra: function(start))


RULES: dict[str, RuleSpec] = {
    "delivery": _plain(deadlines.delivery_deadline, "confirmation"),
    "withdrawal-window": _plain(deadlines.withdrawal_window_deadline, "delivery"),
    "goods-return": _plain(deadlines.goods_return_deadline, "withdrawal notice"),
    "withdrawal-refund": RuleSpec(
        "withdrawal notice",
        lambda start, extra: deadlines.withdrawal_refund_deadline(
            start, extra["goods_received"], extra["proof_of_dispatch"]
        ),
        accepts=("goods_received", "proof_of_dispatch"),
        provisional=lambda start, extra: deadlines.withdrawal_refund_deadline_is_provisional(
            start, extra["goods_received"], extra["proof_of_dispatch"]
        ),
    ),
    "termination-refund": _plain(deadlines.termination_refund_deadline, "termination"),
    "unavailable-refund": RuleSpec(
        "payment",
        lambda start, extra: deadlines.unavailable_refund_deadline(
            start, _given(extra["cancellation"])
        ),
        accepts=("cancellation",),
        requires=("cancellation",),
    ),
    "blocked-refund": _plain(deadlines.blocked_refund_deadline, "cancellation"),
    "reservation-confirmation": _plain(deadlines.reservation_confirmation_deadline, "receipt"),
    "return-request": _plain(deadlines.return_request_deadline, "delivery"),
    "incorrect-delivery-claim": _plain(deadlines.incorrect_delivery_claim_deadline, "delivery"),
    "conformity-claim": _plain(deadlines.conformity_claim_deadline, "delivery"),
}


def _given(day: date | None) -> date:
    if day is None:  # `requires` is checked first; this keeps the type checker honest
        raise PolicyError("a date this rule needs is missing")
    return day


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        """Print `message` as a single line and exit with status 2."""
        self.exit(2, f"{PROG}: error: {message}\n")


def iso_date(text: str) -> date:
    """Parse a strict YYYY-MM-DD date for argparse."""
    try:
        if _ISO_DATE.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"invalid date {text!r}: expected a real YYYY-MM-DD date")


def cents(text: str) -> int:
    """Parse a non-negative whole number of cents for argparse."""
    if not text.isdigit() or not text.isascii():
        raise argparse.ArgumentTypeError(f"invalid amount {text!r}: expected whole cents >= 0")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its three subcommands."""
    parser = _OneLineErrorParser(prog=PROG, description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_deadline_arguments(commands.add_parser("deadline", help="last on-time date of a rule"))
    surcharge = commands.add_parser("surcharge", help="surcharge owed at a date")
    _add_refund_arguments(surcharge, "--paid-on", "date the refund is (or would be) paid")
    escalation = commands.add_parser("escalation", help="tier changes up to a date")
    _add_refund_arguments(escalation, "--until", "last date to examine")
    return parser


def _add_deadline_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rule", choices=list(RULES), metavar="RULE", help=", ".join(RULES))
    parser.add_argument(
        "--from", dest="start", type=iso_date, metavar="DATE", required=True,
        help="date the rule counts from (confirmation, delivery, notice, termination, payment)",
    )  # fmt: skip
    for name in EXTRA_DATES:
        flag = f"--{name.replace('_', '-')}"
        parser.add_argument(flag, dest=name, type=iso_date, metavar="DATE")


def _add_refund_arguments(parser: argparse.ArgumentParser, date_flag: str, help_: str) -> None:
    parser.add_argument("--situation", required=True, choices=[s.value for s in Situation])
    parser.add_argument("--base-cents", type=cents, required=True, metavar="N", help="sums due")
    parser.add_argument(
        "--products-cents", type=cents, required=True, metavar="N",
        help="price of the products concerned (schedule A's cap)",
    )  # fmt: skip
    parser.add_argument("--deadline", type=iso_date, required=True, metavar="DATE")
    parser.add_argument(date_flag, type=iso_date, required=True, metavar="DATE", help=help_)
    parser.add_argument(
        "--policy-version", default=None, metavar="VERSION",
        help="policy identifier to replay with (default: the latest)",
    )  # fmt: skip


def deadline_output(args: argparse.Namespace) -> dict[str, Any]:
    """Compute the `deadline` subcommand's JSON object."""
    spec = RULES[args.rule]
    extra: dict[str, date | None] = {name: getattr(args, name) for name in EXTRA_DATES}
    _check_extra_dates(args.rule, spec, extra)
    deadline = spec.compute(args.start, extra)
    given = {name: day.isoformat() for name, day in extra.items() if day is not None}
    return {
        "rule": args.rule,
        "deadline": deadline.isoformat(),
        "weekday": deadline.strftime("%A"),
        "from": args.start.isoformat(),
        "counts_from": spec.counts_from,
        **given,
        "provisional": spec.provisional(args.start, extra),
    }


def _check_extra_dates(rule: str, spec: RuleSpec, extra: dict[str, date | None]) -> None:
    for name, day in extra.items():
        flag = f"--{name.replace('_', '-')}"
        if day is not None and name not in spec.accepts:
            raise PolicyError(f"rule {rule} does not take {flag}")
        if day is None and name in spec.requires:
            raise PolicyError(f"rule {rule} needs {flag} DATE")


def surcharge_output(args: argparse.Namespace) -> dict[str, Any]:
    """Compute the `surcharge` subcommand's JSON object."""
    result = compute_surcharge(
        args.situation,
        args.base_cents,
        args.products_cents,
        args.deadline,
        args.paid_on,
        load_policy(args.policy_version),
    )
    return result.to_json()


def escalation_output(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Compute the `escalation` subcommand's JSON list of steps."""
    steps = escalation_steps(
        args.situation,
        args.base_cents,
        args.products_cents,
        args.deadline,
        args.until,
        load_policy(args.policy_version),
    )
    return [step.to_json() for step in steps]


COMMANDS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "deadline": deadline_output,
    "surcharge": surcharge_output,
    "escalation": escalation_output,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        output = COMMANDS[args.command](args)
    except PolicyError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2, ensure_ascii=False))
    return 0
