"""The payments service's HTTP API: the payment session, the payment's state, the bank's signed
notification and the browser's return page."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

from services.payments import domain, etransactions, handlers
from services.payments.handlers import Bank
from services.payments.settings import PaymentsSettings
from services.payments.views import PaymentView, payment_record
from services.platform.auth import Allow, Principal
from services.platform.http import Body, ProblemError, Refusal, Refusals, problem_responses
from services.platform.idempotency import Answer, answer_once
from services.platform.personal import KeyStore, key_store
from services.platform.runtime import Runtime
from services.platform.service_app import RuntimeDep, collaborators_of
from services.platform.settings import ServiceSettings

__all__ = ["REFUSALS", "PaymentsCollaborators", "collaborators", "router"]

OrderId = Annotated[str, Path(min_length=1, max_length=100)]
REFUSALS: Refusals = {
    domain.PaymentNotFoundError: Refusal(404, "payment-not-found", "No payment for this order"),
    domain.PaymentConflictError: Refusal(409, "payment-conflict",
                                         "Conflict with the payment's state"),
    handlers.BadNotificationError: Refusal(400, "bad-notification", "Notification refused"),
}
router = APIRouter(tags=["payments"], responses=problem_responses(400, 401, 403, 422))


@dataclass(frozen=True)
class PaymentsCollaborators:
    """What the payments routes need besides the runtime: the bank and the key store."""

    bank: Bank
    keys: KeyStore


@contextlib.asynccontextmanager
async def collaborators(settings: ServiceSettings) -> AsyncIterator[PaymentsCollaborators]:
    """Open the bank client and the key store's pool for the app's lifetime."""
    bank = Bank.from_settings(PaymentsSettings())
    try:
        async with key_store(settings) as keys:
            yield PaymentsCollaborators(bank, keys)
    finally:
        await bank.http.aclose()


Collaborators = Annotated[PaymentsCollaborators, Depends(collaborators_of)]
NOTIFICATION_VARIABLES = frozenset(part.split(":")[0]
                                   for part in etransactions.PBX_RETOUR.split(";"))
"""The variables ``PBX_RETOUR`` asks the bank to send back: no others are accepted."""


class SessionView(BaseModel):
    """The hidden form that sends the buyer to the bank's payment page."""

    action: str
    method: str
    fields: dict[str, str]


@router.post("/payments/{order_id}/session", status_code=201,
             responses=problem_responses(404, 409))
async def post_session(order_id: OrderId, runtime: RuntimeDep, extra: Collaborators,
                       caller: Annotated[Principal, Allow("buyer", "shop")]) -> SessionView:
    """A payment session for the order's total as recorded when it was placed (never an amount
    from the client): the fields of the bank's hosted page, signed with the shop's key."""
    await _own_payment(runtime.pool, order_id, caller)

    async def work(conn: asyncpg.Connection) -> Answer:
        form = await handlers.open_session(conn, order_id, runtime.context, extra.bank,
                                           extra.keys)
        return Answer(201, {"action": form.action, "method": form.method, "fields": form.fields})

    # not kept for replay (no Idempotency-Key): the signed form holds the buyer's e-mail
    return SessionView.model_validate((await answer_once(runtime.pool, None, work)).body)


@router.get("/payments/notifications", response_class=PlainTextResponse,
            responses=problem_responses(400))
async def get_notification(
        request: Request, runtime: RuntimeDep, extra: Collaborators,
        amount: Annotated[str, Query(alias="Mt", pattern=r"^[0-9]{1,10}$")],
        reference: Annotated[str, Query(alias="Ref", max_length=200,
                                        pattern=r"^[^.\x00-\x1f]+\.[^.\x00-\x1f]+$")],
        error: Annotated[str, Query(alias="Erreur", pattern=r"^[0-9]{5}$")],
        signature: Annotated[str, Query(alias="Sign", min_length=1, max_length=2000)],
        authorisation: Annotated[str | None, Query(alias="Auto", max_length=20)] = None,
        transaction: Annotated[str | None, Query(alias="Trans", pattern=r"^[0-9]{0,10}$")] = None,
        call: Annotated[str | None, Query(alias="Appel", pattern=r"^[0-9]{0,10}$")] = None,
) -> str:
    """The bank's server-to-server notification (``PBX_REPONDRE_A``) with the ``PBX_RETOUR``
    variables, authenticated by its RSA signature (``Sign``) rather than a token. It is checked
    on the raw query string as the bank signed it; a rejected notification is recorded with
    its reason and answered 200, so the bank does not send it again."""
    del amount, reference, error, signature, authorisation, transaction, call  # documented
    if unknown := set(request.query_params) - NOTIFICATION_VARIABLES:
        raise ProblemError(400, "bad-notification", "Notification refused",
                           f"not a variable the shop asked for: {', '.join(sorted(unknown))}")
    query = request.url.query

    async def work(conn: asyncpg.Connection) -> Answer:
        await handlers.receive_notification(conn, query, runtime.context, extra.bank)
        return Answer(200, {})

    await answer_once(runtime.pool, None, work)
    return "OK"


