"""Start-up of the push service: gRPC (ConnectorService for CHANNEL_PUSH, DeviceService,
AppService), the SDK's REST endpoints, the fan-out sender and the receipt reporter."""

from __future__ import annotations

import asyncio
import logging
import ssl

from aiohttp import web

from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs.rpns.v1 import app_service_pb2_grpc, device_service_pb2_grpc
from rcs_rpns.providers.apns import ApnsClient
from rcs_rpns.providers.fcm import FcmClient
from rcs_rpns.providers.hms import HmsPushClient
from rcs_rpns.providers.http2 import Http2
from rcs_rpns.providers.rustore import RustoreClient
from rcs_rpns.providers.transport import Http1, Transport
from rcs_rpns.reporter import Reporter
from rcs_rpns.sdk_http import build_sdk_app
from rcs_rpns.sender import Clients, Policy, Sender
from rcs_rpns.servicer import AppServicer, DeviceServicer, PushConnectorServicer
from rcs_rpns.settings import RpnsSettings
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)


def _verify(ca_file: str) -> ssl.SSLContext | bool:
    return ssl.create_default_context(cafile=ca_file) if ca_file else True


def transports(s: RpnsSettings) -> tuple[Http2, Http1]:
    """(APNs over HTTP/2, the HTTP/1.1 services): one connection pool each for the process.
    HTTP/1.1 carries one request per connection at a time: as many as sends in flight."""
    timeout = s.rpns_provider_timeout_seconds
    apns = Http2(
        ssl_context=_verify(s.rpns_apns_ca_file),
        timeout=timeout,
        connections=s.rpns_http_connections,
    )
    rest = Http1(
        ssl_context=_verify(s.rpns_provider_ca_file),
        timeout=timeout,
        connections=s.rpns_send_concurrency,
    )
    return apns, rest


def make_clients(s: RpnsSettings, apns: Transport, rest: Transport) -> Clients:
    return Clients(
        apns=ApnsClient(apns, s.rpns_apns_url),
        fcm=FcmClient(rest, s.rpns_fcm_url, s.rpns_fcm_token_url),
        hms=HmsPushClient(rest, s.rpns_hms_url, s.rpns_hms_token_url),
        rustore=RustoreClient(rest, s.rpns_rustore_url),
    )


def policy(s: RpnsSettings) -> Policy:
    return Policy(
        batch=s.rpns_send_batch,
        concurrency=s.rpns_send_concurrency,
        rounds=s.rpns_send_rounds,
        lease_seconds=s.rpns_send_lease_seconds,
        poll_seconds=s.rpns_poll_seconds,
        retry_base=s.rpns_retry_base_seconds,
        retry_max=s.rpns_retry_max_seconds,
        max_attempts=s.rpns_max_attempts,
    )


async def serve(s: RpnsSettings) -> None:
    pool = await open_pool(s.database_url, min_size=s.db_pool_min, max_size=s.db_pool_max)
    core_channel = open_channel(s.core_target)
    reporter = Reporter(
        pool,
        delivery_service_pb2_grpc.DeliveryServiceStub(core_channel),
        batch=s.rpns_receipt_batch,
    )
    apns_http, rest_http = transports(s)
    sender = Sender(pool, make_clients(s, apns_http, rest_http), policy(s), on_final=reporter.wake)
    server = GrpcServer(s.rpns_bind)
    connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(
        PushConnectorServicer(pool, s.rpns_interface_id, on_accepted=sender.wake), server.server
    )
    device_service_pb2_grpc.add_DeviceServiceServicer_to_server(DeviceServicer(pool), server.server)
    app_service_pb2_grpc.add_AppServiceServicer_to_server(AppServicer(pool), server.server)
    runner = web.AppRunner(build_sdk_app(pool, on_receipt=reporter.wake), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, s.rpns_sdk_host, s.rpns_sdk_port).start()
    await server.start()
    log.info("rpns_serving", extra={"bind": s.rpns_bind, "sdk_port": s.rpns_sdk_port})
    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(sender.run())
            tg.create_task(reporter.run())
            tg.create_task(server.until_terminated())
    finally:
        await server.stop()
        await runner.cleanup()
        await apns_http.close()
        await rest_http.close()
        await core_channel.close()
        await pool.close()
