"""The console's settings: where the log, the databases and the services' APIs are."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from services.platform.settings import AuthSettings, LogSettings


class ConsoleSettings(LogSettings, AuthSettings):
    """The log and the stores (read only), the services' APIs (called with the operator's own
    token), and how tokens are verified."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)
    orders_url: str = "http://127.0.0.1:8001"
    payments_url: str = "http://127.0.0.1:8002"
    fulfilment_url: str = "http://127.0.0.1:8003"
    refunds_url: str = "http://127.0.0.1:8004"
    cookie_secure: bool = False
    """True behind HTTPS: the session cookie is then only sent over TLS."""