@router.get("/payments/return", response_class=HTMLResponse)
async def get_return(order: Annotated[str | None, Query(max_length=100)] = None,
                     outcome: Annotated[str | None, Query(max_length=20)] = None) -> str:
    """Where the bank sends the buyer's browser back when no storefront URL is configured."""
    del order
    said = {"paid": "Paiement accepté", "refused": "Paiement refusé",
            "cancelled": "Paiement annulé"}.get(outcome or "", "Retour du paiement")
    return f"<!doctype html><title>{said}</title><h1>{said}</h1>"


@router.get("/payments/{order_id}", responses=problem_responses(404))
async def get_payment(order_id: OrderId, runtime: RuntimeDep,
                      caller: Annotated[Principal, Allow("buyer", "shop", "ops", "auditor")],
                      ) -> PaymentView:
    """The order's payment: state, amounts, the bank's authorisation number; no card field."""
    return await _own_payment(runtime.pool, order_id, caller)


class DisputeBody(Body):
    reason: str = Field(min_length=1, max_length=500)


class ResolutionBody(Body):
    resolution: str = Field(min_length=1, max_length=500)


class VerificationBody(Body):
    documents: list[domain.Document] = Field(min_length=1, max_length=2)


class OutcomeBody(Body):
    outcome: Literal["accepted", "rejected"]


_OPS = Annotated[Principal, Allow("ops")]


@router.post("/payments/{order_id}/disputes", responses=problem_responses(404, 409))
async def post_dispute(order_id: OrderId, body: DisputeBody, runtime: RuntimeDep,
                       caller: _OPS) -> PaymentView:
    """Record that the buyer disputes the payment: their new payments are refused meanwhile."""
    return await _ops(runtime, order_id, caller, domain.OpenDispute(body.reason))


@router.post("/payments/{order_id}/disputes/close", responses=problem_responses(404, 409))
async def post_dispute_closed(order_id: OrderId, body: ResolutionBody, runtime: RuntimeDep,
                              caller: _OPS) -> PaymentView:
    """Record that the dispute is settled."""
    return await _ops(runtime, order_id, caller, domain.CloseDispute(body.resolution))


@router.post("/payments/{order_id}/verification", responses=problem_responses(404, 409))
async def post_verification(order_id: OrderId, body: VerificationBody, runtime: RuntimeDep,
                            caller: _OPS) -> PaymentView:
    """Require identity documents: the order waits until they are checked."""
    command = domain.RequestVerification(tuple(body.documents))
    return await _ops(runtime, order_id, caller, command)


@router.post("/payments/{order_id}/verification/outcome",
             responses=problem_responses(404, 409))
async def post_verification_outcome(order_id: OrderId, body: OutcomeBody, runtime: RuntimeDep,
                                    caller: _OPS) -> PaymentView:
    """Record the documents' check: accepted, or rejected (the order is then cancelled and
    what was captured is owed back)."""
    return await _ops(runtime, order_id, caller, domain.CompleteVerification(body.outcome))


async def _ops(runtime: Runtime, order_id: str, caller: Principal,
               command: domain.OpsCommand) -> PaymentView:
    async def work(conn: asyncpg.Connection) -> Answer:
        await handlers.handle(conn, order_id, command, runtime.context)
        return Answer(200, {})

    await answer_once(runtime.pool, None, work)
    return await _own_payment(runtime.pool, order_id, caller)


async def _own_payment(db: Any, order_id: str, caller: Principal) -> PaymentView:
    payment = await payment_record(db, order_id)
    if payment is None or (caller.role == "buyer" and payment.buyer_id != caller.subject):
        raise ProblemError(404, "payment-not-found", "No payment for this order",
                           f"no payment for order {order_id}")
    return PaymentView.model_validate(payment.model_dump(exclude={"personal"}))
