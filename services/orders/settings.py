"""The orders service's own settings: the mail server of the confirmations, the public URL they
link to, and how long an order may stay unpaid."""

from __future__ import annotations

import datetime as dt

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["OrdersSettings"]


class OrdersSettings(BaseSettings):
    """What the orders worker needs besides the platform's settings."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_timeout: float = 10.0
    mail_from: str = "Domaine du Roussillon <commandes@wineshop.example>"
    orders_public_url: str = "http://127.0.0.1:8001"
    unpaid_order_timeout_seconds: float = Field(
        default=86400.0, gt=0, description="an order still unpaid this long after it was "
                                           "placed is cancelled and its stock released")

    unavailable_reply_hours: float = Field(
        default=72.0, gt=0, description="how long a buyer has to choose for an unavailable "
                                        "line before it is cancelled")

    @property
    def unavailable_reply_time(self) -> dt.timedelta:
        """How long a buyer has to answer for an unavailable line."""
        return dt.timedelta(hours=self.unavailable_reply_hours)

    @property
    def unpaid_order_timeout(self) -> dt.timedelta:
        """How long an order may stay unpaid."""
        return dt.timedelta(seconds=self.unpaid_order_timeout_seconds)
