"""A cluster on this machine: installations with their own databases and processes (core,
routing, cluster agent as `rcs serve …`, forked: tests/forked.py), sharing a real etcd."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.cluster.v1 import cluster_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from tests.cluster.etcd_process import unique_port
from tests.forked import ForkedProcess

T = TypeVar("T")
TTL = 5  # seconds: short, so that a failover takes seconds, yet outlasts an etcd restart
CLUSTER_ENV = {
    "RCS_CLUSTER_NAME": "test",
    "RCS_CLUSTER_TTL_SECONDS": str(TTL),
    "RCS_CLUSTER_LOOP_WAIT_SECONDS": "0.5",
    "RCS_CLUSTER_RETRY_TIMEOUT_SECONDS": "1",
}


@dataclass
class Member:
    installation_id: int
    database_url: str
    log_dir: Path
    etcd_endpoint: str
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, ForkedProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("core", "routing", "cluster"):
            self.ports[name] = unique_port()

    @property
    def core(self) -> str:
        return f"127.0.0.1:{self.ports['core']}"

    def env(self) -> dict[str, str]:
        p = self.ports
        return {
            **os.environ,
            **CLUSTER_ENV,
            "RCS_DATABASE_URL": self.database_url,
            "RCS_INSTALLATION_ID": str(self.installation_id),
            "RCS_CORE_BIND": self.core,
            "RCS_CORE_TARGET": self.core,
            "RCS_ROUTING_BIND": f"127.0.0.1:{p['routing']}",
            "RCS_ROUTING_RELOAD_SECONDS": "0.1",
            "RCS_CLUSTER_BIND": f"127.0.0.1:{p['cluster']}",
            "RCS_ETCD_ENDPOINTS": self.etcd_endpoint,
            "RCS_LOG_JSON": "true",
            **self.extra_env,
        }

    def start(self, *names: str) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in names or ("core", "routing", "cluster"):
            self.procs[name] = ForkedProcess(
                ["serve", name], self.env(), self.log_dir / f"{name}.log"
            )

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.procs[name].send_signal(sig)
        if sig == signal.SIGKILL:
            self.procs[name].wait(10)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)  # a frozen one must see the SIGTERM
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logs(self) -> str:
        return "\n".join(
            f"--- {self.installation_id}/{n}\n{self.log(n)[-2500:]}" for n in self.procs
        )

    # Clients: a new channel per call keeps them independent of the test's event loop.
    async def call(self, target: str, stub: Any, method: str, request: Any) -> Any:
        channel = open_channel(target)
        try:
            return await getattr(stub(channel), method)(request, timeout=5)
        finally:
            await channel.close()

    async def status(self) -> cs.GetClusterStatusResponse:
        result: cs.GetClusterStatusResponse = await self.call(
            f"127.0.0.1:{self.ports['cluster']}",
            cluster_service_pb2_grpc.ClusterServiceStub,
            "GetClusterStatus",
            cs.GetClusterStatusRequest(),
        )
        return result

    async def settings(self, method: str, request: Any) -> Any:
        return await self.call(
            self.core, settings_service_pb2_grpc.SettingsServiceStub, method, request
        )

    async def routing(self, method: str, request: Any) -> Any:
        return await self.call(
            f"127.0.0.1:{self.ports['routing']}",
            routing_service_pb2_grpc.RoutingServiceStub,
            method,
            request,
        )


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float, what: str, poll: float = 0.05
) -> tuple[T, float]:
    """Poll ``probe`` until it returns something other than None (or False); returns it and
    the seconds it took. Errors of gRPC calls count as "not yet"."""
    start = time.monotonic()
    last: BaseException | None = None
    while time.monotonic() - start < within:
        try:
            result = await probe()
            if result is not None and result is not False:
                return result, time.monotonic() - start
        except grpc.aio.AioRpcError as exc:
            last = exc
        await asyncio.sleep(poll)
    raise AssertionError(f"{what}: not within {within} s (last error: {last})")
