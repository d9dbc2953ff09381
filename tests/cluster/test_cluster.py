"""Three installations (own databases, own core, routing and cluster agent processes) and a
real etcd on this machine: election, settings sync, standby refusals, failover after
kill -9 and SIGSTOP, and an etcd restart. Deadlines are generous; the measured times are
benchmarks (bench/cluster_failover.py, docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import psycopg
import pytest

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.routing.v1 import routing_service_pb2 as rs
from rcs_runtime.grpc_client import error_reason
from tests.cluster.etcd_process import EtcdProcess
from tests.cluster.harness import TTL, Member, eventually
from tests.cluster.tcp_proxy import TcpProxy
from tests.conftest import _admin_dsn, _dsn_for
from tests.forked import rcs

pytestmark = pytest.mark.e2e
ADMIN = ss.Actor(login="sre", remote_ip="127.0.0.1")


@dataclass
class Cluster:
    etcd: EtcdProcess
    members: list[Member]
    proxies: dict[int, TcpProxy]  # installation id → its way to etcd

    def by_id(self, installation_id: int) -> Member:
        return next(m for m in self.members if m.installation_id == installation_id)

    def logs(self) -> str:
        return "\n".join(m.logs() for m in self.members)

    async def master(self, *, within: float = 15, exclude: int = 0) -> Member:
        """The member every live agent agrees is master (and that says so itself)."""

        async def agreed() -> Member | None:
            seen = set()
            for m in self.members:
                if m.procs["cluster"].poll() is not None or m.installation_id == exclude:
                    continue
                seen.add((await m.status()).master_installation_id)
            if len(seen) != 1 or 0 in seen or exclude in seen:
                return None  # none yet, no agreement, or still the one being replaced
            master = self.by_id(seen.pop())
            return master if (await master.status()).role == cs.ROLE_MASTER else None

        try:
            member, _ = await eventually(agreed, within=within, what="one agreed master")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from exc
        return member


@pytest.fixture(scope="module")
def cluster(template_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    etcd = EtcdProcess(root / "etcd" / "data")
    etcd.data_dir.parent.mkdir(parents=True)
    etcd.start()
    admin = _admin_dsn()
    names = [f"rcs_test_{uuid.uuid4().hex[:12]}" for _ in range(3)]
    members = []
    proxies: dict[int, TcpProxy] = {}
    with psycopg.connect(admin, autocommit=True) as conn:
        for i, name in enumerate(names, start=1):
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
            dsn = _dsn_for(admin, name)
            with psycopg.connect(dsn, autocommit=True) as db:
                db.execute("UPDATE installation SET installation_id = %s", (i,))
            proxies[i] = TcpProxy(etcd.client_port)
            members.append(Member(i, dsn, root / f"inst{i}", proxies[i].endpoint))
    for m in members:
        m.start()
    try:
        yield Cluster(etcd, members, proxies)
    finally:
        for m in members:
            m.stop()
        for proxy in proxies.values():
            proxy.close()
        etcd.stop()
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def write(member: Member, method: str, request: object) -> Any:
    """A settings write on the master. On a host this loaded an agent can be starved past its
    fence margin: the master's own database then refuses (NOT_MASTER) until it renews, so
    NOT_MASTER is retried for a while; any other error is not."""

    refusals: list[str] = []

    async def attempt() -> Any:
        try:
            return await member.settings(method, request)
        except grpc.aio.AioRpcError as exc:
            if error_reason(exc) != "NOT_MASTER":
                raise
            refusals.append(exc.details() or "")
            return None

    try:
        answer, _ = await eventually(attempt, within=20, what=f"{method} on the master")
    except AssertionError as exc:
        with psycopg.connect(member.database_url) as conn:
            row = conn.execute("SELECT * FROM cluster_role").fetchone()
        status = await member.status()
        raise AssertionError(
            f"{exc}; last refusal: {refusals[-1:]}; role row {row};"
            f" agent: {status}; core {member.core}"
        ) from exc
    return answer


async def put_route(member: Member, prefix: str, operator: str) -> int:
    """A direction for ``prefix`` to ``operator`` (created with its interface)."""
    interface = ss.Interface(
        id=f"if-{operator.lower()}",
        host="smsc",
        port=2775,
        system_id="rcs",
        password="pw",
        enabled=True,
    )
    await write(member, "PutInterface", ss.PutInterfaceRequest(actor=ADMIN, interface=interface))
    await write(
        member,
        "PutOperator",
        ss.PutOperatorRequest(
            actor=ADMIN, operator=ss.Operator(name=operator, interface_ids=[interface.id])
        ),
    )
    answer = await write(
        member,
        "PutDirection",
        ss.PutDirectionRequest(
            actor=ADMIN,
            direction=ss.Direction(name=f"d-{prefix}", operator=operator, prefixes=[prefix]),
        ),
    )
    return int(answer.revision)


async def resolve(member: Member, number: str) -> rs.Route:
    answer = await member.routing(
        "ResolveRoutes", rs.ResolveRoutesRequest(queries=[rs.RouteQuery(destination=number)])
    )
    route: rs.Route = answer.routes[0]
    return route


async def all_resolve(cluster: Cluster, number: str, operator: str) -> float:
    """Seconds until every installation's routing sends ``number`` to ``operator``."""

    async def same() -> bool:
        routes = [await resolve(m, number) for m in cluster.members]
        return all(r.found and r.operator == operator for r in routes)

    _, took = await eventually(same, within=10, what=f"{number} to {operator} everywhere")
    return took


