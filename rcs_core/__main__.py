"""Start-up of the core process: migrate, serve MessageService, DeliveryService,
ReportLeaseService, AuthService and the settings / report services, and (unless
RCS_DISPATCHER_WORKERS=0) run the dispatcher and housekeeping in the same event loop; the
HTTP report senders (RCS_REPORT_SENDERS) run next to the dispatcher."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.core.v1 import (
    auth_service_pb2_grpc,
    delivery_service_pb2_grpc,
    mailing_service_pb2_grpc,
    message_service_pb2_grpc,
    receipt_forward_pb2_grpc,
    report_lease_service_pb2_grpc,
    report_service_pb2_grpc,
    settings_service_pb2_grpc,
    settings_sync_pb2_grpc,
)
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_core.auth.guard import FailedAuthGuard
from rcs_core.auth.servicer import AuthServicer
from rcs_core.config import CoreSettings
from rcs_core.db import maintenance
from rcs_core.db.migrate import migrate
from rcs_core.delivery.cascade_engine import CascadeEngine
from rcs_core.delivery.dispatcher import Dispatcher
from rcs_core.delivery.forward_servicer import ReceiptForwardServicer
from rcs_core.delivery.receipt_forwarder import ForwardSettings, ReceiptForwarder
from rcs_core.delivery.servicer import DeliveryServicer
from rcs_core.mailings.feeder import Feeder
from rcs_core.mailings.servicer import MailingServicer
from rcs_core.messages.servicer import MessageServicer
from rcs_core.messages.validation import MAX_TTL
from rcs_core.reports.desk import ReportDesk
from rcs_core.reports.sender import ReportSender, SenderSettings
from rcs_core.reports.servicer import ReportLeaseServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_core.settings.sync_servicer import SettingsSyncServicer
from rcs_core.traffic_reports.servicer import ReportServicer
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.grpc_server import GrpcServer
from rcs_runtime.replica import ReadPools

log = logging.getLogger(__name__)


async def serve(
    s: CoreSettings,
    *,
    with_api: bool = True,
    with_dispatcher: bool = True,
    with_report_senders: bool = True,
) -> None:
    await migrate(s.database_url, s.installation_id, days_ahead=s.partitions_ahead_days)
    pool = await open_pool(s.database_url, min_size=s.db_pool_min, max_size=s.db_pool_max)
    server: GrpcServer | None = None
    peer_server: GrpcServer | None = None
    servicer: MessageServicer | None = None
    leases: ReportLeaseServicer | None = None
    sender_desk: ReportDesk | None = None
    # Reports read from the replica (RCS_REPLICA_DATABASE_URL) while it is usable.
    reads = await ReadPools.open(
        pool,
        s.replica_database_url,
        max_lag_seconds=s.replica_max_lag_seconds,
        check_seconds=s.replica_check_seconds,
        max_size=s.db_pool_max,
    )
    try:
        async with asyncio.TaskGroup() as tg:
            if with_api:
                server = GrpcServer(s.core_bind)
                servicer = MessageServicer(
                    pool, s.installation_id, reads=reads, max_queue_depth=s.max_queue_depth
                )
                message_service_pb2_grpc.add_MessageServiceServicer_to_server(
                    servicer, server.server
                )
                delivery_service_pb2_grpc.add_DeliveryServiceServicer_to_server(
                    DeliveryServicer(
                        pool,
                        s.installation_id,
                        receipt_grace=dt.timedelta(seconds=s.receipt_grace_seconds),
                    ),
                    server.server,
                )
                leases = ReportLeaseServicer(
                    pool,
                    reports=ReportDesk(
                        pool,
                        retry_base_seconds=s.report_retry_base_seconds,
                        retry_max_seconds=s.report_retry_max_seconds,
                    ),
                )
                report_lease_service_pb2_grpc.add_ReportLeaseServiceServicer_to_server(
                    leases, server.server
                )
                auth_service_pb2_grpc.add_AuthServiceServicer_to_server(
                    AuthServicer(
                        pool,
                        FailedAuthGuard(
                            pool,
                            max_failures=s.auth_max_failures,
                            max_failures_per_address=s.auth_max_failures_per_address,
                            window_seconds=s.auth_failure_window_seconds,
                            base_delay_seconds=s.auth_delay_base_seconds,
                            max_delay_seconds=s.auth_delay_max_seconds,
                        ),
                    ),
                    server.server,
                )
                settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
                    SettingsServicer(pool), server.server
                )
                report_service_pb2_grpc.add_ReportServiceServicer_to_server(
                    ReportServicer(reads, zone=s.report_time_zone), server.server
                )
                if reads.replica is not None:
                    tg.create_task(reads.watch())
                settings_sync_pb2_grpc.add_SettingsSyncServiceServicer_to_server(
                    SettingsSyncServicer(pool), server.server
                )
                mailing_service_pb2_grpc.add_MailingServiceServicer_to_server(
                    MailingServicer(pool, default_rate=s.mailing_default_rate), server.server
                )
                horizon = MAX_TTL + dt.timedelta(seconds=s.receipt_grace_seconds)
                forwarded = ReceiptForwardServicer(pool, horizon)
                receipt_forward_pb2_grpc.add_ReceiptForwardServiceServicer_to_server(
                    forwarded, server.server
                )
                await server.start()
                log.info("core_serving", extra={"bind": s.core_bind, "port": server.port})
                if s.core_peer_bind:  # other installations: settings sync over mutual TLS
                    peer_server = GrpcServer(s.core_peer_bind, tls=s.mutual_tls())
                    settings_sync_pb2_grpc.add_SettingsSyncServiceServicer_to_server(
                        SettingsSyncServicer(pool), peer_server.server
                    )
                    receipt_forward_pb2_grpc.add_ReceiptForwardServiceServicer_to_server(
                        forwarded, peer_server.server
                    )
                    await peer_server.start()
                    log.info("core_peer_serving", extra={"bind": s.core_peer_bind})
                tg.create_task(maintenance.run_forever(pool, s))
                if s.receipt_forward_interval_seconds > 0:
                    forwarder = ReceiptForwarder(
                        pool, s.installation_id, _forward_settings(s, horizon), tls=s.mutual_tls()
                    )
                    tg.create_task(forwarder.run(s.receipt_forward_interval_seconds))
                if s.mailing_feed_interval_seconds > 0:
                    feeder = Feeder(
                        pool, s.installation_id, interval=s.mailing_feed_interval_seconds
                    )
                    tg.create_task(feeder.run())
            if with_dispatcher and s.dispatcher_workers > 0:
                dispatcher = Dispatcher(
                    s,
                    pool,
                    routing_service_pb2_grpc.RoutingServiceStub(open_channel(s.routing_target)),
                    connector_service_pb2_grpc.ConnectorServiceStub(
                        open_channel(s.connector_target)
                    ),
                    connector_service_pb2_grpc.ConnectorServiceStub(open_channel(s.push_target)),
                    connector_service_pb2_grpc.ConnectorServiceStub(
                        open_channel(s.messengers_target)
                    ),
                )
                tg.create_task(dispatcher.run())
                log.info("dispatcher_running", extra={"workers": s.dispatcher_workers})
                for _ in range(s.cascade_workers):
                    engine = CascadeEngine(
                        pool,
                        s.database_url,
                        s.installation_id,
                        batch=s.cascade_batch,
                        poll_seconds=s.cascade_poll_seconds,
                    )
                    tg.create_task(engine.run())
            if with_report_senders and s.report_senders > 0:
                sender_desk = ReportDesk(
                    pool,
                    retry_base_seconds=s.report_retry_base_seconds,
                    retry_max_seconds=s.report_retry_max_seconds,
                )
                for _ in range(s.report_senders):
                    sender = ReportSender(sender_desk, pool, SenderSettings.of(s))
                    tg.create_task(sender.run())
                log.info("report_senders_running", extra={"senders": s.report_senders})
            if server is not None:
                tg.create_task(server.until_terminated())
    finally:
        if server is not None:
            await server.stop()
        if peer_server is not None:
            await peer_server.stop()
        if servicer is not None:
            await servicer.close()
        if leases is not None:
            await leases.close()
        if sender_desk is not None:
            await sender_desk.close()
        await reads.close()
        await pool.close()


def _forward_settings(s: CoreSettings, horizon: dt.timedelta) -> ForwardSettings:
    return ForwardSettings(
        grace=dt.timedelta(seconds=s.receipt_forward_grace_seconds),
        max_backoff=dt.timedelta(seconds=s.receipt_forward_max_backoff_seconds),
        horizon=horizon,
        batch=s.receipt_forward_batch,
        timeout=s.receipt_forward_timeout_seconds,
    )
