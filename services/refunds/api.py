"""The refunds service's HTTP API: the refunds an order is owed (as of today), the operators'
list of overdue refunds, the payout order, and the legal-interest rates operators record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Query
from pydantic import Field

from contracts.policies import paris_date
from services.platform.auth import Allow, Principal
from services.platform.eventstore import ConcurrencyError
from services.platform.http import (
    NO_CONTROL_CHARACTERS,
    Body,
    ProblemError,
    Refusal,
    Refusals,
    problem_responses,
)
from services.platform.idempotency import Answer, answer_once
from services.platform.runtime import Runtime
from services.platform.service_app import RuntimeDep
from services.refunds import domain, handlers
from services.refunds.views import (
    OverdueRefunds,
    RateView,
    RefundView,
    overdue_refunds,
    recorded_rates,
    refund_by_id,
    refunds_of_order,
)

__all__ = ["REFUSALS", "router"]

RefundId = Annotated[str, Path(min_length=1, max_length=80, pattern=NO_CONTROL_CHARACTERS)]
REFUSALS: Refusals = {
    domain.RefundNotFoundError: Refusal(404, "refund-not-found", "No such refund"),
    domain.RefundConflictError: Refusal(409, "refund-conflict",
                                        "Conflict with the refund's state"),
    domain.RateConflictError: Refusal(409, "rate-already-known",
                                      "The half-year's rate is already known"),
}
router = APIRouter(tags=["refunds"], responses=problem_responses(400, 401, 403, 422))
Reader = Annotated[Principal, Allow("shop", "ops", "auditor")]
Ops = Annotated[Principal, Allow("ops")]
PAY_ATTEMPTS = 3
Work = Callable[[asyncpg.Connection], Awaitable[Answer]]


class RateBody(Body):
    """A half-year's legal-interest rate, as the arrêté sets it."""

    half_year: str = Field(pattern=r"^20\d{2}-S[12]$", examples=["2026-S2"])
    percent: str = Field(pattern=r"^\d{1,2}(\.\d{1,4})?$", examples=["6.67"],
                         description="annual percent, as a decimal string (never a float)")
    source: str = Field(min_length=1, max_length=500, examples=["arrêté du 19 juin 2026"])


@router.get("/refunds")
async def get_refunds(runtime: RuntimeDep, caller: Reader,
                      order_id: Annotated[str, Query(min_length=1, max_length=100,
                                                     pattern=NO_CONTROL_CHARACTERS)],
                      ) -> list[RefundView]:
    """The order's refunds: each obligation, its deadline, its delay and surcharge as of today
    (or as paid), every escalation recorded, and its payout. Empty when nothing is owed."""
    del caller
    async with runtime.pool.acquire() as conn:
        policy = await handlers.current_policy(conn)
        return await refunds_of_order(conn, order_id, _today(runtime), policy)


@router.get("/refunds/overdue")
async def get_overdue(runtime: RuntimeDep, caller: Annotated[Principal, Allow("ops", "auditor")],
                      ) -> OverdueRefunds:
    """Operators' list: every unpaid refund past its deadline, the largest amount owed first,
    with the totals (and how many figures are provisional for want of a recorded rate)."""
    del caller
    async with runtime.pool.acquire() as conn:
        policy = await handlers.current_policy(conn)
        return await overdue_refunds(conn, _today(runtime), policy)


@router.get("/refunds/{refund_id}", responses=problem_responses(404))
async def get_refund(refund_id: RefundId, runtime: RuntimeDep, caller: Reader) -> RefundView:
    """One refund, as of today (or as paid)."""
    del caller
    return await _refund(runtime, refund_id)


