"""RCS_ROUTING_PROCESSES: several routing processes answer on one port, and the service
stops (for its supervisor to restart it) when one of them dies."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import grpc
import pytest

from rcs.routing.v1 import routing_service_pb2 as rs
from rcs.routing.v1 import routing_service_pb2_grpc
from tests.e2e.installation import Installation

pytestmark = pytest.mark.e2e


def _siblings(pid: int) -> list[int]:
    """Child processes running the routing service (not multiprocessing's helpers)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"resource_tracker" not in cmdline:
            out.append(int(entry.name))
    return out


async def _explain_on_new_connections(port: int, count: int) -> set[str]:
    answers = set()
    for _ in range(count):
        options = [("grpc.use_local_subchannel_pool", 1)]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options) as channel:
            stub = routing_service_pb2_grpc.RoutingServiceStub(channel)
            answer = await stub.ExplainRoute(
                rs.ExplainRouteRequest(query=rs.RouteQuery(destination="79161234567")),
                timeout=10,
            )
            answers.add(answer.route.interface_id)
    return answers


def test_two_routing_processes_share_the_port_and_fail_together(
    installation: Installation,
) -> None:
    installation.extra_env["RCS_ROUTING_PROCESSES"] = "2"
    installation.start("routing")
    parent = installation.procs["routing"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_siblings(parent.pid)) < 1:
        time.sleep(0.2)
    (sibling,) = _siblings(parent.pid)
    answers: set[str] = set()
    while time.monotonic() < deadline:
        try:
            answers = asyncio.run(_explain_on_new_connections(installation.ports["routing"], 8))
            break
        except grpc.aio.AioRpcError:
            time.sleep(0.5)  # still loading its table
    assert answers == {"smsc-sim"}, installation.logs()
    os.kill(sibling, signal.SIGKILL)
    assert parent.wait(15) != 0, installation.logs()
