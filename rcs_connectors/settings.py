"""Settings of the connector process."""

from __future__ import annotations

from rcs_runtime.settings import DatabaseSettings


class ConnectorSettings(DatabaseSettings):
    connector_bind: str = "127.0.0.1:50053"
    core_target: str = "127.0.0.1:50051"
    # Binds are read from the interfaces table and re-read when the settings revision moves.
    connector_reload_seconds: float = 1.0
    connector_reconnect_min_seconds: float = 0.5
    connector_reconnect_max_seconds: float = 30.0
    connector_enquire_link_seconds: float = 30.0
    connector_response_timeout_seconds: float = 10.0
    # After 0x58 throttled / 0x14 queue full the bind pauses submits this long.
    connector_throttle_pause_seconds: float = 1.0
    # Receipts are passed to core in batches: up to this many, or after this delay. 50 is
    # an operator's usual window: once that many wait, the bind's deliver_sm window is full
    # and waiting for the timer only stalls it (end to end 593-613 → 691-734 msg/s at 50
    # against 200, docs/benchmarks.md).
    connector_receipt_batch: int = 50
    connector_receipt_flush_seconds: float = 0.02
    # Failover: an interface whose submits fail at the transport level (no response,
    # connection lost, throttled, queue full, system error) this many times in a row is
    # skipped for the cooldown, then tried with one message.
    connector_breaker_failures: int = 5
    connector_breaker_cooldown_seconds: float = 10.0
    # When none of a message's interfaces is usable, how long to wait for one that is only
    # not bound yet (start-up, reconnect) before answering "retry".
    connector_bind_wait_seconds: float = 2.0
