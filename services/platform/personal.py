"""The key store and the seal: personal data encrypted per buyer, erased by destroying the key.

Plumbing for every service that writes or reads personal fields (``contracts.personal``). Keys
live in a key store, never in the log: the orders service's database by default
(``PostgresKeyStore``), a KMS in production behind the same ``KeyStore`` interface. A buyer has
one live key; erasure destroys it, and personal data sealed for the buyer afterwards (a new
order) gets a new key.

Read models keep the sealed value and open it at query time, so that destroying the key erases
the field in every read model at once, and a rebuild after erasure cannot bring it back.
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Protocol, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.base import Value
from contracts.personal import Sealed
from services.platform.db import Db, create_pool
from services.platform.settings import KeyStoreSettings, ServiceSettings

__all__ = ["KeyStore", "PostgresKeyStore", "key_store", "open_all", "open_sealed", "seal",
           "seal_for"]

V = TypeVar("V", bound=Value)


class KeyStore(Protocol):
    """Where buyers' keys live: create, fetch and destroy (a database table or a KMS)."""

    async def sealing_key(self, subject: str) -> tuple[str, bytes]:
        """The subject's live key as (key id, 32 bytes), created on first use."""
        ...

    async def keys(self, key_ids: Iterable[str]) -> dict[str, bytes]:
        """The live keys among ``key_ids``; destroyed or unknown ones are absent."""
        ...

    async def lock(self, subject: str) -> None:
        """Keep the subject's keys from being used to seal until the transaction ends."""
        ...

    async def destroy(self, subject: str) -> int:
        """Destroy every key of ``subject``; return how many were live."""
        ...


class PostgresKeyStore:
    """The key store as the ``personal_keys`` table of the orders database.

    Used inside the caller's transaction when given its connection, so that an order and the
    key that seals its personal data are committed together (or neither is).
    """

    def __init__(self, db: Db) -> None:
        self._db = db

    async def sealing_key(self, subject: str) -> tuple[str, bytes]:
        """The subject's live key, created on first use (concurrent first uses share one).

        The key row stays share-locked until the caller's transaction ends, so an erasure
        running at the same time either waits for this order (and erases it too) or has
        destroyed the key first (and this order gets a new one).
        """
        for _ in range(2):
            # a new buyer's key is created and locked (as its inserter) in one round trip
            row = await self._db.fetchrow(
                "INSERT INTO personal_keys (key_id, subject, material) VALUES ($1, $2, $3) "
                "ON CONFLICT (subject) WHERE material IS NOT NULL DO NOTHING "
                "RETURNING key_id, material",
                str(uuid.uuid4()), subject, AESGCM.generate_key(bit_length=256))
            row = row or await self._db.fetchrow(
                "SELECT key_id, material FROM personal_keys "
                "WHERE subject = $1 AND material IS NOT NULL FOR SHARE", subject)
            if row is not None:
                return row["key_id"], bytes(row["material"])
        raise RuntimeError(f"no live key could be created for {subject}")

    async def keys(self, key_ids: Iterable[str]) -> dict[str, bytes]:
        """The live keys among ``key_ids``."""
        rows = await self._db.fetch(
            "SELECT key_id, material FROM personal_keys "
            "WHERE key_id = ANY($1::text[]) AND material IS NOT NULL", list(set(key_ids)))
        return {row["key_id"]: bytes(row["material"]) for row in rows}

    async def lock(self, subject: str) -> None:
        """Hold the subject's live key until the transaction ends (erasure takes it first)."""
        await self._db.execute(
            "SELECT 1 FROM personal_keys WHERE subject = $1 AND material IS NOT NULL "
            "FOR UPDATE", subject)

    async def destroy(self, subject: str) -> int:
        """Overwrite the subject's keys with nothing and note when; the rows stay as a record."""
        status = await self._db.execute(
            "UPDATE personal_keys SET material = NULL, destroyed_at = now() "
            "WHERE subject = $1 AND material IS NOT NULL", subject)
        return int(status.split()[-1])


@contextlib.asynccontextmanager
async def key_store(settings: ServiceSettings) -> AsyncIterator[KeyStore]:
    """The key store of a service other than orders (``KEYSTORE_DATABASE_URL``, by default the
    orders database), on a small pool of its own for the caller's lifetime: a request waits
    for one of its connections no longer than for one of its service's own (then 503)."""
    pool = await create_pool(KeyStoreSettings().url(settings), max_size=4,
                             acquire_timeout=settings.db_acquire_timeout_ms / 1000)
    try:
        yield PostgresKeyStore(pool)
    finally:
        await pool.close()


def seal(key_id: str, key: bytes, value: Value) -> Sealed:
    """Encrypt ``value`` (its JSON) with AES-256-GCM under ``key``, bound to ``key_id``."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, value.model_dump_json().encode(), key_id.encode())
    return Sealed(key_id=key_id, nonce=_b64(nonce), ciphertext=_b64(ciphertext))


async def seal_for(keys: KeyStore, subject: str, value: Value) -> Sealed:
    """Seal ``value`` with the subject's live key (created on first use)."""
    key_id, key = await keys.sealing_key(subject)
    return seal(key_id, key, value)


async def open_sealed(keys: KeyStore, sealed: Sealed, kind: type[V]) -> V | None:
    """The sealed value, or None once its key has been destroyed."""
    [opened] = await open_all(keys, [sealed], kind)
    return opened


async def open_all(keys: KeyStore, sealed: Iterable[Sealed], kind: type[V]) -> list[V | None]:
    """Open many sealed values with one key lookup; None for each whose key is destroyed."""
    values = list(sealed)
    live = await keys.keys(value.key_id for value in values)
    return [_open(live.get(value.key_id), value, kind) for value in values]


def _open(key: bytes | None, sealed: Sealed, kind: type[V]) -> V | None:
    if key is None:
        return None
    plain = AESGCM(key).decrypt(_unb64(sealed.nonce), _unb64(sealed.ciphertext),
                                sealed.key_id.encode())
    return kind.model_validate_json(plain)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
