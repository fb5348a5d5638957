"""The bank's RSA key pair (signs notifications) and the shop's HMAC key (seals its requests).

Generated once into the simulator's data directory, kept afterwards: a restarted simulator signs
with the same key and checks the same shop key. Secrets are written with mode 0600.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["DEFAULT_DATA_DIR", "BankKeys", "ensure_keys"]

DEFAULT_DATA_DIR = Path(".data/local/bank")
PRIVATE_KEY = "bank_private.pem"
PUBLIC_KEY = "bank_public.pem"
SHOP_HMAC_KEY = "shop_hmac.key"
HMAC_KEY_BYTES = 64  # 128 hex characters, the length of the keys the bank's back office issues


@dataclass(frozen=True)
class BankKeys:
    """Where the keys are, and how to read them."""

    private_key_path: Path
    public_key_path: Path
    shop_hmac_key_path: Path

    def private_key(self) -> rsa.RSAPrivateKey:
        """The bank's private key, which signs notifications."""
        key = serialization.load_pem_private_key(self.private_key_path.read_bytes(),
                                                 password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{self.private_key_path} is not an RSA private key")
        return key

    def public_key_pem(self) -> bytes:
        """The bank's public key in PEM, as the shop is given it."""
        return self.public_key_path.read_bytes()

    def shop_hmac_key_hex(self) -> str:
        """The shop's secret HMAC key, hex."""
        return self.shop_hmac_key_path.read_text(encoding="ascii").strip()


def _write(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` to a new file with ``mode``, atomically (temporary file, rename)."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _generate_key_pair(keys: BankKeys) -> None:
    """Generate the bank's RSA 2048 key pair."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _write(keys.private_key_path, private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)
    _write(keys.public_key_path, private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)


def ensure_keys(data_dir: Path) -> BankKeys:
    """Return the keys of ``data_dir``, generating on first call what is not there yet."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    keys = BankKeys(private_key_path=data_dir / PRIVATE_KEY,
                    public_key_path=data_dir / PUBLIC_KEY,
                    shop_hmac_key_path=data_dir / SHOP_HMAC_KEY)
    if not (keys.private_key_path.exists() and keys.public_key_path.exists()):
        _generate_key_pair(keys)
    if not keys.shop_hmac_key_path.exists():
        _write(keys.shop_hmac_key_path,
               secrets.token_hex(HMAC_KEY_BYTES).upper().encode("ascii"), 0o600)
    return keys
