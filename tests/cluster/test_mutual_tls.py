"""Traffic between installations over mutual TLS (issue 19 item 6), with a throwaway CA:
core's peer port (settings sync), the cluster agent's ClusterService and etcd each take a
peer holding a certificate of the cluster's CA and refuse one without (no certificate, a
certificate of another CA, plaintext)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest
from etcd3aio import Etcd3Client

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.cluster.v1 import cluster_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_sync_pb2 as sync
from rcs.core.v1 import settings_sync_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.peer_tls import MutualTls
from tests.cluster.etcd_process import EtcdProcess, unique_port
from tests.cluster.harness import Member, eventually
from tests.cluster.pki import Pki, make_pki
from tests.conftest import _admin_dsn, _dsn_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def tls_of(pki: Pki, name: str) -> MutualTls:
    tls = MutualTls.load(str(pki.ca), str(pki.cert(name)), str(pki.key(name)))
    assert tls is not None
    return tls


def refusals(target: str, pki: Pki) -> dict[str, grpc.aio.Channel]:
    """Channels of peers that must be refused."""
    return {
        "stranger's certificate": open_channel(target, tls_of(pki, "stranger")),
        "no certificate": grpc.aio.secure_channel(
            target, grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes())
        ),
        "plaintext": grpc.aio.insecure_channel(target),
    }


@pytest.fixture
def tls_etcd(tmp_path: Path, pki: Pki) -> Iterator[EtcdProcess]:
    etcd = EtcdProcess(tmp_path / "etcd" / "data", tls=(pki.ca, pki.cert("node"), pki.key("node")))
    etcd.data_dir.parent.mkdir(parents=True)
    etcd.start()
    yield etcd
    etcd.stop()


async def test_core_peer_port_takes_only_peers_with_a_certificate_of_the_cluster_ca(
    database_url: str, tmp_path: Path, pki: Pki
) -> None:
    peer = f"127.0.0.1:{unique_port()}"
    member = Member(
        7, database_url, tmp_path / "inst", "", extra_env={"RCS_CORE_PEER_BIND": peer, **pki.env()}
    )
    member.start("core")
    try:
        ask = sync.ListSettingsChangesRequest(since_revision=0)

        async def answered() -> sync.ListSettingsChangesResponse | None:
            channel = open_channel(peer, tls_of(pki, "node"))
            try:
                stub = settings_sync_pb2_grpc.SettingsSyncServiceStub(channel)
                answer: sync.ListSettingsChangesResponse = await stub.ListSettingsChanges(
                    ask, timeout=5
                )
                return answer
            finally:
                await channel.close()

        answer, _ = await eventually(answered, within=120, what="core's peer port over mTLS")
        assert answer.current_revision >= 1
        for who, channel in refusals(peer, pki).items():
            stub = settings_sync_pb2_grpc.SettingsSyncServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListSettingsChanges(ask, timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, who
            await channel.close()
    finally:
        member.stop()


async def test_agent_reaches_etcd_and_answers_clients_only_over_mutual_tls(
    database_url: str, tmp_path: Path, pki: Pki, tls_etcd: EtcdProcess
) -> None:
    # etcd itself refuses a client without a certificate of the CA.
    async with Etcd3Client(
        [tls_etcd.endpoint], ca_cert=pki.ca.read_bytes(), rpc_max_attempts=1
    ) as anonymous:
        assert anonymous.kv is not None
        with pytest.raises(Exception):  # noqa: B017, PT011 (TLS handshake refused: UNAVAILABLE)
            await anonymous.kv.get("/rcs/", timeout=5)

    member = Member(7, database_url, tmp_path / "inst", tls_etcd.endpoint, extra_env=pki.env())
    member.start("cluster")
    target = f"127.0.0.1:{member.ports['cluster']}"
    try:

        async def master() -> cs.GetClusterStatusResponse | None:
            channel = open_channel(target, tls_of(pki, "node"))
            try:
                stub = cluster_service_pb2_grpc.ClusterServiceStub(channel)
                status: cs.GetClusterStatusResponse = await stub.GetClusterStatus(
                    cs.GetClusterStatusRequest(), timeout=5
                )
                return status if status.role == cs.ROLE_MASTER else None
            finally:
                await channel.close()

        status, _ = await eventually(master, within=120, what="the agent master over mTLS etcd")
        assert status.etcd_configured
        assert [i.installation_id for i in status.installations] == [7]
        for who, channel in refusals(target, pki).items():
            stub = cluster_service_pb2_grpc.ClusterServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.GetClusterStatus(cs.GetClusterStatusRequest(), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, who
            await channel.close()
    finally:
        member.stop()


@pytest.fixture
def second_database(template_db: str) -> Iterator[str]:
    """Another installation's database (installation 8)."""
    admin = _admin_dsn()
    name = f"rcs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    dsn = _dsn_for(admin, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE installation SET installation_id = 8")
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_standby_pulls_settings_from_the_masters_peer_port_over_mutual_tls(
    database_url: str, second_database: str, tmp_path: Path, pki: Pki, tls_etcd: EtcdProcess
) -> None:
    members = []
    for installation_id, dsn in ((7, database_url), (8, second_database)):
        peer = f"127.0.0.1:{unique_port()}"
        env = {**pki.env(), "RCS_CORE_PEER_BIND": peer, "RCS_CLUSTER_CORE_ENDPOINT": peer}
        member = Member(
            installation_id, dsn, tmp_path / str(installation_id), tls_etcd.endpoint, env
        )
        member.start("core", "cluster")
        members.append(member)
    try:

        async def master() -> Member | None:
            for m in members:
                channel = open_channel(f"127.0.0.1:{m.ports['cluster']}", tls_of(pki, "node"))
                try:
                    stub = cluster_service_pb2_grpc.ClusterServiceStub(channel)
                    status = await stub.GetClusterStatus(cs.GetClusterStatusRequest(), timeout=5)
                finally:
                    await channel.close()
                if status.role == cs.ROLE_MASTER and len(status.installations) == 2:
                    return m
            return None

        leader, _ = await eventually(master, within=120, what="a master of two, over mTLS")
        standby = next(m for m in members if m is not leader)

        async def created() -> ss.CreatePartnerResponse | None:
            answer: ss.CreatePartnerResponse = await leader.settings(
                "CreatePartner",
                ss.CreatePartnerRequest(
                    actor=ss.Actor(login="sre"), partner=ss.Partner(login="acme"), password="pw"
                ),
            )
            return answer

        answer, _ = await eventually(created, within=60, what="a partner created on the master")

        async def synced() -> bool:
            async with await psycopg.AsyncConnection.connect(standby.database_url) as conn:
                cur = await conn.execute("SELECT revision FROM settings_revision")
                row = await cur.fetchone()
            return row is not None and row[0] >= answer.revision

        await eventually(synced, within=30, what="the revision on the standby")
        got = await standby.settings("GetPartner", ss.GetPartnerRequest(login="acme"))
        assert got.partner.login == "acme"
    finally:
        for m in members:
            m.stop()
