"""Paybox Direct (``PPPS.php``), the bank's side: capture (TYPE 00002) and refund (TYPE 00014).

Every answer is HTTP 200 with an urlencoded body whose ``CODEREPONSE`` tells the outcome, as the
real server does. A question (SITE, RANG, NUMQUESTION) answered once is answered the same way
again, without doing the operation twice; the same number with other content is refused
(``00005``).

A refund is refused on a transaction not captured (``00015``, or ``00018`` for a refused one) but
may exceed what was captured, in one refund or in total: the shop's acquiring contract allows it,
since the late-refund surcharge is paid on top of the price (decision 0009).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from deploy.bank_simulator import codes
from deploy.bank_simulator.hosted import HASHES, Merchant
from deploy.bank_simulator.ledger import Answer, Ledger, TransactionRecord

__all__ = ["TYPE_CAPTURE", "TYPE_REFUND", "DirectBank", "answer_fields"]

TYPE_CAPTURE = "00002"
TYPE_REFUND = "00014"
VERSIONS = frozenset({"00103", "00104"})
REQUIRED = ("VERSION", "TYPE", "SITE", "RANG", "NUMQUESTION", "MONTANT", "DEVISE", "REFERENCE",
            "NUMTRANS", "NUMAPPEL", "DATEQ")
MAX_QUESTION = 2147483647  # the platform's largest NUMQUESTION
ANSWER_ECHO = ("NUMTRANS", "NUMAPPEL", "NUMQUESTION", "SITE", "RANG")


class _Refusal(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def answer_fields(question: dict[str, str], code: str, authorisation: str = "") -> dict[str, str]:
    """The answer body's fields, in the order the real server sends them."""
    fields = {name: question.get(name, "") for name in ANSWER_ECHO}
    fields.update(AUTORISATION=authorisation, CODEREPONSE=code, COMMENTAIRE=codes.comment(code))
    return fields


def _check_seal(pairs: list[tuple[str, str]], fields: dict[str, str], key_hex: str) -> None:
    algorithm = HASHES.get(fields.get("HASH", ""), None)
    if algorithm is None or "HMAC" not in fields:
        raise _Refusal(codes.ACCESS_REFUSED)
    message = "&".join(f"{name}={value}" for name, value in pairs if name != "HMAC")
    expected = hmac.new(bytes.fromhex(key_hex), message.encode("utf-8"), algorithm).hexdigest()
    if not hmac.compare_digest(expected.upper(), fields["HMAC"].upper()):
        raise _Refusal(codes.ACCESS_REFUSED)


def _check_frame(fields: dict[str, str], merchant: Merchant) -> None:
    if (fields.get("SITE"), fields.get("RANG")) != (merchant.site, merchant.rang):
        raise _Refusal(codes.ACCESS_REFUSED)
    if any(name not in fields for name in REQUIRED):
        raise _Refusal(codes.INCOHERENT_FRAME)
    if fields["VERSION"] not in VERSIONS:
        raise _Refusal(codes.UNSUPPORTED_VERSION)
    if fields["TYPE"] not in (TYPE_CAPTURE, TYPE_REFUND):
        raise _Refusal(codes.INVALID_TYPE)
    question = fields["NUMQUESTION"]
    if len(question) != 10 or not question.isdigit() or not 0 < int(question) <= MAX_QUESTION:
        raise _Refusal(codes.INVALID_QUESTION)


def _check_values(fields: dict[str, str]) -> int:
    amount = fields["MONTANT"]
    if len(amount) != 10 or not amount.isdigit() or int(amount) == 0:
        raise _Refusal(codes.INVALID_AMOUNT)
    if fields["DEVISE"] != "978":
        raise _Refusal(codes.UNKNOWN_CURRENCY)
    try:
        datetime.strptime(fields["DATEQ"], "%d%m%Y%H%M%S")
    except ValueError as error:
        raise _Refusal(codes.INVALID_DATE) from error
    if not fields["REFERENCE"] or len(fields["REFERENCE"]) > 250:
        raise _Refusal(codes.INVALID_REFERENCE)
    return int(amount)


