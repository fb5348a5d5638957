"""Bearer tokens: what verifies and what does not (pure: keys in a temporary folder)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import jwt
import pytest

from services.platform.auth import (
    VERIFIED_TOKENS_KEPT,
    Principal,
    TokenVerifier,
    generate_keys,
    mint,
)
from services.platform.settings import AuthSettings


@pytest.fixture
def issuer(tmp_path: Path) -> AuthSettings:
    private, public = generate_keys(tmp_path / "issuer")
    return AuthSettings(auth_private_key_file=private, auth_public_key_file=public)


def test_a_minted_token_verifies_to_its_role_and_subject(issuer: AuthSettings) -> None:
    token = mint(issuer, "buyer", "buyer-42")
    assert TokenVerifier(issuer).principal(token) == Principal("buyer", "buyer-42")


def test_the_private_key_is_readable_by_its_owner_only(issuer: AuthSettings) -> None:
    assert issuer.auth_private_key_file.stat().st_mode & 0o077 == 0


def test_an_expired_token_is_refused(issuer: AuthSettings) -> None:
    token = mint(issuer, "ops", now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    with pytest.raises(jwt.ExpiredSignatureError):
        TokenVerifier(issuer).principal(token)


def test_a_remembered_token_is_refused_once_it_expires(issuer: AuthSettings) -> None:
    clock = [time.time()]
    verifier = TokenVerifier(issuer, now=lambda: clock[0])
    token = mint(issuer, "buyer", "buyer-7", ttl=60)
    assert verifier.principal(token) == Principal("buyer", "buyer-7")
    clock[0] += 59
    assert verifier.principal(token) == Principal("buyer", "buyer-7")
    clock[0] += 2
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.principal(token)


def test_a_verifier_remembers_a_bounded_number_of_tokens(issuer: AuthSettings) -> None:
    verifier = TokenVerifier(issuer)
    first = mint(issuer, "ops")
    verifier.principal(first)
    for _ in range(VERIFIED_TOKENS_KEPT):
        verifier.principal(mint(issuer, "ops"))
    assert len(verifier._verified) == VERIFIED_TOKENS_KEPT
    assert first not in verifier._verified
    assert verifier.principal(first).role == "ops"  # forgotten, so verified again


@pytest.mark.parametrize("change", [{"auth_audience": "elsewhere"}, {"auth_issuer": "forger"}])
def test_a_token_for_another_audience_or_from_another_issuer_is_refused(
        issuer: AuthSettings, change: dict[str, str]) -> None:
    token = mint(issuer.model_copy(update=change), "ops")
    with pytest.raises(jwt.InvalidTokenError):
        TokenVerifier(issuer).principal(token)


def test_a_token_signed_with_another_key_is_refused(issuer: AuthSettings, tmp_path: Path) -> None:
    private, public = generate_keys(tmp_path / "other")
    other = AuthSettings(auth_private_key_file=private, auth_public_key_file=public)
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(issuer).principal(mint(other, "ops"))


def test_an_unsigned_token_is_refused(issuer: AuthSettings) -> None:
    claims = {"iss": issuer.auth_issuer, "aud": issuer.auth_audience, "sub": "x", "role": "ops",
              "iat": dt.datetime.now(dt.UTC), "exp": dt.datetime.now(dt.UTC)
              + dt.timedelta(hours=1)}
    with pytest.raises(jwt.InvalidTokenError):
        TokenVerifier(issuer).principal(jwt.encode(claims, "", algorithm="none"))


def test_an_unknown_role_is_refused(issuer: AuthSettings) -> None:
    claims = {"iss": issuer.auth_issuer, "aud": issuer.auth_audience, "sub": "x",
              "role": "admin", "iat": dt.datetime.now(dt.UTC),
              "exp": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)}
    token = jwt.encode(claims, issuer.private_key(), algorithm="EdDSA")
    with pytest.raises(jwt.InvalidTokenError, match="unknown role"):
        TokenVerifier(issuer).principal(token)


def test_a_service_without_a_public_key_refuses_to_start(tmp_path: Path) -> None:
    settings = AuthSettings(auth_public_key_file=tmp_path / "missing.pem")
    with pytest.raises(RuntimeError, match="AUTH_PUBLIC_KEY_FILE"):
        settings.public_key()
