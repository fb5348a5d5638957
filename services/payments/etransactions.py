"""The shop's side of Crédit Agricole E-transactions (Paybox): hosted page, notification, Direct.

Three exchanges, all pure functions but the two Direct calls:

- ``payment_form``: the ``PBX_*`` fields the buyer's browser POSTs to the hosted payment page
  (``MYchoix_pagepaiement.cgi``), sealed with ``PBX_HMAC``: the uppercase hex HMAC-SHA512, keyed
  with the shop's secret key (hex-decoded), of ``K=V&K=V...`` over every other field in the
  order sent, values not URL-encoded.
- ``verify_notification``: the bank calls ``PBX_REPONDRE_A`` (and redirects the buyer) with the
  ``PBX_RETOUR`` variables and, last, ``Sign``: the base64 then URL-encoded RSA signature
  (PKCS#1 v1.5, SHA-1) of the raw query string before ``&Sign=``, made with the bank's key.
- ``capture`` / ``refund``: Paybox Direct (``PPPS.php``) form POSTs of TYPE 00002 and 00014,
  sealed with ``HMAC`` like the form, answered with an urlencoded body whose ``CODEREPONSE`` is
  ``00000`` when the operation was done.

Pointing the shop at the real bank is a matter of the ``ShopAccount`` values, not of code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, unquote
from zoneinfo import ZoneInfo

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "APPROVED",
    "ISSUER_REFUSAL_PREFIX",
    "PBX_RETOUR",
    "UNAVAILABLE_CODES",
    "BadSignatureError",
    "DirectResponse",
    "MalformedAnswerError",
    "Notification",
    "ReturnUrls",
    "ShopAccount",
    "capture",
    "hmac_seal",
    "payment_form",
    "refund",
    "verify_notification",
]

APPROVED = "00000"
EURO = "978"
HASH = "SHA512"
DIRECT_VERSION = "00104"  # Paybox Direct Plus protocol version, as the real clients send it
TYPE_CAPTURE = "00002"  # "débit" of an authorisation obtained through the hosted page
TYPE_REFUND = "00014"  # "remboursement" of a captured transaction
PARIS = ZoneInfo("Europe/Paris")  # DATEQ is the bank's local time

# Names the shop gives the returned variables; ``Sign:K`` must stay last (it signs the rest).
PBX_RETOUR = "Mt:M;Ref:R;Auto:A;Erreur:E;Trans:S;Appel:T;Sign:K"
_RETURNED = ("Mt", "Ref", "Auto", "Erreur", "Trans", "Appel")
_SIGN_MARK = "&Sign="


@dataclass(frozen=True)
class ShopAccount:
    """The shop's contract with the bank and where the bank answers: configuration only."""

    site: str  # PBX_SITE / SITE, 7 digits
    rang: str  # PBX_RANG / RANG
    identifiant: str  # PBX_IDENTIFIANT
    hmac_key_hex: str  # the shop's secret HMAC key, 128 hex characters
    payment_page_url: str  # .../cgi/MYchoix_pagepaiement.cgi
    direct_url: str  # .../PPPS.php
    bank_public_key_pem: bytes  # verifies the bank's notifications


@dataclass(frozen=True)
class ReturnUrls:
    """Where the bank sends the buyer's browser back: paid, refused, cancelled."""

    effectue: str
    refuse: str
    annule: str


@dataclass(frozen=True)
class Notification:
    """What a verified notification says of one payment attempt on the hosted page."""

    amount_cents: int
    reference: str
    authorisation: str | None
    error: str  # "00000" approved, 001xx refused by the card issuer, other 000xx codes
    transaction: str  # NUMTRANS (Trans:S)
    call: str  # NUMAPPEL (Appel:T)

    @property
    def approved(self) -> bool:
        """Whether the bank authorised the payment."""
        return self.error == APPROVED


@dataclass(frozen=True)
class DirectResponse:
    """The bank's answer to one Paybox Direct question."""

    code: str  # CODEREPONSE
    comment: str  # COMMENTAIRE
    transaction: str  # NUMTRANS
    call: str  # NUMAPPEL
    authorisation: str  # AUTORISATION

    @property
    def approved(self) -> bool:
        """Whether the bank did what was asked."""
        return self.code == APPROVED

    @property
    def unavailable(self) -> bool:
        """Whether the bank failed on its side (the same question may be asked again later):
        no link to the authorisation centre, Paybox's own error, its timeouts, a question and
        answer out of step. Such an answer says nothing about the buyer."""
        return self.code in UNAVAILABLE_CODES


UNAVAILABLE_CODES = frozenset({"00001", "00003", "00097", "00098", "00099"})
"""Paybox Direct's codes for its own failures, which its manual says to try again
(00001, 00003: on the other site; 00097-00099: later), as its labels in public clients read
(ActiveMerchant's client counts 00001, 00097 and 00098 as the platform unavailable)."""

