"""The shop's E-transactions client, alone: the form's HMAC and the notification's signature.

Every expectation is computed here independently (hashlib/hmac, a key pair made by the test),
never with the module's own helpers.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from services.payments.etransactions import (
    PBX_RETOUR,
    BadSignatureError,
    DirectResponse,
    ReturnUrls,
    ShopAccount,
    payment_form,
    verify_notification,
)

NOW = dt.datetime(2026, 6, 1, 10, 30, tzinfo=dt.UTC)
KEY_HEX = "0123456789ABCDEF" * 8  # a known 128-hex-character key


def _key_pair() -> tuple[rsa.RSAPrivateKey, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public_pem


BANK_KEY, BANK_PUBLIC_PEM = _key_pair()
OTHER_KEY, _ = _key_pair()


def _account(key_hex: str = KEY_HEX) -> ShopAccount:
    return ShopAccount(site="1999888", rang="32", identifiant="107904482", hmac_key_hex=key_hex,
                       payment_page_url="http://bank.test/cgi/MYchoix_pagepaiement.cgi",
                       direct_url="http://bank.test/PPPS.php",
                       bank_public_key_pem=BANK_PUBLIC_PEM)


def _signed(query: str, key: rsa.RSAPrivateKey = BANK_KEY) -> str:
    """``query`` followed by the bank's signature, as the bank sends it."""
    signature = key.sign(query.encode(), padding.PKCS1v15(), hashes.SHA1())
    return f"{query}&Sign={quote(base64.b64encode(signature).decode(), safe='')}"


def _notification_query(reference: str, amount: int = 12345, error: str = "00000",
                        authorisation: str = "123456") -> str:
    return (f"Mt={amount}&Ref={quote(reference, safe='')}&Auto={authorisation}"
            f"&Erreur={error}&Trans=0000012345&Appel=0000067890")


def test_payment_form_is_sealed_with_the_hmac_sha512_of_the_other_fields_in_order() -> None:
    # given a shop account with a known key and an order
    reference = f"order-{uuid.uuid4()}"
    returns = ReturnUrls(effectue="http://shop.test/paid", refuse="http://shop.test/refused",
                         annule="http://shop.test/cancelled")

    # when the form is built
    form = payment_form(_account(), reference=reference, amount_cents=4590,
                        email="jeanne.martin@example.org", notify_url="http://shop.test/ipn",
                        returns=returns, now=NOW)

    # then it holds the fields in Paybox's order, and the HMAC computed independently
    assert list(form) == ["PBX_SITE", "PBX_RANG", "PBX_IDENTIFIANT", "PBX_TOTAL", "PBX_DEVISE",
                          "PBX_CMD", "PBX_PORTEUR", "PBX_RETOUR", "PBX_REPONDRE_A",
                          "PBX_EFFECTUE", "PBX_REFUSE", "PBX_ANNULE", "PBX_AUTOSEULE",
                          "PBX_HASH", "PBX_TIME", "PBX_HMAC"]
    assert form["PBX_AUTOSEULE"] == "O"  # authorised only: captured by Paybox Direct later
    message = ("PBX_SITE=1999888&PBX_RANG=32&PBX_IDENTIFIANT=107904482&PBX_TOTAL=4590"
               f"&PBX_DEVISE=978&PBX_CMD={reference}&PBX_PORTEUR=jeanne.martin@example.org"
               f"&PBX_RETOUR={PBX_RETOUR}&PBX_REPONDRE_A=http://shop.test/ipn"
               "&PBX_EFFECTUE=http://shop.test/paid&PBX_REFUSE=http://shop.test/refused"
               "&PBX_ANNULE=http://shop.test/cancelled&PBX_AUTOSEULE=O&PBX_HASH=SHA512"
               "&PBX_TIME=2026-06-01T10:30:00+00:00")
    expected = hmac.new(bytes.fromhex(KEY_HEX), message.encode(), hashlib.sha512).hexdigest()
    assert form["PBX_HMAC"] == expected.upper()


def test_payment_form_hmac_depends_on_the_key() -> None:
    # given two shops with different keys
    reference = f"order-{uuid.uuid4()}"
    returns = ReturnUrls(effectue="e", refuse="r", annule="a")

    def seal(key_hex: str) -> str:
        return payment_form(_account(key_hex), reference=reference, amount_cents=100,
                            email="a@b.c", notify_url="n", returns=returns, now=NOW)["PBX_HMAC"]

    # then their seals differ
    assert seal(KEY_HEX) != seal(secrets.token_hex(64))


