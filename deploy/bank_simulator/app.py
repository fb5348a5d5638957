"""The simulator's HTTP face: hosted page, card form, Direct, and its test controls.

Routes the real platform has (same paths, so that the shop's configuration is the only change):

- ``POST /cgi/MYchoix_pagepaiement.cgi`` — the shop's sealed ``PBX_*`` form → card page (200)
  or an error page (400);
- ``POST /cgi/pay`` — the card form: decision, notification to ``PBX_REPONDRE_A`` (server to
  server, retried), then 303 to ``PBX_EFFECTUE`` or ``PBX_REFUSE`` with the signed variables;
- ``POST /cgi/cancel`` — 303 to ``PBX_ANNULE`` with ``Erreur=00001``, signed;
- ``POST /PPPS.php`` — Paybox Direct capture (00002) and refund (00014).

Simulator-only controls, which the real platform does not have: ``POST /_simulator/faults``,
``GET /_simulator/faults``, ``GET /_simulator/transactions``, ``GET /_simulator/questions``;
and ``GET /health``.

Card number, expiry and CVV are read by ``/cgi/pay``, decided on and dropped: never logged,
never stored (the transaction keeps only its outcome code).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from deploy.bank_simulator import codes
from deploy.bank_simulator.direct import TYPE_CAPTURE, TYPE_REFUND, DirectBank, answer_fields
from deploy.bank_simulator.hosted import (
    Merchant,
    PaymentRequest,
    RefusedRequest,
    card_decision,
    check_request,
    new_authorisation,
    signed_answer,
    with_query,
)
from deploy.bank_simulator.keys import ensure_keys
from deploy.bank_simulator.ledger import Ledger, TransactionRecord
from deploy.bank_simulator.pages import error_page, payment_page

__all__ = ["create_app"]

log = logging.getLogger("deploy.bank_simulator")

NOTIFY_TIMEOUT_SECONDS = 5.0
FaultMode = Literal["ok", "refuse", "issuer_refuses", "unavailable", "answer_lost", "garbled"]
QUESTIONS_KEPT = 1000
HOLD_LIMIT_SECONDS = 60.0
QUESTION_ECHO = ("TYPE", "REFERENCE", "NUMQUESTION", "MONTANT")


class Faults(BaseModel):
    """Simulator-only: how Direct misbehaves, per operation (``capture``, ``refund``).

    - ``refuse`` answers CODEREPONSE 00003, Paybox's own error (not remembered for the
      question, so a retry after the fault is cleared goes through);
    - ``issuer_refuses`` answers 00105, the card issuer's "do not honour" (not remembered);
    - ``unavailable`` answers HTTP 503 without doing anything;
    - ``answer_lost``: the bank does the operation and remembers its answer for the question,
      then the answer is lost on the way back (HTTP 504 Gateway Timeout); a retry of the same
      question (same NUMQUESTION and content) gets the remembered answer, fault still set or
      not, and the operation is not done twice;
    - ``garbled`` answers HTTP 200 with a body that is no Direct answer (no CODEREPONSE),
      without doing anything;
    - ``delay_seconds`` sleeps before every Direct answer;
    - ``hold`` keeps every Direct question waiting for its answer until faults without it are
      set (at most a minute): a question in flight for as long as a test needs. It is then
      answered under the faults in force.
    """

    capture: FaultMode = "ok"
    refund: FaultMode = "ok"
    delay_seconds: float = Field(default=0.0, ge=0.0, le=60.0)
    hold: bool = False


@dataclass
class Simulator:
    """The simulated bank's state for one app."""

    merchant: Merchant
    private_key: rsa.RSAPrivateKey
    ledger: Ledger
    notifier: httpx.AsyncClient
    notify_attempts: int
    notify_backoff_seconds: float
    sessions: dict[str, PaymentRequest] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    questions: deque[dict[str, str]] = field(
        default_factory=lambda: deque(maxlen=QUESTIONS_KEPT))
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults; questions held are let go once ``hold`` is off."""
        self.faults = faults
        if faults.hold:
            self.released.clear()
        else:
            self.released.set()

    async def held(self) -> None:
        """Wait while questions are held (at most ``HOLD_LIMIT_SECONDS``)."""
        if self.faults.hold:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), HOLD_LIMIT_SECONDS)

    @property
    def direct(self) -> DirectBank:
        """Direct's view of the same ledger."""
        return DirectBank(self.ledger, self.merchant)


