"""Start-up of the cluster agent (`rcs serve cluster`)."""

from __future__ import annotations

import asyncio
import logging

import psycopg

from rcs.cluster.v1 import cluster_service_pb2_grpc
from rcs_capture.publication import CaptureTarget
from rcs_cluster.agent import Agent
from rcs_cluster.capture import CaptureSwitch
from rcs_cluster.dcs import Dcs
from rcs_cluster.peers_store import PeersStore
from rcs_cluster.role_store import RoleStore
from rcs_cluster.servicer import ClusterServicer
from rcs_cluster.settings import ClusterSettings
from rcs_cluster.sync import SettingsPuller
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_server import GrpcServer

log = logging.getLogger(__name__)


async def _wait_for_schema(dsn: str, seconds: float = 60) -> None:
    """Core migrates the database; an agent started beside it waits for the role table."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(dsn) as conn:
                await conn.execute("SELECT 1 FROM cluster_role")
                return
        except (psycopg.Error, OSError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(
                    "the installation's database has no cluster_role table after"
                    f" {seconds:g} s ({exc}): start core (it migrates) or run `rcs migrate`"
                ) from exc
            await asyncio.sleep(0.5)


def _capture(s: ClusterSettings) -> CaptureSwitch | None:
    if not s.cluster_capture_connect_url:
        return None
    return CaptureSwitch(
        CaptureTarget(
            s.cluster_capture_connect_url,
            s.installation_id,
            s.cluster_capture_database_url or s.database_url,
            s.cluster_capture_topic_root,
        )
    )


async def serve(s: ClusterSettings) -> None:
    await _wait_for_schema(s.database_url)
    pool = await open_pool(s.database_url, min_size=1, max_size=2)
    roles = RoleStore(pool, s.cluster_name, s.database_url)
    tls = s.mutual_tls()
    server = GrpcServer(s.cluster_bind, tls=tls)
    agent: Agent | None = None
    dcs: Dcs | None = None
    capture = _capture(s)
    try:
        if not s.endpoints:
            if capture is not None:
                await capture.to("master")
            await roles.be_lone_master()
            log.info("cluster_agent_alone", extra={"installation": s.installation_id})
        else:
            dcs = Dcs(
                s.endpoints,
                s.cluster_name,
                retry_timeout=s.cluster_retry_timeout_seconds,
                tls=tls,
            )
            await dcs.open()
            agent = Agent(
                s,
                dcs,
                roles,
                SettingsPuller(s.core_target, timeout=s.cluster_retry_timeout_seconds * 3, tls=tls),
                capture,
                peers=PeersStore(pool),
            )
            await agent.start()
        cluster_service_pb2_grpc.add_ClusterServiceServicer_to_server(
            ClusterServicer(agent, dcs, s.cluster_name, s.installation_id), server.server
        )
        await server.start()
        log.info("cluster_agent_serving", extra={"bind": s.cluster_bind, "port": server.port})
        async with asyncio.TaskGroup() as tg:
            if agent is not None:
                tg.create_task(agent.run())
            if capture is not None:
                tg.create_task(capture.keep_connector())
            tg.create_task(server.until_terminated())
    finally:
        await server.stop()
        if agent is not None:
            await agent.stop()
        if dcs is not None:
            await dcs.close()
        await pool.close()
