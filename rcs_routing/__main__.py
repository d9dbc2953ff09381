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
    """This process serves; ``routing_processes - 1`` more serve the same port. If one of
    them dies the whole service stops, for its supervisor to restart."""
    siblings = [_spawn(s) for _ in range(s.routing_processes - 1)]
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(serve_one(s))
            if siblings:
                tg.create_task(_watch(siblings))
    finally:
        for p in siblings:
            p.terminate()


def _spawn(s: RoutingSettings) -> BaseProcess:
    # "spawn", not fork: this process may already run gRPC and metrics threads.
    p = multiprocessing.get_context("spawn").Process(
        target=_sibling, args=(s.model_dump(),), daemon=True, name="rcs-routing"
    )
    p.start()
    return p


def _sibling(values: dict[str, Any]) -> None:
    settings = RoutingSettings(**{**values, "metrics_port": 0, "routing_processes": 1})
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
            tg.create_task(server.server.wait_for_termination())
    finally:
        await server.stop()
        await pool.close()
