"""A failover moves settings capture to the new master, driven by the cluster agents alone:
two installations of a cluster (own databases, core, routing and agent), a real etcd, Kafka
Connect with Debezium and rcs_dwh. Each agent keeps its installation's connector and switches
what it captures with its role, so every settings change reaches the DWH once, from the
installation that was master when it was made, and a standby's synced copies never do."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_capture.publication import CaptureTarget, capture_role, connector_state, remove_capture
from rcs_core.db.migrate import migrate
from rcs_dwh.storage import migrate as migrate_dwh
from tests.cluster.etcd_process import EtcdProcess
from tests.cluster.harness import TTL, Member, eventually
from tests.cluster.test_cluster import ADMIN, write
from tests.dwh_support import (
    DwhProcess,
    connect_url,
    kafka_bootstrap,
    scratch_database,
    unique_root,
)

pytestmark = pytest.mark.e2e
IDS = (41, 42)


def rows(dsn: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql.encode(), args).fetchall()


@pytest.fixture
def stand(tmp_path: Path) -> Iterator[tuple[list[Member], list[CaptureTarget], DwhProcess]]:
    root = unique_root()
    etcd = EtcdProcess(tmp_path / "etcd" / "data")
    etcd.data_dir.parent.mkdir(parents=True)
    etcd.start()
    with (
        scratch_database("inst41") as db41,
        scratch_database("inst42") as db42,
        scratch_database("dwh") as dwh_db,
    ):
        members, targets = [], []
        for i, dsn in zip(IDS, (db41, db42), strict=True):
            asyncio.run(migrate(dsn, installation_id=i))
            member = Member(i, dsn, tmp_path / f"inst{i}", etcd.endpoint)
            member.extra_env.update(
                {
                    "RCS_CLUSTER_CAPTURE_CONNECT_URL": connect_url(),
                    "RCS_CLUSTER_CAPTURE_TOPIC_ROOT": root,
                }
            )
            members.append(member)
            targets.append(CaptureTarget(connect_url(), i, dsn, root))
        asyncio.run(migrate_dwh(dwh_db))
        dwh = DwhProcess(dwh_db, kafka_bootstrap(), root, "41=north,42=north", tmp_path / "dwh.log")
        try:
            yield members, targets, dwh
        finally:
            for m in members:
                m.stop()
            dwh.stop()
            for target in targets:
                asyncio.run(remove_capture(target))
            etcd.stop()


async def agreed_master(members: list[Member], *, exclude: int = 0, within: float = 120) -> Member:
    async def probe() -> Member | None:
        seen = set()
        for m in members:
            if m.procs["cluster"].poll() is None and m.installation_id != exclude:
                seen.add((await m.status()).master_installation_id)
        if len(seen) != 1 or 0 in seen or exclude in seen:
            return None
        master = next(m for m in members if m.installation_id in seen)
        return master if (await master.status()).role == cs.ROLE_MASTER else None

    member, _ = await eventually(probe, within=within, what="one agreed master")
    return member


async def captures(target: CaptureTarget, role: str, within: float = 120) -> None:
    async def probe() -> bool:
        running = await connector_state(target) == ("RUNNING", ["RUNNING"])
        return running and await capture_role(target) == role

    await eventually(probe, within=within, what=f"installation {target.installation_id} {role}")


async def create_partner(member: Member, login: str) -> None:
    await write(
        member,
        "CreatePartner",
        ss.CreatePartnerRequest(
            actor=ADMIN, partner=ss.Partner(login=login, default_sender="RCS"), password="pw"
        ),
    )


@pytest.mark.timeout(600)
async def test_failover_moves_settings_capture_to_the_new_master(
    stand: tuple[list[Member], list[CaptureTarget], DwhProcess],
) -> None:
    members, targets, dwh = stand
    for m in members:
        m.start()
    dwh.start()
    old = await agreed_master(members)
    new_standby = next(m for m in members if m is not old)
    target = {t.installation_id: t for t in targets}
    await captures(target[old.installation_id], "master")
    await captures(target[new_standby.installation_id], "standby")
    dwh_db = dwh.database_url
    partner_rows = (
        "SELECT installation_id, count(*) FROM dwh_settings_history"
        " WHERE table_name = 'partners' AND data->>'login' = %s GROUP BY installation_id"
    )

    async def in_dwh(login: str, expected: list[tuple[int, int]]) -> None:
        async def probe() -> bool:
            return rows(dwh_db, partner_rows, login) == expected

        await eventually(probe, within=120, what=f"{login} in the DWH", poll=0.5)

    await create_partner(old, "p-before")
    await in_dwh("p-before", [(old.installation_id, 1)])

    old.signal("cluster", signal.SIGKILL)
    new = await agreed_master(members, exclude=old.installation_id, within=TTL + 60)
    assert new is new_standby
    await captures(target[new.installation_id], "master")
    await create_partner(new, "p-after")
    await in_dwh("p-after", [(new.installation_id, 1)])

    old.start("cluster")  # back as a standby: its capture follows
    await captures(target[old.installation_id], "standby")
    await create_partner(new, "p-later")
    await in_dwh("p-later", [(new.installation_id, 1)])
    # The standby synced every partner from its master, and none of those copies went: each
    # change reached the DWH once, from the master it was made on.
    await asyncio.sleep(3)
    assert rows(dwh_db, partner_rows, "p-before") == [(old.installation_id, 1)]
    assert rows(dwh_db, partner_rows, "p-after") == [(new.installation_id, 1)]
    assert rows(dwh_db, partner_rows, "p-later") == [(new.installation_id, 1)]
    assert rows(dwh_db, "SELECT count(*) FROM dwh_dead_letters") == [(0,)], dwh.log()
