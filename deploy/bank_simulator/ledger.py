"""The simulated bank's memory: transactions it authorised or refused, answers it gave.

Kept in memory and written to ``transactions.json`` in the data directory after every change
(temporary file, then rename), read back at start: a restarted simulator still knows the
authorisations it gave and the Direct questions it answered. No card data is ever kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Answer", "Ledger", "TransactionRecord"]

LEDGER_FILE = "transactions.json"
FIRST_NUMBER = 1_000_000_001  # NUMTRANS / NUMAPPEL are 10 digits


@dataclass
class TransactionRecord:
    """One payment attempt on the hosted page and what Direct did with it since."""

    reference: str
    numtrans: str
    numappel: str
    amount_cents: int  # asked on the hosted page
    status: str  # refused, authorised, captured, partially_refunded, refunded
    outcome: str  # the last answer code about it
    authorisation: str = ""
    authorised_cents: int = 0
    captured_cents: int = 0
    refunded_cents: int = 0  # may exceed captured_cents: the late-refund surcharge (0009)


@dataclass(frozen=True)
class Answer:
    """A Direct answer, remembered per question so that a repeated question gets it again."""

    fingerprint: str
    fields: dict[str, str]


@dataclass
class Ledger:
    """Transactions by NUMTRANS and answers by question; persisted on every change."""

    path: Path
    next_number: int = FIRST_NUMBER
    transactions: dict[str, TransactionRecord] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)

    @classmethod
    def open(cls, data_dir: Path) -> Ledger:
        """Load the ledger of ``data_dir``, or start an empty one."""
        ledger = cls(path=data_dir / LEDGER_FILE)
        if ledger.path.exists():
            ledger._load(json.loads(ledger.path.read_text(encoding="utf-8")))
        return ledger

    def _load(self, saved: dict[str, Any]) -> None:
        self.next_number = int(saved["next_number"])
        self.transactions = {number: TransactionRecord(**record)
                             for number, record in saved["transactions"].items()}
        self.answers = {key: Answer(**answer) for key, answer in saved["answers"].items()}

    def save(self) -> None:
        """Write the whole ledger atomically."""
        content = json.dumps({
            "next_number": self.next_number,
            "transactions": {n: asdict(r) for n, r in self.transactions.items()},
            "answers": {k: asdict(a) for k, a in self.answers.items()},
        }, ensure_ascii=False, indent=1)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(content, encoding="utf-8")
        os.replace(temporary, self.path)

    def new_number(self) -> str:
        """A fresh 10-digit number (NUMTRANS, NUMAPPEL)."""
        number = self.next_number
        self.next_number += 1
        return f"{number:010d}"

    def record(self, transaction: TransactionRecord) -> None:
        """Keep a new or changed transaction, and persist."""
        self.transactions[transaction.numtrans] = transaction
        self.save()

    def remember(self, key: str, answer: Answer) -> None:
        """Keep the answer given to a question, and persist."""
        self.answers[key] = answer
        self.save()