async def refuses_settings(member: Member) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await member.settings(
            "CreatePartner",
            ss.CreatePartnerRequest(
                actor=ADMIN, partner=ss.Partner(login=f"p{uuid.uuid4().hex[:8]}"), password="pw"
            ),
        )
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.value
    assert error_reason(refused.value) == "NOT_MASTER"
    return refused.value.details() or ""


async def test_one_master_and_a_route_changed_on_it_reaches_both_standbys(
    cluster: Cluster,
) -> None:
    master = await cluster.master(within=120)  # nine Python processes start on a busy host

    async def all_registered() -> list[cs.GetClusterStatusResponse] | None:
        # An agent's view of the registry is at most a loop old: one that registered just
        # now may be missing from another's for that long.
        statuses = [await m.status() for m in cluster.members]
        seen = [sorted(i.installation_id for i in s.installations) for s in statuses]
        return statuses if all(ids == [1, 2, 3] for ids in seen) else None

    statuses, _ = await eventually(all_registered, within=15, what="every agent sees all three")
    assert [s.role == cs.ROLE_MASTER for s in statuses].count(True) == 1
    await put_route(master, "7913", "Polar")
    took = await all_resolve(cluster, "79131234567", "Polar")
    print(f"settings converged on all three installations in {took:.3f} s")
    for m in cluster.members:
        if m is not master:
            message = await refuses_settings(m)
            assert f"installation {master.installation_id} (core {master.core})" in message


async def test_each_installation_is_told_its_live_peers(cluster: Cluster) -> None:
    """The agent writes cluster_peers (the cores its core offers parked receipts to)."""

    def peers_of(m: Member) -> list[tuple[int, str]]:
        with psycopg.connect(m.database_url) as conn:
            rows = conn.execute("SELECT * FROM cluster_peers ORDER BY 1").fetchall()
        return [(int(i), str(core)) for i, core, _ in rows]

    async def told() -> bool:
        return all(
            peers_of(m) == [(o.installation_id, o.core) for o in cluster.members if o is not m]
            for m in cluster.members
        )

    await eventually(told, within=10, what="every installation told its peers")


def etcd_requests(etcd: EtcdProcess) -> float:
    """Every gRPC message etcd has received so far (its own Prometheus counter)."""
    url = f"http://{etcd.endpoint}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("grpc_server_msg_received_total{")
    )


async def test_no_etcd_request_on_the_per_message_path(cluster: Cluster) -> None:
    master = await cluster.master()
    created = await write(
        master,
        "CreatePartner",
        ss.CreatePartnerRequest(
            actor=ADMIN, partner=ss.Partner(login="acme", default_sender="ACME"), password="pw"
        ),
    )
    await all_resolve(cluster, "79131234567", "Polar")
    revision = int(created.revision)

    async def synced() -> bool:
        revisions = [(await m.status()).settings_revision for m in cluster.members]
        return min(revisions) >= revision

    await eventually(synced, within=15, what="the partner on every installation")
    # Freeze every agent: from here on, etcd hears from nobody but what messages cause.
    for m in cluster.members:
        m.signal("cluster", signal.SIGSTOP)
    try:
        # What the agents sent just before they froze may still be on its way: start
        # counting once etcd's counter stands still.
        before = etcd_requests(cluster.etcd)
        while True:
            await asyncio.sleep(1)
            now = etcd_requests(cluster.etcd)
            if now == before:
                break
            before = now
        accepted = 0
        for m in cluster.members:
            answer = await m.call(
                m.core,
                message_service_pb2_grpc.MessageServiceStub,
                "SubmitMessages",
                ms.SubmitMessagesRequest(
                    partner="acme",
                    messages=[
                        ms.MessageSubmission(
                            destination=f"7913{i:07d}",
                            channel=channel_pb2.CHANNEL_SMS,
                            sms=message_pb2.SmsContent(text=f"m{i}", sender="ACME"),
                        )
                        for i in range(20)
                    ],
                ),
            )
            accepted += sum(1 for r in answer.results if r.message_id)
            for i in range(20):
                assert (await resolve(m, f"7913{i:07d}")).operator == "Polar"
        after = etcd_requests(cluster.etcd)
    finally:
        for m in cluster.members:
            m.signal("cluster", signal.SIGCONT)
    assert accepted == 60
    assert after == before, f"{after - before} etcd requests while 60 messages were accepted"


