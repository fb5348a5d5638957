"""The payments service's own settings: the shop's account at the bank, the bank's keys and
the URLs the bank calls back (where the key store is: ``platform.settings.KeyStoreSettings``).
Secrets come from files named by the environment, never from the repository (``make run`` and
the test harness generate them under ``.data/``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.payments.etransactions import ReturnUrls, ShopAccount

__all__ = ["BANK_KEYS", "PaymentsSettings"]

BANK_KEYS = Path(".data/local/bank")
"""Where ``make run``'s bank simulator writes its key pair and the shop's HMAC key."""


class PaymentsSettings(BaseSettings):
    """The shop's E-transactions account and the URLs the bank calls back."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    bank_url: str = "http://127.0.0.1:8009"
    bank_site: str = "1999888"
    bank_rang: str = "32"
    bank_identifiant: str = "107904482"
    bank_hmac_key_file: Path = BANK_KEYS / "shop_hmac.key"
    bank_public_key_file: Path = BANK_KEYS / "bank_public.pem"
    payments_public_url: str = Field(default="http://127.0.0.1:8002",
                                     description="where the bank reaches this service")
    storefront_return_url: str | None = Field(
        default=None, description="where the buyer's browser returns (default: ours)")

    def account(self) -> ShopAccount:
        """The shop's account, with its secret HMAC key and the bank's public key."""
        return ShopAccount(
            site=self.bank_site, rang=self.bank_rang, identifiant=self.bank_identifiant,
            hmac_key_hex=self.bank_hmac_key_file.read_text().strip(),
            payment_page_url=f"{self.bank_url}/cgi/MYchoix_pagepaiement.cgi",
            direct_url=f"{self.bank_url}/PPPS.php",
            bank_public_key_pem=self.bank_public_key_file.read_bytes())

    def notify_url(self) -> str:
        """The server-to-server notification URL the bank calls (``PBX_REPONDRE_A``)."""
        return f"{self.payments_public_url}/payments/notifications"

    def returns(self, order_id: str) -> ReturnUrls:
        """Where the bank sends the buyer's browser back after paying, refusing or cancelling."""
        base = self.storefront_return_url or f"{self.payments_public_url}/payments/return"
        return ReturnUrls(effectue=f"{base}?order={order_id}&outcome=paid",
                          refuse=f"{base}?order={order_id}&outcome=refused",
                          annule=f"{base}?order={order_id}&outcome=cancelled")