def _capture(transaction: TransactionRecord, amount: int) -> None:
    if transaction.status == "refused":
        raise _Refusal(codes.TRANSACTION_NOT_FOUND)
    if transaction.status != "authorised":
        raise _Refusal(codes.PREVIOUS_DATA)  # already captured
    if amount > transaction.authorised_cents:
        raise _Refusal(codes.INVALID_AMOUNT)
    transaction.captured_cents = amount
    transaction.status = "captured"


def _refund(transaction: TransactionRecord, amount: int) -> None:
    """Refund ``amount`` of a captured transaction, beyond the captured amount if asked."""
    if transaction.status == "refused":
        raise _Refusal(codes.TRANSACTION_NOT_FOUND)
    if transaction.status == "authorised":
        raise _Refusal(codes.PREVIOUS_DATA)  # nothing captured to refund yet
    transaction.refunded_cents += amount
    fully = transaction.refunded_cents >= transaction.captured_cents
    transaction.status = "refunded" if fully else "partially_refunded"


def _question_key(fields: dict[str, str]) -> str:
    """What identifies a question at the bank: the shop's site and rank, and its number."""
    return f"{fields.get('SITE')}/{fields.get('RANG')}/{fields.get('NUMQUESTION')}"


@dataclass
class DirectBank:
    """Answers Direct questions against the ledger."""

    ledger: Ledger
    merchant: Merchant

    def answer(self, pairs: list[tuple[str, str]]) -> dict[str, str]:
        """The answer to one question, as received (ordered pairs)."""
        fields = dict(pairs)
        try:
            if len(fields) != len(pairs):
                raise _Refusal(codes.INCOHERENT_FRAME)
            _check_seal(pairs, fields, self.merchant.hmac_key_hex)
            _check_frame(fields, self.merchant)
        except _Refusal as refusal:
            return answer_fields(fields, refusal.code)
        return self._answer_once(fields)

    def answered(self, pairs: list[tuple[str, str]]) -> bool:
        """Whether this question's number was answered already (its answer is remembered)."""
        return _question_key(dict(pairs)) in self.ledger.answers

    def _answer_once(self, fields: dict[str, str]) -> dict[str, str]:
        key = _question_key(fields)
        fingerprint = hashlib.sha256("|".join(
            fields[name] for name in ("TYPE", "MONTANT", "DEVISE", "REFERENCE", "NUMTRANS",
                                      "NUMAPPEL")).encode("utf-8")).hexdigest()
        known = self.ledger.answers.get(key)
        if known is not None:
            if known.fingerprint == fingerprint:
                return dict(known.fields)
            return answer_fields(fields, codes.INVALID_QUESTION)
        answer = self._operate(fields)
        self.ledger.remember(key, Answer(fingerprint=fingerprint, fields=answer))
        return answer

    def _operate(self, fields: dict[str, str]) -> dict[str, str]:
        transaction = self.ledger.transactions.get(fields["NUMTRANS"])
        try:
            amount = _check_values(fields)
            if (transaction is None or transaction.numappel != fields["NUMAPPEL"]
                    or transaction.reference != fields["REFERENCE"]):
                raise _Refusal(codes.TRANSACTION_NOT_FOUND)
            operate = _capture if fields["TYPE"] == TYPE_CAPTURE else _refund
            operate(transaction, amount)
        except _Refusal as refusal:
            if transaction is not None and refusal.code != codes.TRANSACTION_NOT_FOUND:
                transaction.outcome = refusal.code
                self.ledger.record(transaction)
            return answer_fields(fields, refusal.code)
        transaction.outcome = codes.APPROVED
        self.ledger.record(transaction)
        return answer_fields(fields, codes.APPROVED, transaction.authorisation)
