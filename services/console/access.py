"""Who may use the console: operators and auditors, signed in with their bearer token, which the
console keeps in an HttpOnly cookie (a browser cannot send a bearer header on page loads and
server-sent events) and passes on to the services' APIs, so each API still decides."""

from __future__ import annotations

import jwt
from fastapi import Request

from services.platform.auth import Principal, TokenVerifier

COOKIE = "console_token"
ROLES = ("ops", "auditor")


class SignInRequiredError(Exception):
    """No valid token of an operator or an auditor came with the request."""


async def signed_in(request: Request) -> tuple[Principal, str]:
    """The caller and their token; raises ``SignInRequiredError`` otherwise."""
    token = request.cookies.get(COOKIE, "")
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = verifier.principal(token)
    except jwt.InvalidTokenError as error:
        raise SignInRequiredError(str(error)) from error
    if principal.role not in ROLES:
        raise SignInRequiredError(f"the role {principal.role} may not use the console")
    return principal, token
