"""The simulated bank's memory: transactions it authorised or refused, answers it gave.

Kept in memory and journalled to ``transactions.jsonl`` in the data directory: each change is
one line appended (the transaction or the answer as it now is), read back at start, the last
line about a transaction or a question winning: a restarted simulator still knows the
authorisations it gave and the Direct questions it answered. The journal is compacted at start
(one line per transaction and answer, temporary file, then rename); a last line cut short by a
crash is dropped. Rewriting the whole ledger at every change, as a first version did, cost a
little more at each payment: the benchmark's lifecycles slowed down as they went. No card data
is ever kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Answer", "Ledger", "TransactionRecord"]

LEDGER_FILE = "transactions.jsonl"
OLD_LEDGER_FILE = "transactions.json"  # the whole ledger in one document, read once
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
    """Transactions by NUMTRANS and answers by question; every change journalled."""

    path: Path
    next_number: int = FIRST_NUMBER
    transactions: dict[str, TransactionRecord] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)
    _journal: TextIO | None = field(default=None, repr=False)

    @classmethod
    def open(cls, data_dir: Path) -> Ledger:
        """Load the ledger of ``data_dir`` (or start an empty one), compact its journal and
        journal every change from now on (one simulator per data directory)."""
        ledger = cls.read(data_dir)
        ledger._compact()
        (data_dir / OLD_LEDGER_FILE).unlink(missing_ok=True)
        return ledger

    @classmethod
    def read(cls, data_dir: Path) -> Ledger:
        """The ledger of ``data_dir`` as last journalled, read only (tools and tests)."""
        ledger = cls(path=data_dir / LEDGER_FILE)
        old = data_dir / OLD_LEDGER_FILE
        if old.exists():
            ledger._load_document(json.loads(old.read_text(encoding="utf-8")))
        if ledger.path.exists():
            ledger._replay(ledger.path.read_bytes().split(b"\n"))
        return ledger

    def _load_document(self, saved: dict[str, Any]) -> None:
        self.next_number = int(saved["next_number"])
        self.transactions = {number: TransactionRecord(**record)
                             for number, record in saved["transactions"].items()}
        self.answers = {key: Answer(**answer) for key, answer in saved["answers"].items()}

    def _replay(self, lines: list[bytes]) -> None:
        for line in lines:
            try:
                change = json.loads(line)
            except ValueError:  # not JSON, or not UTF-8
                continue  # the last line, cut short by a crash: its change was never answered
            self.next_number = max(self.next_number, int(change["next_number"]))
            if "transaction" in change:
                record = TransactionRecord(**change["transaction"])
                self.transactions[record.numtrans] = record
            else:
                self.answers[change["key"]] = Answer(**change["answer"])

    def _compact(self) -> None:
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        with temporary.open("w", encoding="utf-8") as out:
            out.writelines(self._line(transaction=asdict(record))
                           for record in self.transactions.values())
            out.writelines(self._line(key=key, answer=asdict(answer))
                           for key, answer in self.answers.items())
        os.replace(temporary, self.path)
        self._journal = self.path.open("a", encoding="utf-8")

    def _line(self, **change: Any) -> str:
        # ASCII: a line cut short is never half a character, and no character splits a line
        return json.dumps({"next_number": self.next_number, **change}) + "\n"

    def _append(self, line: str) -> None:
        assert self._journal is not None, "the ledger is opened with Ledger.open"
        self._journal.write(line)
        self._journal.flush()

    def new_number(self) -> str:
        """A fresh 10-digit number (NUMTRANS, NUMAPPEL)."""
        number = self.next_number
        self.next_number += 1
        return f"{number:010d}"

    def record(self, transaction: TransactionRecord) -> None:
        """Keep a new or changed transaction, and journal it."""
        self.transactions[transaction.numtrans] = transaction
        self._append(self._line(transaction=asdict(transaction)))

    def remember(self, key: str, answer: Answer) -> None:
        """Keep the answer given to a question, and journal it."""
        self.answers[key] = answer
        self._append(self._line(key=key, answer=asdict(answer)))

    def close(self) -> None:
        """Close the journal."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None
