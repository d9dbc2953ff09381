"""Start-up of the routing process."""

from __future__ import annotations

import asyncio
import logging

from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_routing.servicer import RoutingServicer, TableHolder
from rcs_routing.settings import RoutingSettings
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)


async def serve(s: RoutingSettings) -> None:
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
