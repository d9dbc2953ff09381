"""Settings of the REST gateway process (``RCS_*`` env vars)."""

from __future__ import annotations

from pydantic import Field

from rcs_runtime.settings import RcsSettings


class RestSettings(RcsSettings):
    rest_host: str = "127.0.0.1"
    rest_port: int = Field(default=8080, ge=0, le=65535)
    core_target: str = "127.0.0.1:50051"
    # The routing service, for the admin API's route explain.
    routing_target: str = "127.0.0.1:50052"
    # Deadline of every gRPC call to core.
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a successful login/password check is reused; 0 disables the cache.
    auth_cache_seconds: float = Field(default=30.0, ge=0)
    # Slow clients (issue 15): a connection has this long to send a request's headers (from
    # connecting, or from its last answer; an idle keep-alive connection is closed after it
    # too), and a request this long to send its body once its headers are in. Beyond
    # max_connections open at once, a new connection is answered 503 and closed.
    header_timeout_seconds: float = Field(default=15.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    max_connections: int = Field(default=2000, ge=1)
    # Push-back: partner requests (sends of every API) worked on at once; one more is
    # answered 429 with Retry-After in its API's form (HTTP v5: 408) instead of queueing.
    max_in_flight: int = Field(default=512, ge=1)
