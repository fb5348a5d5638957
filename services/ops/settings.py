"""What the operators' command line reads from the environment: one settings object."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.platform.settings import ApiSettings, CheckpointSettings

__all__ = ["OpsSettings", "load_ops_settings"]


class OpsSettings(CheckpointSettings, ApiSettings):
    """The log and the services' databases (``KAFKA_BOOTSTRAP``, ``DATABASE_URL``, …), the stack's
    clock (an export is dated by it) and the checkpoints' keys (``verify``: CheckpointSettings
    has all three), and the limits lag and outboxes are judged by (the same ``HEALTH_*``
    variables as the services' ``/health``)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    # an operator at a terminal can wait longer than an orchestrator's probe (1 s by default)
    health_check_timeout_ms: int = Field(default=5000, gt=0, description=(
        "the bound of each outbox check and of fetching a partition's oldest unprocessed record"))


def load_ops_settings() -> OpsSettings:
    """The command line's settings, from the environment."""
    return OpsSettings()
