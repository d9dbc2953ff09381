"""Settings of the routing process."""

from __future__ import annotations

from pydantic import Field

from rcs_runtime.settings import DatabaseSettings


class RoutingSettings(DatabaseSettings):
    routing_bind: str = "127.0.0.1:50052"
    routing_reload_seconds: float = 0.5
    # Resolving is CPU-bound Python: this many processes serve routing_bind's port and the
    # next ones, each with its own table; clients list them all in RCS_ROUTING_TARGET and
    # spread calls in round robin. Metrics come from the first one only.
    routing_processes: int = Field(default=1, ge=1, le=64)
