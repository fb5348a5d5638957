"""A sealed value for events built by hand in tests that never open it."""

from __future__ import annotations

from contracts.personal import Sealed

__all__ = ["SEALED"]

SEALED = Sealed(key_id="test-key", nonce="AAAAAAAAAAAAAAAA", ciphertext="AAAA")
"""Ciphertext of nothing under a key that does not exist: reads as erased if ever opened."""
