"""RCS_ROUTING_PROCESSES: routing processes on consecutive ports, reached in round robin
through one channel listing them; the service stops (for its supervisor to restart it)
when one of them dies."""

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
from rcs_runtime.grpc_client import open_channel
from tests.conftest import two_free_ports
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


async def _explain(target: str, count: int) -> set[str]:
    channel = open_channel(target)
    try:
        stub = routing_service_pb2_grpc.RoutingServiceStub(channel)
        answers = set()
        for _ in range(count):
            answer = await stub.ExplainRoute(
                rs.ExplainRouteRequest(query=rs.RouteQuery(destination="79161234567")),
                timeout=10,
            )
            answers.add(answer.route.interface_id)
        return answers
    finally:
        await channel.close()


def test_two_routing_processes_answer_in_round_robin_and_fail_together(
    installation: Installation,
) -> None:
    port = two_free_ports()
    installation.extra_env["RCS_ROUTING_PROCESSES"] = "2"
    installation.extra_env["RCS_ROUTING_BIND"] = f"127.0.0.1:{port}"
    installation.start("routing")
    parent = installation.procs["routing"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_siblings(parent.pid)) < 1:
        time.sleep(0.2)
    (sibling,) = _siblings(parent.pid)
    targets = [
        f"127.0.0.1:{port}",
        f"127.0.0.1:{port + 1}",
        f"127.0.0.1:{port},127.0.0.1:{port + 1}",
    ]
    answers: dict[str, set[str]] = {}
    while time.monotonic() < deadline and len(answers) < len(targets):
        try:
            answers = {t: asyncio.run(_explain(t, 4)) for t in targets}
        except grpc.aio.AioRpcError:
            time.sleep(0.5)  # a process is still loading its table
    # Each process answers on its own port, and one channel reaches both.
    assert answers == {t: {"smsc-sim"} for t in targets}, installation.logs()
    os.kill(sibling, signal.SIGKILL)
    assert parent.wait(15) != 0, installation.logs()
