"""`rcs route explain` against a real routing service on the demo settings."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import pytest

from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_routing.servicer import RoutingServicer, TableHolder
from tests.support import seed_demo, start_server

pytestmark = pytest.mark.integration


async def _cli(port: int, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rcs_cli",
        "route",
        "explain",
        *args,
        env={**os.environ, "RCS_ROUTING_TARGET": f"127.0.0.1:{port}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_explain_prints_the_decision(pool: Any, database_url: str) -> None:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)
    holder = TableHolder(pool)
    await holder.load()
    server = await start_server(
        lambda s: routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(
            RoutingServicer(holder), s
        )
    )
    try:
        code, out = await _cli(server.port, "--to", "79161234567", "--sender", "RCS", "--json")
        assert code == 0, out
        doc = json.loads(out)
        assert doc["route"]["interfaceId"] == "smsc-sim"
        assert doc["route"]["operator"] == "Demo Mobile"
        assert any("prefix 7" in step for step in doc["steps"])
        code, out = await _cli(server.port, "--to", "4915112345678")
        assert code == 3, out
        assert "no route (error code 11" in out
    finally:
        await server.stop(0)
