"""Settings of the routing process."""

from __future__ import annotations

from rcs_runtime.settings import DatabaseSettings


class RoutingSettings(DatabaseSettings):
    routing_bind: str = "127.0.0.1:50052"
    routing_reload_seconds: float = 0.5