ISSUER_REFUSAL_PREFIX = "001"
"""``001xx``: the card issuer refused (``001`` + the authorisation centre's code)."""


class BadSignatureError(ValueError):
    """The notification's signature is missing or is not the bank's over what was received."""


def hmac_seal(key_hex: str, fields: dict[str, str]) -> str:
    """Return the uppercase hex HMAC-SHA512 of ``K=V&K=V...`` over ``fields`` in their order.

    Values are used as they are, not URL-encoded, as Paybox computes it on its side.
    """
    message = "&".join(f"{name}={value}" for name, value in fields.items())
    key = bytes.fromhex(key_hex)
    return hmac.new(key, message.encode("utf-8"), hashlib.sha512).hexdigest().upper()


def _require_aware(now: datetime) -> datetime:
    """Refuse a naive datetime: the bank compares times across time zones."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now


def _require_amount(amount_cents: int) -> int:
    """Refuse an amount the bank would refuse (zero, negative, more than 10 digits)."""
    if not 0 < amount_cents < 10**10:
        raise ValueError(f"amount_cents out of range: {amount_cents}")
    return amount_cents


def payment_form(account: ShopAccount, *, reference: str, amount_cents: int, email: str,
                 notify_url: str, returns: ReturnUrls, now: datetime) -> dict[str, str]:
    """Return the hidden fields of the form that sends the buyer to the hosted payment page.

    The dict keeps the order the HMAC was computed in; post it as it is to
    ``account.payment_page_url``. The page only authorises (``PBX_AUTOSEULE=O``): the shop
    captures once the sale may be final (``capture``); without it the bank debits at once.
    """
    fields = {
        "PBX_SITE": account.site,
        "PBX_RANG": account.rang,
        "PBX_IDENTIFIANT": account.identifiant,
        "PBX_TOTAL": str(_require_amount(amount_cents)),
        "PBX_DEVISE": EURO,
        "PBX_CMD": reference,
        "PBX_PORTEUR": email,
        "PBX_RETOUR": PBX_RETOUR,
        "PBX_REPONDRE_A": notify_url,
        "PBX_EFFECTUE": returns.effectue,
        "PBX_REFUSE": returns.refuse,
        "PBX_ANNULE": returns.annule,
        "PBX_AUTOSEULE": "O",
        "PBX_HASH": HASH,
        "PBX_TIME": _require_aware(now).isoformat(timespec="seconds"),
    }
    fields["PBX_HMAC"] = hmac_seal(account.hmac_key_hex, fields)
    return fields


def _signed_part(before_sign: str) -> str:
    """The bank's variables only: a return URL's own query parameters come first, unsigned."""
    first = f"{_RETURNED[0]}="
    if before_sign.startswith(first):
        return before_sign
    start = before_sign.find(f"&{first}")
    return before_sign[start + 1:] if start >= 0 else before_sign


def _split_signature(query: str) -> tuple[str, bytes]:
    """Split the raw query into the signed part and the decoded signature."""
    before, mark, encoded = query.rpartition(_SIGN_MARK)
    signed = _signed_part(before)
    if not mark or not signed or not encoded:
        raise BadSignatureError("the notification carries no signature")
    try:
        return signed, base64.b64decode(unquote(encoded), validate=True)
    except (binascii.Error, ValueError) as error:
        raise BadSignatureError("the signature is not base64") from error


def _bank_key(bank_public_key_pem: bytes) -> rsa.RSAPublicKey:
    """Load the bank's RSA public key."""
    key = serialization.load_pem_public_key(bank_public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the bank's public key is not an RSA key")
    return key


def _check_signature(key: rsa.RSAPublicKey, signed: str, signature: bytes) -> None:
    """Raise ``BadSignatureError`` unless ``signature`` is the bank's over ``signed``."""
    try:
        key.verify(signature, signed.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())
    except InvalidSignature as error:
        raise BadSignatureError("the signature does not verify") from error


def _returned_values(signed: str) -> dict[str, str]:
    """Parse the signed variables; each returned variable exactly once."""
    try:
        pairs = parse_qsl(signed, keep_blank_values=True, strict_parsing=True)
    except ValueError as error:
        raise ValueError(f"malformed notification: {error}") from error
    values = dict(pairs)
    if len(values) != len(pairs):
        raise ValueError("malformed notification: a variable is repeated")
    missing = [name for name in _RETURNED if name not in values]
    if missing:
        raise ValueError(f"malformed notification: missing {', '.join(missing)}")
    return values


def _notification(values: dict[str, str]) -> Notification:
    """Build the notification from the verified variables."""
    amount = values["Mt"]
    if not amount.isdigit():
        raise ValueError(f"malformed notification: amount {amount!r}")
    error = values["Erreur"]
    if len(error) != 5 or not error.isdigit():
        raise ValueError(f"malformed notification: error code {error!r}")
    return Notification(amount_cents=int(amount), reference=values["Ref"],
                        authorisation=values["Auto"] or None, error=error,
                        transaction=values["Trans"], call=values["Appel"])


def verify_notification(bank_public_key_pem: bytes, query: str) -> Notification:
    """Verify and read a notification or return-URL query string as received, not re-encoded.

    Raises ``BadSignatureError`` when ``Sign`` is missing or does not verify over everything
    before ``&Sign=`` (from ``Mt=`` on: parameters of the shop's own return URL that come
    before the bank's variables are not signed, and not read), and ``ValueError`` when a
    verified message lacks a variable of ``PBX_RETOUR`` or holds one that makes no sense.
    """
    signed, signature = _split_signature(query.removeprefix("?"))
    _check_signature(_bank_key(bank_public_key_pem), signed, signature)
    return _notification(_returned_values(signed))


def _digits(value: int, width: int, name: str) -> str:
    """Format ``value`` on ``width`` digits, refusing what does not fit."""
    if not 0 <= value < 10**width:
        raise ValueError(f"{name} does not fit on {width} digits: {value}")
    return f"{value:0{width}d}"


def _direct_fields(account: ShopAccount, *, kind: str, reference: str, amount_cents: int,
                   transaction: str, call: str, question: int, now: datetime) -> dict[str, str]:
    """Return the sealed fields of one Paybox Direct question."""
    if question <= 0:
        raise ValueError(f"question must be positive: {question}")
    fields = {
        "VERSION": DIRECT_VERSION,
        "TYPE": kind,
        "SITE": account.site,
        "RANG": account.rang,
        "NUMQUESTION": _digits(question, 10, "question"),
        "MONTANT": _digits(_require_amount(amount_cents), 10, "amount_cents"),
        "DEVISE": EURO,
        "REFERENCE": reference,
        "NUMTRANS": transaction,
        "NUMAPPEL": call,
        "DATEQ": _require_aware(now).astimezone(PARIS).strftime("%d%m%Y%H%M%S"),
        "HASH": HASH,
    }
    fields["HMAC"] = hmac_seal(account.hmac_key_hex, fields)
    return fields


class MalformedAnswerError(ValueError):
    """The bank answered something that is no Paybox Direct answer (no CODEREPONSE)."""


def _direct_response(body: str) -> DirectResponse:
    """Read the bank's urlencoded answer."""
    values = dict(parse_qsl(body.strip(), keep_blank_values=True))
    if "CODEREPONSE" not in values:
        raise MalformedAnswerError(f"malformed Paybox Direct answer: {body[:200]!r}")
    return DirectResponse(code=values["CODEREPONSE"], comment=values.get("COMMENTAIRE", ""),
                          transaction=values.get("NUMTRANS", ""),
                          call=values.get("NUMAPPEL", ""),
                          authorisation=values.get("AUTORISATION", ""))


async def _ask(http: httpx.AsyncClient, url: str, fields: dict[str, str]) -> DirectResponse:
    """POST one question; an HTTP error status raises ``httpx.HTTPStatusError``."""
    response = await http.post(url, data=fields)
    response.raise_for_status()
    return _direct_response(response.text)


async def capture(http: httpx.AsyncClient, account: ShopAccount, *, reference: str,
                  amount_cents: int, transaction: str, call: str, question: int,
                  now: datetime) -> DirectResponse:
    """Capture (TYPE 00002) up to the authorised amount of the transaction the page authorised.

    ``question`` (NUMQUESTION) identifies the question: asking again with the same number after
    a lost answer returns the same answer. Transport errors and HTTP error statuses propagate
    as ``httpx`` exceptions, for the caller to retry.
    """
    fields = _direct_fields(account, kind=TYPE_CAPTURE, reference=reference,
                            amount_cents=amount_cents, transaction=transaction, call=call,
                            question=question, now=now)
    return await _ask(http, account.direct_url, fields)


async def refund(http: httpx.AsyncClient, account: ShopAccount, *, reference: str,
                 amount_cents: int, transaction: str, call: str, question: int,
                 now: datetime) -> DirectResponse:
    """Refund (TYPE 00014) part or all of a captured transaction.

    Same rules as ``capture``: one NUMQUESTION per refund, reused only to retry that refund.
    """
    fields = _direct_fields(account, kind=TYPE_REFUND, reference=reference,
                            amount_cents=amount_cents, transaction=transaction, call=call,
                            question=question, now=now)
    return await _ask(http, account.direct_url, fields)