@router.post("/refunds/{refund_id}/pay", status_code=202, responses=problem_responses(404, 409))
async def post_pay(refund_id: RefundId, runtime: RuntimeDep, caller: Ops) -> RefundView:
    """Order the refund paid: base plus the surcharge the engine gives for today (never an
    amount from the request). Payments asks the bank; the refund reads ``payout: pending``
    until the bank answers, then ``paid`` (or ``payout: refused``, and it stays open).
    On a refund paid whose figure a correction raised since (a legal-interest rate recorded
    after it was paid), it orders its ``balance_cents`` paid the same way.
    Asking again is safe: a payout under way, or a refund paid with no balance, is refused
    with 409; so is a voided refund (its cause did not take effect)."""
    del caller

    async def work(conn: asyncpg.Connection) -> Answer:
        await handlers.pay_refund(conn, refund_id, runtime.context)
        return Answer(202, {})

    await _decided_on_the_latest_state(runtime, work)
    return await _refund(runtime, refund_id)


async def _decided_on_the_latest_state(runtime: Runtime, work: Work) -> None:
    """Run an operator's command on a refund's order; when the worker recorded on the order
    meanwhile (a cause, a step, a payout's outcome), decide again on the new state, which may
    now refuse or find it done; after a few races, tell the caller."""
    for attempt in range(1, PAY_ATTEMPTS + 1):
        try:
            await answer_once(runtime.pool, None, work)
            return
        except ConcurrencyError:
            if attempt == PAY_ATTEMPTS:
                raise


class RecoveryBody(Body):
    """Money the buyer gave back for a voided refund, as the shop's bank received it."""

    amount_cents: int = Field(ge=1, le=100_000_000, examples=[9610])
    reference: str = Field(min_length=1, max_length=100, pattern=NO_CONTROL_CHARACTERS,
                           examples=["VIR-2026-07-0042"],
                           description="the transfer's reference: each is recorded once")


@router.post("/refunds/{refund_id}/recovery", status_code=201,
             responses=problem_responses(404, 409))
async def post_recovery(refund_id: RefundId, body: RecoveryBody, runtime: RuntimeDep,
                        caller: Ops) -> RefundView:
    """Record money the buyer gave back for a refund voided after it was refunded (listed
    under ``to_recover`` in ``GET /refunds/overdue`` until all of it is back). The same
    transfer again records nothing; more than is left to recover, a refund not voided, or a
    payout still awaiting the bank's answer is refused with 409."""
    del caller
    command = domain.RecordRecovery(refund_id, body.amount_cents, body.reference)

    async def work(conn: asyncpg.Connection) -> Answer:
        await handlers.record_recovery(conn, command, runtime.context)
        return Answer(201, {})

    await _decided_on_the_latest_state(runtime, work)
    return await _refund(runtime, refund_id)


@router.get("/legal-interest-rates")
async def get_rates(runtime: RuntimeDep, caller: Reader) -> list[RateView]:
    """The legal-interest rates operators recorded (the shipped table is in
    ``contracts/policies``)."""
    del caller
    return await recorded_rates(runtime.pool)


@router.post("/legal-interest-rates", status_code=201, responses=problem_responses(409))
async def post_rate(body: RateBody, runtime: RuntimeDep, caller: Ops) -> list[RateView]:
    """Record a half-year's rate: the figures that lacked it are recomputed by the next sweep,
    and each correction is recorded as an event. Recording the same rate again records
    nothing; another rate for a half-year already known (shipped or recorded) is refused."""
    del caller
    command = domain.RecordRate(body.half_year, Decimal(body.percent), body.source)

    async def work(conn: asyncpg.Connection) -> Answer:
        await handlers.record_rate(conn, command, runtime.context)
        return Answer(201, {})

    await answer_once(runtime.pool, None, work)
    return await recorded_rates(runtime.pool)


async def _refund(runtime: Runtime, refund_id: str) -> RefundView:
    async with runtime.pool.acquire() as conn:
        policy = await handlers.current_policy(conn)
        view = await refund_by_id(conn, refund_id, _today(runtime), policy)
    if view is None:
        raise ProblemError(404, "refund-not-found", "No such refund", f"no refund {refund_id}")
    return view


def _today(runtime: Runtime) -> dt.date:
    return paris_date(runtime.context.clock.now())