async def _form(request: Request) -> list[tuple[str, str]] | None:
    """The urlencoded body as ordered pairs, or ``None`` when it cannot be read."""
    try:
        body = (await request.body()).decode("utf-8")
        return parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        return None


def _refused_page(message: str) -> HTMLResponse:
    return HTMLResponse(error_page(message), status_code=400)


async def _notify(simulator: Simulator, url: str, reference: str) -> bool:
    """GET the shop's notification URL, retried with backoff; whether the shop took it."""
    try:
        async for attempt in AsyncRetrying(
                stop=stop_after_attempt(simulator.notify_attempts),
                wait=wait_exponential(multiplier=simulator.notify_backoff_seconds, max=5.0),
                retry=retry_if_exception_type(httpx.HTTPError), reraise=True):
            with attempt:
                response = await simulator.notifier.get(url, timeout=NOTIFY_TIMEOUT_SECONDS)
                response.raise_for_status()
    except httpx.HTTPError as error:
        log.warning("notification of %s to %s failed: %s", reference,
                    urlsplit(url).netloc, type(error).__name__)
        return False
    return True


def _new_transaction(simulator: Simulator, payment: PaymentRequest,
                     code: str) -> TransactionRecord:
    ledger = simulator.ledger
    approved = code == codes.APPROVED
    debited = approved and not payment.authorise_only  # Paybox debits at once without AUTOSEULE
    transaction = TransactionRecord(
        reference=payment.reference, numtrans=ledger.new_number(), numappel=ledger.new_number(),
        amount_cents=payment.amount_cents,
        status="captured" if debited else "authorised" if approved else "refused",
        outcome=code, authorisation=new_authorisation() if approved else "",
        authorised_cents=payment.amount_cents if approved else 0,
        captured_cents=payment.amount_cents if debited else 0)
    ledger.record(transaction)
    return transaction


def _answer_values(payment: PaymentRequest, code: str,
                   transaction: TransactionRecord | None) -> dict[str, str]:
    """The PBX_RETOUR letters' values; no authorisation number unless approved."""
    return {"M": str(payment.amount_cents), "R": payment.reference, "E": code,
            "A": transaction.authorisation if transaction else "",
            "S": transaction.numtrans if transaction else "",
            "T": transaction.numappel if transaction else ""}


def _install_hosted_page(app: FastAPI, simulator: Simulator) -> None:
    @app.post("/cgi/MYchoix_pagepaiement.cgi", response_class=HTMLResponse,
              tags=["Paybox System"])
    async def payment_page_request(request: Request) -> HTMLResponse:
        pairs = await _form(request)
        if pairs is None:
            return _refused_page("Requête illisible.")
        try:
            payment = check_request(pairs, simulator.merchant)
        except RefusedRequest as refusal:
            return _refused_page(str(refusal))
        session = secrets.token_urlsafe(24)
        simulator.sessions[session] = payment
        return HTMLResponse(payment_page(session, payment.amount_cents, payment.reference))

    @app.post("/cgi/pay", tags=["Paybox System"])
    async def pay(request: Request) -> Response:
        fields = dict(await _form(request) or [])
        payment = simulator.sessions.pop(fields.get("session", ""), None)
        if payment is None:
            return _refused_page("Session de paiement inconnue ou expirée.")
        code = card_decision(fields.get("card_number", ""), fields.get("expiry", ""),
                             fields.get("cvv", ""), datetime.now(UTC).date())
        del fields  # the card data goes no further
        transaction = _new_transaction(simulator, payment, code)
        query = signed_answer(payment, _answer_values(payment, code, transaction),
                              simulator.private_key)
        if payment.notify_url:
            await _notify(simulator, with_query(payment.notify_url, query), payment.reference)
        target = payment.effectue if code == codes.APPROVED else payment.refuse
        return RedirectResponse(with_query(target, query), status_code=303)

    @app.post("/cgi/cancel", tags=["Paybox System"])
    async def cancel(request: Request) -> Response:
        fields = dict(await _form(request) or [])
        payment = simulator.sessions.pop(fields.get("session", ""), None)
        if payment is None:
            return _refused_page("Session de paiement inconnue ou expirée.")
        query = signed_answer(payment, _answer_values(payment, codes.CANCELLED, None),
                              simulator.private_key)
        return RedirectResponse(with_query(payment.annule, query), status_code=303)