def test_payment_form_refuses_a_naive_time_and_a_zero_amount() -> None:
    returns = ReturnUrls(effectue="e", refuse="r", annule="a")
    with pytest.raises(ValueError, match="timezone"):
        payment_form(_account(), reference="r", amount_cents=100, email="a@b.c",
                     notify_url="n", returns=returns, now=NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="amount"):
        payment_form(_account(), reference="r", amount_cents=0, email="a@b.c",
                     notify_url="n", returns=returns, now=NOW)


def test_a_genuinely_signed_notification_is_read() -> None:
    # given a notification signed by the bank
    reference = f"order {uuid.uuid4()}/é"
    query = _signed(_notification_query(reference))

    # when the shop verifies it
    notification = verify_notification(BANK_PUBLIC_PEM, query)

    # then it reads what the bank said
    assert notification.approved
    assert (notification.amount_cents, notification.reference) == (12345, reference)
    assert (notification.authorisation, notification.error) == ("123456", "00000")
    assert (notification.transaction, notification.call) == ("0000012345", "0000067890")


def test_a_refusal_has_no_authorisation_and_is_not_approved() -> None:
    query = _signed(_notification_query(f"order-{uuid.uuid4()}", error="00105",
                                        authorisation=""))
    notification = verify_notification(BANK_PUBLIC_PEM, query)
    assert not notification.approved
    assert notification.authorisation is None
    assert notification.error == "00105"


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda q: q.replace("Mt=12345", "Mt=1", 1), id="changed amount"),
    pytest.param(lambda q: q.replace("Ref=order-", "Ref=other-", 1), id="changed reference"),
    pytest.param(lambda q: q.replace("Erreur=00105", "Erreur=00000", 1), id="changed outcome"),
])
def test_a_changed_notification_is_refused(tamper) -> None:
    # given a genuinely signed refusal
    query = _signed(_notification_query(f"order-{uuid.uuid4()}", error="00105"))
    assert verify_notification(BANK_PUBLIC_PEM, query)  # (genuine: accepted)

    # when a variable is changed on the way, then the signature does not verify
    with pytest.raises(BadSignatureError):
        verify_notification(BANK_PUBLIC_PEM, tamper(query))


def test_a_notification_without_signature_is_refused() -> None:
    query = _notification_query(f"order-{uuid.uuid4()}")
    with pytest.raises(BadSignatureError):
        verify_notification(BANK_PUBLIC_PEM, query)
    with pytest.raises(BadSignatureError):
        verify_notification(BANK_PUBLIC_PEM, f"{query}&Sign=")


def test_a_notification_signed_by_another_key_is_refused() -> None:
    query = _signed(_notification_query(f"order-{uuid.uuid4()}"), key=OTHER_KEY)
    with pytest.raises(BadSignatureError):
        verify_notification(BANK_PUBLIC_PEM, query)


def test_a_signature_that_is_not_base64_is_refused() -> None:
    query = f"{_notification_query(f'order-{uuid.uuid4()}')}&Sign=%%%not-base64"
    with pytest.raises(BadSignatureError):
        verify_notification(BANK_PUBLIC_PEM, query)


def test_a_signed_message_missing_a_variable_is_malformed() -> None:
    # given a message the bank signed but that lacks the call number
    query = _signed(f"Mt=100&Ref=order-{uuid.uuid4()}&Auto=&Erreur=00105&Trans=0000012345")

    # then it is malformed, not a bad signature
    with pytest.raises(ValueError, match="Appel") as raised:
        verify_notification(BANK_PUBLIC_PEM, query)
    assert not isinstance(raised.value, BadSignatureError)


def test_the_return_urls_own_parameters_are_not_part_of_the_signed_message() -> None:
    # given a return URL with its own query, to which the bank appended its signed variables
    reference = f"order-{uuid.uuid4()}"
    query = f"lang=fr&order={reference}&{_signed(_notification_query(reference))}"

    # then the bank's variables verify and are the ones read
    notification = verify_notification(BANK_PUBLIC_PEM, query)
    assert notification.reference == reference and notification.approved
    # but the bank's variables still cannot be changed
    with pytest.raises(BadSignatureError):
        verify_notification(BANK_PUBLIC_PEM, query.replace("Mt=12345", "Mt=1"))


@pytest.mark.parametrize(("code", "unavailable"), [
    ("00001", True), ("00003", True), ("00097", True), ("00098", True), ("00099", True),
    ("00000", False), ("00105", False), ("00151", False), ("00011", False), ("00015", False)])
def test_only_the_banks_own_failures_are_asked_again(code: str, unavailable: bool) -> None:
    answer = DirectResponse(code=code, comment="", transaction="", call="",
                            authorisation="")
    assert answer.unavailable is unavailable
