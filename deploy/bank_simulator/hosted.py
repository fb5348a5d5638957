"""Paybox System, the bank's side: the shop's request checked, the card decided, the answer signed.

The bank's own code, written from the protocol (it must not trust the shop's library):

- the request's ``PBX_HMAC`` is the uppercase hex HMAC (``PBX_HASH``) of ``K=V&...`` over every
  other received field in the received order, keyed with the shop's secret key;
- the answer is the ``PBX_RETOUR`` variables in their order, URL-encoded, then (for ``K``) the
  base64, URL-encoded RSA PKCS#1 v1.5 SHA-1 signature of everything before it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from deploy.bank_simulator import codes

__all__ = ["Merchant", "PaymentRequest", "RefusedRequest", "card_decision", "check_request",
           "new_authorisation", "signed_answer", "with_query"]

ACCESS_REFUSED = "Problème d'identification du commerce. Accès refusé !"
REQUIRED = ("PBX_SITE", "PBX_RANG", "PBX_IDENTIFIANT", "PBX_TOTAL", "PBX_DEVISE", "PBX_CMD",
            "PBX_PORTEUR", "PBX_RETOUR", "PBX_HASH", "PBX_TIME", "PBX_HMAC",
            "PBX_EFFECTUE", "PBX_REFUSE", "PBX_ANNULE")
HASHES = {"SHA512": hashlib.sha512, "SHA384": hashlib.sha384, "SHA256": hashlib.sha256}
# amount, reference, authorisation, error, numtrans, numappel, signature
RETURNABLE = frozenset("MRAESTK")
TEST_CARDS = {
    "4111111111111111": codes.APPROVED,
    "4000000000000002": codes.DO_NOT_HONOUR,
    "4000000000009995": codes.INSUFFICIENT_FUNDS,
}
EXPIRY = re.compile(r"(0[1-9]|1[0-2])/(\d\d)")


class RefusedRequest(ValueError):
    """The hosted page refuses the shop's request; the message is shown to the buyer."""


@dataclass(frozen=True)
class Merchant:
    """The one shop contract the simulator knows."""

    site: str
    rang: str
    identifiant: str
    hmac_key_hex: str


@dataclass(frozen=True)
class PaymentRequest:
    """A checked request for the hosted page: what the bank needs until the answer."""

    amount_cents: int
    reference: str
    retour: tuple[tuple[str, str], ...]  # (name the shop chose, letter)
    notify_url: str | None
    effectue: str
    refuse: str
    annule: str
    authorise_only: bool = False
    """``PBX_AUTOSEULE=O``: authorised, captured later by Paybox Direct; otherwise the bank
    debits the card at once, as Paybox does (a later Direct capture is then refused)."""


def _single_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise RefusedRequest("Variable PBX en double.")
    missing = [name for name in REQUIRED if not fields.get(name)]
    if missing:
        raise RefusedRequest(f"Variable(s) manquante(s) : {', '.join(missing)}.")
    return fields


def _check_hmac(pairs: list[tuple[str, str]], fields: dict[str, str], key_hex: str) -> None:
    algorithm = HASHES.get(fields["PBX_HASH"])
    if algorithm is None:
        raise RefusedRequest(ACCESS_REFUSED)
    message = "&".join(f"{name}={value}" for name, value in pairs if name != "PBX_HMAC")
    expected = hmac.new(bytes.fromhex(key_hex), message.encode("utf-8"), algorithm).hexdigest()
    if not hmac.compare_digest(expected.upper(), fields["PBX_HMAC"].upper()):
        raise RefusedRequest(ACCESS_REFUSED)


def _check_merchant(fields: dict[str, str], merchant: Merchant) -> None:
    sent = (fields["PBX_SITE"], fields["PBX_RANG"], fields["PBX_IDENTIFIANT"])
    if sent != (merchant.site, merchant.rang, merchant.identifiant):
        raise RefusedRequest(ACCESS_REFUSED)


