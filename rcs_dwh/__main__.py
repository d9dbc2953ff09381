"""Start-up of rcs_dwh (``rcs serve dwh``): migrate the DWH, ingest, serve the reports."""

from __future__ import annotations

import asyncio
import logging

from rcs.dwh.v1 import dwh_report_service_pb2_grpc
from rcs_dwh.ingest import Ingester
from rcs_dwh.servicer import DwhReportServicer
from rcs_dwh.settings import DwhSettings
from rcs_dwh.storage import DwhStore, migrate
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)


async def serve(s: DwhSettings) -> None:
    await migrate(s.dwh_database_url)
    pool = await open_pool(s.dwh_database_url, min_size=2, max_size=s.dwh_db_pool_max)
    server = GrpcServer(s.dwh_bind)
    dwh_report_service_pb2_grpc.add_DwhReportServiceServicer_to_server(
        DwhReportServicer(pool), server.server
    )
    ingester = Ingester(s, DwhStore(pool, s.dwh_group))
    await server.start()
    log.info("dwh_serving", extra={"bind": s.dwh_bind, "kafka": s.dwh_kafka_bootstrap})
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(ingester.run())
            tg.create_task(server.until_terminated())
    finally:
        await server.stop()
        await pool.close()