def _install_direct(app: FastAPI, simulator: Simulator) -> None:
    @app.post("/PPPS.php", tags=["Paybox Direct"])
    async def direct(request: Request) -> Response:
        pairs = await _form(request) or []
        asked = dict(pairs)
        simulator.questions.append({name: asked.get(name, "") for name in QUESTION_ECHO})
        await simulator.held()
        faults = simulator.faults
        if faults.delay_seconds:
            await asyncio.sleep(faults.delay_seconds)
        kind = asked.get("TYPE")
        mode = {TYPE_CAPTURE: faults.capture, TYPE_REFUND: faults.refund}.get(kind or "", "ok")
        return _direct_answer(simulator, pairs, mode)


def _direct_answer(simulator: Simulator, pairs: list[tuple[str, str]],
                   mode: FaultMode) -> Response:
    """Direct's answer to one question under the fault ``mode`` of its operation."""
    if mode == "unavailable":
        return Response("Service temporairement indisponible", status_code=503)
    if mode == "garbled":
        return Response("<html>maintenance</html>", media_type="text/html")
    if mode in ("refuse", "issuer_refuses"):
        code = codes.PAYBOX_ERROR if mode == "refuse" else codes.DO_NOT_HONOUR
        answer = answer_fields(dict(pairs), code)
    else:
        asked_before = simulator.direct.answered(pairs)
        answer = simulator.direct.answer(pairs)
        if mode == "answer_lost" and not asked_before:
            return Response("Gateway Timeout", status_code=504)  # done, remembered, lost
    return Response(urlencode(answer), media_type="application/x-www-form-urlencoded")


def _install_controls(app: FastAPI, simulator: Simulator) -> None:
    @app.post("/_simulator/faults", tags=["simulator only"])
    async def set_faults(faults: Faults) -> Faults:
        """Simulator only: replace the Direct faults (omitted fields go back to normal)."""
        simulator.set_faults(faults)
        return faults

    @app.get("/_simulator/faults", tags=["simulator only"])
    async def get_faults() -> Faults:
        """Simulator only: the Direct faults in force."""
        return simulator.faults

    @app.get("/_simulator/transactions", tags=["simulator only"])
    async def transactions() -> list[dict[str, object]]:
        """Simulator only: every transaction (no card data is ever kept)."""
        return [asdict(t) for t in simulator.ledger.transactions.values()]

    @app.get("/_simulator/questions", tags=["simulator only"])
    async def questions() -> list[dict[str, str]]:
        """Simulator only: the last Direct questions received, oldest first, as they arrived
        (before any delay or answer): their TYPE, REFERENCE, NUMQUESTION and MONTANT."""
        return list(simulator.questions)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}


def create_app(data_dir: Path, *, site: str = "1999888", rang: str = "32",
               identifiant: str = "107904482", notifier: httpx.AsyncClient | None = None,
               notify_attempts: int = 4, notify_backoff_seconds: float = 0.2) -> FastAPI:
    """The simulator for one shop contract, its keys and ledger in ``data_dir``.

    ``notifier`` sends the notifications (tests pass one with a mock transport); without it
    the app makes its own and closes it at shutdown.
    """
    keys = ensure_keys(data_dir)
    own_notifier = notifier is None
    simulator = Simulator(
        merchant=Merchant(site=site, rang=rang, identifiant=identifiant,
                          hmac_key_hex=keys.shop_hmac_key_hex()),
        private_key=keys.private_key(), ledger=Ledger.open(data_dir),
        notifier=notifier or httpx.AsyncClient(), notify_attempts=notify_attempts,
        notify_backoff_seconds=notify_backoff_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        simulator.ledger.close()
        if own_notifier:
            await simulator.notifier.aclose()

    app = FastAPI(title="E-transactions simulator", lifespan=lifespan,
                  description="Paybox System and Paybox Direct, simulated for development "
                              "and tests. Routes under /_simulator are simulator-only.")
    app.state.simulator = simulator
    _install_hosted_page(app, simulator)
    _install_direct(app, simulator)
    _install_controls(app, simulator)
    return app
