"""Start-up of the routing process."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from multiprocessing.process import BaseProcess
from typing import Any

from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_routing.servicer import RoutingServicer, TableHolder
from rcs_routing.settings import RoutingSettings
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_server import GrpcServer
from rcs_runtime.process import run_service

log = logging.getLogger(__name__)


async def serve(s: RoutingSettings) -> None:
    """This process serves routing_bind; with ``routing_processes`` N > 1, N - 1 more
    serve the next ports (port + 1 … port + N - 1), each with its own table. Clients list
    them all in RCS_ROUTING_TARGET ("h:p,h:p+1"), which spreads calls in round robin. If
    one of them dies the whole service stops, for its supervisor to restart."""
    siblings = [_spawn(s, i) for i in range(1, s.routing_processes)]
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(serve_one(s))
            if siblings:
                tg.create_task(_watch(siblings))
    finally:
        for p in siblings:
            p.terminate()


def sibling_bind(bind: str, index: int) -> str:
    host, _, port = bind.rpartition(":")
    if int(port) == 0:
        raise ValueError("RCS_ROUTING_PROCESSES > 1 needs a fixed RCS_ROUTING_BIND port")
    return f"{host}:{int(port) + index}"


def _spawn(s: RoutingSettings, index: int) -> BaseProcess:
    values = {
        **s.model_dump(),
        "routing_bind": sibling_bind(s.routing_bind, index),
        "metrics_port": 0,  # metrics from the first process only
        "routing_processes": 1,
    }
    # "spawn", not fork: this process may already run gRPC and metrics threads.
    p = multiprocessing.get_context("spawn").Process(
        target=_sibling, args=(values,), daemon=True, name=f"rcs-routing-{index}"
    )
    p.start()
    return p


def _sibling(values: dict[str, Any]) -> None:
    settings = RoutingSettings(**values)
    run_service("routing", settings, serve_one(settings))


async def _watch(siblings: list[BaseProcess]) -> None:
    while True:
        await asyncio.sleep(1)
        dead = [p.pid for p in siblings if not p.is_alive()]
        if dead:
            raise RuntimeError(f"routing processes {dead} exited")


async def serve_one(s: RoutingSettings) -> None:
    pool = await open_pool(s.database_url, min_size=1, max_size=2)
    holder = TableHolder(pool)
    await holder.load()
    server = GrpcServer(s.routing_bind)
    routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(
        RoutingServicer(holder), server.server
    )
    await server.start()
    log.info(
        "routing_serving",
        extra={"bind": s.routing_bind, "revision": holder.table and holder.table.revision},
    )
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(holder.watch(s.routing_reload_seconds))
            tg.create_task(server.until_terminated())
    finally:
        await server.stop()
        await pool.close()
