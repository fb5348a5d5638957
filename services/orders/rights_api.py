"""Routes of the data subject's rights, exercised by ops on the buyer's request (a buyer may
also read their own data)."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path, Response
from pydantic import Field

from contracts.personal import BUYER_ID_PATTERN, EMAIL_PATTERN, PHONE_PATTERN
from services.orders import domain, rights
from services.orders.api import AddressBody, show
from services.orders.views import OrderRecord, OrderView, order_record
from services.platform.auth import Allow, Principal
from services.platform.http import Body, ProblemError, problem_responses
from services.platform.idempotency import Answer, answer_once
from services.platform.personal import PostgresKeyStore
from services.platform.service_app import RuntimeDep

__all__ = ["router"]

BuyerId = Annotated[str, Path(pattern=BUYER_ID_PATTERN, max_length=100)]
router = APIRouter(tags=["personal data"], responses=problem_responses(400, 401, 403, 422))


class RectificationBody(Body):
    """The corrected fields of one order; a field left out keeps its value."""

    order_id: str = Field(min_length=1, max_length=100)
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    delivery_address: AddressBody | None = None

    def changes(self) -> domain.PersonalDataChanges:
        address = self.delivery_address.requested() if self.delivery_address else None
        return domain.PersonalDataChanges(self.email, self.phone, address)


@router.get("/buyers/{buyer_id}/personal-data", responses=problem_responses(404))
async def get_personal_data(buyer_id: BuyerId, runtime: RuntimeDep,
                            caller: Annotated[Principal, Allow("buyer", "ops", "auditor")],
                            ) -> rights.BuyerDataExport:
    """Access and portability: every order of the buyer with every personal field, as JSON."""
    if caller.role == "buyer" and caller.subject != buyer_id:
        raise ProblemError(404, "buyer-not-found", "Buyer not found", f"no buyer {buyer_id}")
    return await rights.export_buyer_data(runtime.pool, PostgresKeyStore(runtime.pool),
                                          buyer_id, runtime.context.clock.now())


@router.get("/erasures")
async def get_waiting_erasures(runtime: RuntimeDep, caller: Annotated[Principal, Allow("ops")],
                               ) -> list[rights.WaitingErasure]:
    """Erasure requests that wait for orders of the buyer's to be performed, the oldest first,
    with the orders each waits for."""
    return await rights.waiting_erasures(runtime.pool)


@router.post("/buyers/{buyer_id}/rectification", responses=problem_responses(404, 409))
async def post_rectification(buyer_id: BuyerId, body: RectificationBody, runtime: RuntimeDep,
                             caller: Annotated[Principal, Allow("ops")]) -> OrderView:
    """Rectification: record the corrected personal fields of one of the buyer's orders."""

    async def work(conn: asyncpg.Connection) -> Answer:
        await rights.rectify_personal_data(conn, PostgresKeyStore(conn), runtime.context,
                                           buyer_id, body.order_id, body.changes())
        record = await order_record(conn, body.order_id)
        assert record is not None, "the order was just rectified"
        return Answer(200, record.model_dump(mode="json"))

    answer = await answer_once(runtime.pool, None, work)
    return await show(runtime, OrderRecord.model_validate(answer.body), caller)


@router.post("/buyers/{buyer_id}/restriction")
async def post_restriction(buyer_id: BuyerId, runtime: RuntimeDep,
                           caller: Annotated[Principal, Allow("ops")]) -> rights.RightsReceipt:
    """Restriction: keep the buyer's personal data until each order's billing retention ends,
    shown to the buyer and auditors only."""

    async def work(conn: asyncpg.Connection) -> Answer:
        receipt = await rights.restrict_buyer_data(conn, runtime.context, buyer_id)
        return Answer(200, receipt.model_dump(mode="json"))

    return rights.RightsReceipt.model_validate((await answer_once(runtime.pool, None, work)).body)


@router.post("/buyers/{buyer_id}/erasure", responses={202: {
    "model": rights.RightsReceipt,
    "description": "Erasure deferred: orders of the buyer's are paid and still to be "
                   "performed (``awaiting``); their data is kept for that alone and erased "
                   "once none is"}})
async def post_erasure(buyer_id: BuyerId, runtime: RuntimeDep, response: Response,
                       caller: Annotated[Principal, Allow("ops")]) -> rights.RightsReceipt:
    """Erasure: destroy the buyer's key; every personal field of theirs, everywhere, reads
    ``[erased]``. Amounts, dates and billing records stay. Unpaid orders are cancelled; while
    a paid order is still to be performed, erasure waits for it (202)."""

    async def work(conn: asyncpg.Connection) -> Answer:
        receipt = await rights.erase_buyer_data(conn, PostgresKeyStore(conn), runtime.context,
                                                buyer_id)
        return Answer(202 if receipt.awaiting else 200, receipt.model_dump(mode="json"))

    answer = await answer_once(runtime.pool, None, work)
    response.status_code = answer.status
    return rights.RightsReceipt.model_validate(answer.body)
