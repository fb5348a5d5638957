"""A parcel back for its address before fulfilment's state said so (migration 012): its state
is brought to what folding its stream gives, so it does not ship to the same address."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from services.fulfilment import domain
from services.fulfilment.shipping import Ship, ShippingConflictError
from tests.component.support import kept_without
from tests.unit.fulfilment.test_fulfilment_shipping import (
    AT,
    CONFIRMED,
    RESERVED,
    RETURNED,
    SHIPPED,
    given,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")
MIGRATION = (Path(domain.__file__).parent / "migrations" / "012_address_to_correct_in_state.sql")


async def migrated(conn: asyncpg.Connection, order_id: str) -> domain.FulfilmentState:
    row = await conn.fetchval("SELECT state FROM streams WHERE order_id = $1", order_id)
    return domain.FulfilmentState.model_validate(row)


async def test_a_parcel_back_before_the_flag_existed_is_held_for_its_address(
        fulfilment_conn: asyncpg.Connection) -> None:
    # given a parcel back with the seller, and one reshipped since, kept without the flag
    back = given(RESERVED, CONFIRMED, SHIPPED, RETURNED)
    reshipped = given(RESERVED, CONFIRMED, SHIPPED, RETURNED, SHIPPED)
    assert back is not None and reshipped is not None and back.address_to_correct
    back_id = await kept_without(fulfilment_conn, back, "address_to_correct", 4)
    reshipped_id = await kept_without(fulfilment_conn, reshipped, "address_to_correct", 5)
    # when the migration runs
    await fulfilment_conn.execute(MIGRATION.read_text())
    # then each state is what folding its stream gives: the parcel back does not ship again
    assert await migrated(fulfilment_conn, back_id) == back
    assert await migrated(fulfilment_conn, reshipped_id) == reshipped
    with pytest.raises(ShippingConflictError, match="incorrect or incomplete address"):
        domain.decide(await migrated(fulfilment_conn, back_id), Ship("Colissimo", "6A2"), AT)
