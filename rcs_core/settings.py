"""Settings of the core process (``RCS_*`` env vars)."""

from __future__ import annotations

from pydantic import model_validator

from rcs_runtime.settings import DatabaseSettings


class CoreSettings(DatabaseSettings):
    core_bind: str = "127.0.0.1:50051"
    routing_target: str = "127.0.0.1:50052"
    connector_target: str = "127.0.0.1:50053"
    # Dispatcher: 0 workers runs core without dispatching (dispatch in another process).
    dispatcher_workers: int = 2
    dispatcher_batch: int = 25
    dispatcher_poll_seconds: float = 1.0
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 60.0
    connector_timeout_seconds: float = 30.0
    # Receipts that never come: a SENT message this long past its validity becomes EXPIRED.
    receipt_grace_seconds: int = 3600
    partitions_ahead_days: int = 3
    retention_days: int = 30
    maintenance_interval_seconds: float = 60.0

    @model_validator(mode="after")
    def _check(self) -> CoreSettings:
        if self.retention_days < 2:
            raise ValueError("RCS_RETENTION_DAYS must be at least 2 (yesterday's partition)")
        if self.dispatcher_batch < 1:
            raise ValueError("RCS_DISPATCHER_BATCH must be at least 1")
        return self
