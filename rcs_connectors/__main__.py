"""Start-up of the connector process: one bind per enabled SMPP interface, kept in step with
the settings revision, and ConnectorService over gRPC."""

from __future__ import annotations

import asyncio
import logging

import psycopg

from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs_connectors import interfaces
from rcs_connectors.receipt_sink import ReceiptSink
from rcs_connectors.servicer import ConnectorServicer
from rcs_connectors.settings import ConnectorSettings
from rcs_connectors.smpp_bind import OperatorBind
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)


async def _sync_binds(
    s: ConnectorSettings, sink: ReceiptSink, binds: dict[str, OperatorBind]
) -> None:
    revision = -1
    while True:
        try:
            current, wanted = await interfaces.load(s.database_url)
            if current != revision:
                by_id = {i.id: i for i in wanted}
                for iface_id in list(binds):
                    if by_id.get(iface_id) != binds[iface_id].iface:
                        await binds.pop(iface_id).stop()
                for iface_id, iface in by_id.items():
                    if iface_id not in binds:
                        binds[iface_id] = OperatorBind(iface, s, sink)
                        binds[iface_id].start()
                revision = current
                log.info("binds_synced", extra={"revision": revision, "binds": sorted(binds)})
        except (OSError, psycopg.Error) as err:
            # PostgreSQL down or restarting: keep the binds we have (they need no database)
            # and try again at the next reload.
            log.warning("binds_sync_failed", extra={"error": str(err)})
        await asyncio.sleep(s.connector_reload_seconds)


async def serve(s: ConnectorSettings) -> None:
    core_channel = open_channel(s.core_target)
    sink = ReceiptSink(
        delivery_service_pb2_grpc.DeliveryServiceStub(core_channel),
        batch=s.connector_receipt_batch,
        flush_seconds=s.connector_receipt_flush_seconds,
    )
    binds: dict[str, OperatorBind] = {}
    server = GrpcServer(s.connector_bind)
    connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(
        ConnectorServicer(
            binds,
            breaker_failures=s.connector_breaker_failures,
            breaker_cooldown_seconds=s.connector_breaker_cooldown_seconds,
            bind_wait_seconds=s.connector_bind_wait_seconds,
        ),
        server.server,
    )
    await server.start()
    log.info("connector_serving", extra={"bind": s.connector_bind})
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(_sync_binds(s, sink, binds))
            tg.create_task(server.until_terminated())
    finally:
        await server.stop()
        for bind in binds.values():
            await bind.stop()
        await core_channel.close()
