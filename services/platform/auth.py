"""Identity: bearer tokens (JWT signed with Ed25519, EdDSA), roles, and who may call which route.

Every route declares the roles it admits in one visible place, its ``Caller`` parameter::

    async def get_order(order_id: OrderId, caller: Annotated[Principal, Allow("buyer", "ops")])

A missing, malformed, expired or foreign token gets 401; a valid token whose role the route does
not admit gets 403; nothing is recorded either way. Tokens are verified with the public key of
the settings (``AUTH_PUBLIC_KEY_FILE``), their issuer, audience and expiry checked.

For local use: ``python -m services.platform.auth keys`` writes a development key pair and
``python -m services.platform.auth token --role ROLE [--subject ID] [--ttl SECONDS]`` prints a
token signed with its private key (``AUTH_PRIVATE_KEY_FILE``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, get_args

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request
from fastapi.params import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.platform.http import ProblemError
from services.platform.settings import AuthSettings

__all__ = ["ROLES", "Allow", "Principal", "Role", "TokenVerifier", "generate_keys", "mint"]

Role = Literal["buyer", "shop", "ops", "warehouse", "carrier", "auditor"]
ROLES: tuple[Role, ...] = get_args(Role)
ALGORITHM = "EdDSA"
_BEARER = HTTPBearer(auto_error=False, description="JWT (EdDSA) with a role claim")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, and for a buyer the buyer's id (the token's subject)."""

    role: Role
    subject: str


VERIFIED_TOKENS_KEPT = 4096
"""How many verified tokens a verifier remembers, so that a client's next request with the
same token skips the signature check (an Ed25519 verification and the claims' validation were a
twentieth of a command's CPU; make bench, py-spy)."""


class TokenVerifier:
    """Verifies bearer tokens against the configured public key, issuer and audience.

    A token that verified is remembered until it expires (its ``exp``): the same bytes carry the
    same signed claims, so only the expiry can change the answer.
    """

    def __init__(self, settings: AuthSettings, now: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._now = now
        self._verified: dict[str, tuple[Principal, float]] = {}

    @cached_property
    def _public_key(self) -> bytes:
        return self._settings.public_key()

    def principal(self, token: str) -> Principal:
        """The token's principal; raises ``jwt.InvalidTokenError`` if it does not verify."""
        if (known := self._verified.get(token)) is not None:
            principal, expires = known
            if self._now() < expires:
                return principal
            del self._verified[token]
            raise jwt.ExpiredSignatureError("Signature has expired")
        principal, expires = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            del self._verified[next(iter(self._verified))]  # the oldest remembered
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        claims = jwt.decode(token, self._public_key, algorithms=[ALGORITHM],
                            audience=self._settings.auth_audience,
                            issuer=self._settings.auth_issuer,
                            options={"require": ["exp", "iat", "iss", "aud", "sub", "role"]})
        if claims["role"] not in ROLES:
            raise jwt.InvalidTokenError(f"unknown role {claims['role']!r}")
        return Principal(claims["role"], str(claims["sub"])), float(claims["exp"])


class Allow(Depends):
    """The dependency a route's caller parameter declares: the roles the route admits."""

    def __init__(self, *roles: Role) -> None:
        unknown = set(roles) - set(ROLES)
        if not roles or unknown:
            raise ValueError(f"a route admits known roles, got {roles!r}")
        self.roles = roles
        super().__init__(self._caller)

    async def _caller(self, request: Request, credentials: Bearer) -> Principal:
        principal = _authenticate(request, credentials)
        if principal.role not in self.roles:
            raise ProblemError(403, "forbidden", "Not allowed for this role",
                               f"this endpoint admits {', '.join(self.roles)}")
        return principal


def _authenticate(request: Request,
                  credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or not credentials.credentials:
        raise _unauthorised("a bearer token is required")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        return verifier.principal(credentials.credentials)
    except jwt.InvalidTokenError as error:
        raise _unauthorised(f"the token is not valid: {error}") from None


def _unauthorised(detail: str) -> ProblemError:
    return ProblemError(401, "unauthorised", "Authentication required", detail,
                        headers={"WWW-Authenticate": "Bearer"})


def generate_keys(directory: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair (PEM) into ``directory`` unless one is there; return the
    paths of the private and public keys. The private key is readable by its owner only."""
    private, public = directory / "private.pem", directory / "public.pem"
    if private.exists() and public.exists():
        return private, public
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    private.chmod(0o600)
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def mint(settings: AuthSettings, role: Role, subject: str | None = None, ttl: int = 3600,
         now: dt.datetime | None = None) -> str:
    """A token for ``role`` (and ``subject``, the buyer id for a buyer), signed with the
    private key of the settings, valid ``ttl`` seconds from ``now``."""
    issued = now or dt.datetime.now(dt.UTC)
    claims = {"iss": settings.auth_issuer, "aud": settings.auth_audience, "role": role,
              "sub": subject or f"{role}-{uuid.uuid4()}", "iat": issued,
              "exp": issued + dt.timedelta(seconds=ttl)}
    return jwt.encode(claims, settings.private_key(), algorithm=ALGORITHM)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m services.platform.auth keys|token …``."""
    parser = argparse.ArgumentParser(prog="python -m services.platform.auth")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("keys", help="write a development key pair if there is none")
    token = commands.add_parser("token", help="print a bearer token on stdout")
    token.add_argument("--role", required=True, choices=ROLES)
    token.add_argument("--subject", help="the buyer id for a buyer; any id for other roles")
    token.add_argument("--ttl", type=int, default=3600, help="seconds of validity")
    args = parser.parse_args(argv)
    settings = AuthSettings()
    if args.command == "keys":
        private, public = generate_keys(settings.auth_private_key_file.parent)
        print(f"private key {private}\npublic key {public}")
    else:
        print(mint(settings, args.role, args.subject, args.ttl))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
