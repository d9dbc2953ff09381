"""kill -9 of the master installation's processes while partners send to all three
installations of a cluster (own databases, core, routing, dispatcher, connector and agent
each; one operator — the SMSC simulator — outside them all; a real etcd): a standby becomes
master, settings writes move to it, the old master comes back as a standby, and every
message any installation accepted reaches a final status (issue 19)."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.cluster.v1 import cluster_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.cluster.etcd_process import EtcdProcess, unique_port
from tests.cluster.harness import CLUSTER_ENV, TTL
from tests.conftest import _admin_dsn, _dsn_for
from tests.e2e.installation import FINAL, Installation
from tests.e2e.test_crash_recovery import _submit_traffic
from tests.support import seed_demo

pytestmark = pytest.mark.e2e
ADMIN = ss.Actor(login="sre", remote_ip="127.0.0.1")
PIPELINE = ("routing", "connector", "core", "dispatcher", "cluster")


def _member(i: int, dsn: str, base: Path, etcd: EtcdProcess, smsc_port: int) -> Installation:
    inst = Installation(dsn, base / f"inst{i}" / "logs")
    inst.ports["cluster"] = unique_port()
    inst.extra_env.update(
        {
            **CLUSTER_ENV,
            "RCS_INSTALLATION_ID": str(i),
            "RCS_ETCD_ENDPOINTS": etcd.endpoint,
            "RCS_CLUSTER_BIND": f"127.0.0.1:{inst.ports['cluster']}",
            # One operator outside every installation: all three bind to the same SMSC.
            "RCS_SMSC_PORT": str(smsc_port),
        }
    )
    return inst


@pytest.fixture
def members(template_db: str, tmp_path: Path) -> Iterator[tuple[list[Installation], EtcdProcess]]:
    etcd = EtcdProcess(tmp_path / "etcd" / "data")
    etcd.data_dir.parent.mkdir(parents=True)
    etcd.start()
    admin = _admin_dsn()
    names = [f"rcs_test_{uuid.uuid4().hex[:12]}" for _ in range(3)]
    smsc_port = unique_port()
    insts: list[Installation] = []
    with psycopg.connect(admin, autocommit=True) as conn:
        for i, name in enumerate(names, start=1):
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
            dsn = _dsn_for(admin, name)
            with psycopg.connect(dsn, autocommit=True) as db:
                db.execute("UPDATE installation SET installation_id = %s", (i,))
            asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=smsc_port))
            insts.append(_member(i, dsn, tmp_path, etcd, smsc_port))
    try:
        yield insts, etcd
    finally:
        for inst in insts:
            inst.stop()
        etcd.stop()
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _status(inst: Installation) -> cs.GetClusterStatusResponse | None:
    channel = open_channel(f"127.0.0.1:{inst.ports['cluster']}")
    try:
        answer: cs.GetClusterStatusResponse = await cluster_service_pb2_grpc.ClusterServiceStub(
            channel
        ).GetClusterStatus(cs.GetClusterStatusRequest(), timeout=3)
        return answer
    except grpc.aio.AioRpcError:
        return None
    finally:
        await channel.close()


async def _master(insts: list[Installation], *, within: float, exclude: int = 0) -> int:
    """The installation id every live agent names as master, which says so itself."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        live = [
            (i, s)
            for i, inst in enumerate(insts, start=1)
            if i != exclude and (s := await _status(inst)) is not None
        ]
        named = {s.master_installation_id for _, s in live}
        m = named.pop() if len(named) == 1 else 0
        says_so = any(i == m and s.role == cs.ROLE_MASTER for i, s in live)
        if len(live) >= 2 and m not in (0, exclude) and says_so:
            return m
        await asyncio.sleep(0.2)
    raise AssertionError(f"no agreed master within {within} s")


async def _blacklist(inst: Installation, number: str) -> str:
    """Adds a black list entry through this installation's core; "" or the refusal."""
    channel = open_channel(f"127.0.0.1:{inst.ports['core']}")
    try:
        await settings_service_pb2_grpc.SettingsServiceStub(channel).AddBlacklistEntries(
            ss.AddBlacklistEntriesRequest(
                actor=ADMIN, entries=[ss.BlacklistEntry(number=number, note="failover")]
            ),
            timeout=5,
        )
        return ""
    except grpc.aio.AioRpcError as exc:
        return error_reason(exc) or exc.code().name
    finally:
        await channel.close()


@pytest.mark.timeout(900)  # fifteen Python processes start, twice, on a 2-core host
async def test_master_killed_under_traffic_to_all_three_every_message_final(
    members: tuple[list[Installation], EtcdProcess],
) -> None:
    insts, _ = members
    insts[0].start_as("operator", "simulator")
    for inst in insts:
        inst.start(*PIPELINE)
    for inst in insts:
        await asyncio.to_thread(inst.wait_ready, 180, smsc=False)
    old = await _master(insts, within=120)
    stop = asyncio.Event()
    accepted: dict[int, list[str]] = {i: [] for i in (1, 2, 3)}
    traffic = asyncio.gather(
        *(
            _submit_traffic(f"127.0.0.1:{inst.ports['core']}", math.inf, accepted[i], 10, stop)
            for i, inst in enumerate(insts, start=1)
        )
    )
    try:
        await asyncio.sleep(3)
        before = {i: len(ids) for i, ids in accepted.items()}
        assert all(before.values()), before  # every installation takes traffic
        killed = insts[old - 1]
        started = time.monotonic()
        for name in PIPELINE:
            killed.kill(name)
        new = await _master(insts, within=TTL + 30, exclude=old)
        print(f"master {old} killed; {new} is master after {time.monotonic() - started:.1f} s")
        # Settings writes move to the new master; the other standby refuses them.
        assert await _blacklist(insts[new - 1], "79990000001") == ""
        other = next(i for i in (1, 2, 3) if i not in (old, new))
        assert await _blacklist(insts[other - 1], "79990000002") == "NOT_MASTER"
        # The survivors went on accepting while their master was replaced.
        await asyncio.sleep(2)
        assert all(len(accepted[i]) > before[i] for i in (new, other)), accepted
        killed.start(*PIPELINE)
        await asyncio.to_thread(killed.wait_ready, 180, smsc=False)
        await asyncio.sleep(2)
    finally:
        stop.set()
        await traffic
    assert await _master(insts, within=60) == new  # the old master came back as a standby
    assert await _blacklist(killed, "79990000003") == "NOT_MASTER"

    finals = sorted(int(s) for s in FINAL)
    deadline = time.monotonic() + 120
    for i, inst in enumerate(insts, start=1):
        ids = [int(x) for x in accepted[i]]
        while True:
            with psycopg.connect(inst.database_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM messages WHERE id = ANY(%s) AND status = ANY(%s)",
                    (ids, finals),
                ).fetchone()
            done = int(row[0]) if row else 0
            if done == len(ids):
                break
            assert time.monotonic() < deadline, (i, len(ids) - done, inst.logs())
            await asyncio.sleep(1)
    print({i: len(ids) for i, ids in accepted.items()}, "accepted, every one final")