async def test_killed_master_agent_a_standby_takes_over_and_the_old_one_returns_standby(
    cluster: Cluster,
) -> None:
    old = await cluster.master()
    old.signal("cluster", signal.SIGKILL)
    new = await cluster.master(within=TTL + 10, exclude=old.installation_id)
    assert new is not old
    # The old core, with no agent to renew its term, refuses on its own (valid_until).
    assert "lapsed" in await refuses_settings(old)
    await put_route(new, "7914", "Tundra")
    old.start("cluster")  # waits out its previous lease, then registers as a standby
    await all_resolve(cluster, "79141234567", "Tundra")
    assert (await cluster.master()) is new
    assert f"installation {new.installation_id}" in await refuses_settings(old)


async def test_etcd_restart_keeps_the_master_and_its_term_and_sync_resumes(
    cluster: Cluster,
) -> None:
    master = await cluster.master()
    term = (await master.status()).master_term
    cluster.etcd.kill()
    cluster.etcd.start()  # same data: the leases and the master key survive

    # While etcd was down past the fence margin the master fenced itself; it takes writes
    # again once it renewed its lease, in the same term (put_route retries NOT_MASTER).
    await put_route(master, "7915", "Arctic")
    await all_resolve(cluster, "79151234567", "Arctic")  # the standbys follow again
    assert (await cluster.master()) is master
    assert (await master.status()).master_term == term  # no failover, no new term


async def test_frozen_master_is_replaced_and_comes_back_as_a_standby(cluster: Cluster) -> None:
    old = await cluster.master()
    demotions = old.log("cluster").count("demoted_to_standby")
    old.signal("cluster", signal.SIGSTOP)
    try:
        new = await cluster.master(within=TTL + 10, exclude=old.installation_id)
        assert new is not old
        assert "lapsed" in await refuses_settings(old)  # fenced by its own database
    finally:
        old.signal("cluster", signal.SIGCONT)

    async def back_as_standby() -> bool:
        s = await old.status()
        return s.role == cs.ROLE_STANDBY and s.master_installation_id == new.installation_id

    await eventually(back_as_standby, within=TTL + 10, what="the old master back as standby")
    assert old.log("cluster").count("demoted_to_standby") > demotions
    assert f"installation {new.installation_id}" in await refuses_settings(old)
    await put_route(new, "7916", "Boreal")
    await all_resolve(cluster, "79161234567", "Boreal")


async def test_master_cut_off_from_etcd_fences_itself_and_returns_as_a_standby(
    cluster: Cluster,
) -> None:
    old = await cluster.master()
    cluster.proxies[old.installation_id].cut()
    try:
        new = await cluster.master(within=TTL + 10, exclude=old.installation_id)
        assert new is not old

        async def fenced() -> bool:
            return "fencing_lease_unrenewed" in old.log("cluster")

        # It made itself a standby: no etcd needed to stop taking settings writes.
        await eventually(fenced, within=TTL + 10, what="the cut-off master fencing itself")
        assert (await old.status()).role == cs.ROLE_STANDBY
        await refuses_settings(old)
    finally:
        cluster.proxies[old.installation_id].restore()

    async def back_as_standby() -> bool:
        s = await old.status()
        return s.role == cs.ROLE_STANDBY and s.master_installation_id == new.installation_id

    await eventually(back_as_standby, within=TTL + 15, what="the cut-off master back as standby")
    await put_route(new, "7918", "Sever")
    await all_resolve(cluster, "79181234567", "Sever")
    assert f"installation {new.installation_id}" in await refuses_settings(old)


async def rcs_cluster(member: Member, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "RCS_CLUSTER_TARGET": f"127.0.0.1:{member.ports['cluster']}"}
    return await rcs("cluster", *args, env=env)


async def test_sre_sees_the_cluster_and_moves_the_master_with_the_cli(cluster: Cluster) -> None:
    master = await cluster.master()
    standby = next(m for m in cluster.members if m is not master)
    code, table, _ = await rcs_cluster(standby, "installations")
    assert code == 0
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "ROLE", "REVISION", "CORE", "AGENT"]
    roles = {int(line.split()[0]): line.split()[1] for line in lines[1:]}
    assert roles == {
        m.installation_id: "master" if m is master else "standby" for m in cluster.members
    }
    code, out, _ = await rcs_cluster(standby, "status", "--json")
    status = json.loads(out)
    assert (status["masterInstallationId"], status["role"]) == (
        master.installation_id,
        "ROLE_STANDBY",
    )

    code, out, _ = await rcs_cluster(standby, "promote", str(standby.installation_id))
    assert code == 0, out
    assert f"asked installation {master.installation_id}" in out

    async def promoted() -> bool:
        return (await cluster.master()) is standby

    await eventually(promoted, within=TTL + 10, what="the promoted standby as master")
    await put_route(standby, "7917", "Taiga")
    await all_resolve(cluster, "79171234567", "Taiga")

    code, out, err = await rcs_cluster(master, "promote", "42")
    assert code != 0
    assert "installation 42 is not live" in err

    code, out, _ = await rcs_cluster(master, "demote")
    assert code == 0

    async def moved_on() -> Member | None:
        now = await cluster.master()
        return now if now is not standby else None

    await eventually(moved_on, within=TTL + 10, what="another master after demote")