def _retour(value: str) -> tuple[tuple[str, str], ...]:
    entries = []
    for entry in value.split(";"):
        name, colon, letter = entry.partition(":")
        if not colon or not name or letter not in RETURNABLE:
            raise RefusedRequest(f"PBX_RETOUR invalide : {entry!r}.")
        entries.append((name, letter))
    letters = [letter for _, letter in entries]
    if "K" in letters and letters.index("K") != len(letters) - 1:
        raise RefusedRequest("PBX_RETOUR : la signature (K) doit être en dernière position.")
    return tuple(entries)


def _amount(fields: dict[str, str]) -> int:
    if fields["PBX_DEVISE"] != "978":
        raise RefusedRequest("Devise inconnue (PBX_DEVISE).")
    total = fields["PBX_TOTAL"]
    if not total.isdigit() or not 0 < int(total) < 10**10:
        raise RefusedRequest("Montant incorrect (PBX_TOTAL).")
    return int(total)


def _check_time(value: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError as error:
        raise RefusedRequest("Horodatage incorrect (PBX_TIME).") from error


def check_request(pairs: list[tuple[str, str]], merchant: Merchant) -> PaymentRequest:
    """Check the shop's form as received, in order; raise ``RefusedRequest`` when refused."""
    fields = _single_values(pairs)
    _check_hmac(pairs, fields, merchant.hmac_key_hex)
    _check_merchant(fields, merchant)
    amount = _amount(fields)
    _check_time(fields["PBX_TIME"])
    return PaymentRequest(amount_cents=amount, reference=fields["PBX_CMD"],
                          retour=_retour(fields["PBX_RETOUR"]),
                          notify_url=fields.get("PBX_REPONDRE_A") or None,
                          effectue=fields["PBX_EFFECTUE"], refuse=fields["PBX_REFUSE"],
                          annule=fields["PBX_ANNULE"], authorise_only=_authorise_only(fields))


def _authorise_only(fields: dict[str, str]) -> bool:
    value = fields.get("PBX_AUTOSEULE", "N")
    if value not in ("O", "N"):
        raise RefusedRequest("PBX_AUTOSEULE invalide (O ou N).")
    return value == "O"


def _expiry_valid(expiry: str, today: date) -> bool:
    match = EXPIRY.fullmatch(expiry.strip())
    if match is None:
        return False
    month, year = int(match[1]), 2000 + int(match[2])
    return (year, month) >= (today.year, today.month)


def card_decision(card_number: str, expiry: str, cvv: str, today: date) -> str:
    """The answer code for a card; the card data goes no further than this function."""
    number = card_number.replace(" ", "")
    if not number.isdigit() or not re.fullmatch(r"\d{3}", cvv.strip()):
        return codes.INVALID_CARD
    if not _expiry_valid(expiry, today):
        return codes.INVALID_EXPIRY
    return TEST_CARDS.get(number, codes.INVALID_CARD)


def new_authorisation() -> str:
    """A 6-character authorisation number, as the authorisation centre gives."""
    return f"{secrets.randbelow(10**6):06d}"


def _sign(private_key: rsa.RSAPrivateKey, data: str) -> str:
    signature = private_key.sign(data.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())
    return quote(base64.b64encode(signature).decode("ascii"), safe="")


def signed_answer(request: PaymentRequest, values: dict[str, str],
                  private_key: rsa.RSAPrivateKey) -> str:
    """The query string of the answer: ``PBX_RETOUR`` variables in order, signed last by ``K``.

    ``values`` maps letters (M, R, A, E, S, T) to their values.
    """
    data = "&".join(f"{name}={quote(values[letter], safe='')}"
                    for name, letter in request.retour if letter != "K")
    for name, letter in request.retour:
        if letter == "K":
            return f"{data}&{name}={_sign(private_key, data)}"
    return data


def with_query(url: str, query: str) -> str:
    """``url`` with ``query`` appended, whether or not it already has one."""
    return f"{url}{'&' if '?' in url else '?'}{query}"
