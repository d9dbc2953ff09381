"""Prometheus endpoint per process; metric objects live next to the code that updates them."""

from __future__ import annotations

import prometheus_client


def start_metrics_endpoint(port: int, host: str = "127.0.0.1") -> None:
    """Serve /metrics on host:port in a background thread; port 0 disables it."""
    if port:
        prometheus_client.start_http_server(port, addr=host)
