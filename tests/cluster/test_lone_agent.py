"""With no etcd configured the agent leaves its installation its own master (today's
behaviour), and says so."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from rcs.cluster.v1 import cluster_service_pb2 as cs
from tests.cluster.harness import Member, eventually

pytestmark = pytest.mark.e2e


async def test_an_agent_without_etcd_keeps_its_installation_master(
    database_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE cluster_role SET role = 'standby'")
    member = Member(7, database_url, tmp_path, etcd_endpoint="")
    member.start("cluster")
    try:

        async def alone() -> cs.GetClusterStatusResponse | None:
            status = await member.status()
            return status if not status.etcd_configured else None

        status, _ = await eventually(alone, within=120, what="the lone agent's status")
        assert (status.role, status.master_installation_id) == (cs.ROLE_MASTER, 7)
        with psycopg.connect(database_url) as conn:
            row = conn.execute("SELECT role, valid_until FROM cluster_role").fetchone()
        assert row == ("master", None)
    finally:
        member.stop()
