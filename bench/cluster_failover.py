"""Cluster failover and settings convergence on this machine: three installations (own
databases, core and cluster agent processes) and a real etcd.

Convergence: --writes settings writes on the master; for each, the time from the master's
answer until both standbys' databases hold that revision. Failover: --kills times, kill -9
the master's agent and time until another agent reports itself master; the killed agent is
restarted (it waits out its old lease) before the next kill.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.cluster_failover
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from rcs.cluster.v1 import cluster_service_pb2 as cs
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.db.migrate import migrate
from tests.cluster.etcd_process import EtcdProcess
from tests.cluster.harness import Member

ADMIN = ss.Actor(login="bench", remote_ip="127.0.0.1")


async def _master(members: list[Member], exclude: int = 0, within: float = 120) -> Member:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for m in members:
            if m.installation_id == exclude or m.procs["cluster"].poll() is not None:
                continue
            try:
                if (await m.status()).role == cs.ROLE_MASTER:
                    return m
            except Exception:  # noqa: S110 (not up yet)
                pass
        await asyncio.sleep(0.02)
    raise TimeoutError("no master")


async def _revision(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT revision FROM settings_revision")
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def _registered(member: Member, count: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if len((await member.status()).installations) == count:
                return
        except Exception:  # noqa: S110 (restarting)
            pass
        await asyncio.sleep(0.1)
    raise TimeoutError("the restarted agent did not register")


async def _core_up(member: Member, within: float = 120) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            await member.settings("ListPartners", ss.ListPartnersRequest())
            return
        except Exception:  # noqa: S110 (starting)
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError(f"core of installation {member.installation_id} did not start")


def _summary(name: str, values: list[float]) -> str:
    return (
        f"{name}: n={len(values)} min {min(values):.3f} s, median"
        f" {statistics.median(values):.3f} s, max {max(values):.3f} s"
    )


async def main(args: argparse.Namespace) -> None:
    admin = os.environ["RCS_TEST_DSN"]
    root = Path(tempfile.mkdtemp(prefix="rcs-bench-cluster-"))
    etcd = EtcdProcess(root / "etcd" / "data")
    etcd.data_dir.parent.mkdir(parents=True)
    etcd.start()
    env = {
        "RCS_CLUSTER_TTL_SECONDS": str(args.ttl),
        "RCS_CLUSTER_LOOP_WAIT_SECONDS": str(args.loop_wait),
        "RCS_CLUSTER_RETRY_TIMEOUT_SECONDS": str(args.retry_timeout),
    }
    names = [f"rcs_bench_{uuid.uuid4().hex[:8]}" for _ in range(3)]
    members = []
    try:
        for i, name in enumerate(names, start=1):
            async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
                await conn.execute(f'CREATE DATABASE "{name}"')
            dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
            await migrate(dsn, i)
            members.append(Member(i, dsn, root / f"inst{i}", etcd.endpoint, extra_env=env))
        for m in members:
            m.start("core", "cluster")
        master = await _master(members)
        for m in members:
            await _registered(m, 3)
            await _core_up(m)

        converge = []
        for n in range(args.writes):
            answer = await master.settings(
                "CreatePartner",
                ss.CreatePartnerRequest(
                    actor=ADMIN,
                    partner=ss.Partner(login=f"bench{n}"),
                    password="pw",  # noqa: S106
                ),
            )
            t0 = time.monotonic()
            for m in members:
                if m is master:
                    continue
                while await _revision(m.database_url) < answer.revision:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)  # polls another process's database
            converge.append(time.monotonic() - t0)
        print(_summary("settings convergence (both standbys)", converge), flush=True)

        failover = []
        for _ in range(args.kills):
            master = await _master(members)
            master.signal("cluster", signal.SIGKILL)
            t0 = time.monotonic()
            new = await _master(members, exclude=master.installation_id)
            failover.append(time.monotonic() - t0)
            print(
                f"  kill {master.installation_id} -> {new.installation_id} in {failover[-1]:.3f} s",
                flush=True,
            )
            master.start("cluster")
            await _registered(master, 3)
        print(_summary(f"failover after kill -9 (TTL {args.ttl} s)", failover), flush=True)
    finally:
        for m in members:
            m.stop()
        etcd.stop()
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            for name in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--ttl", type=int, default=5)
    parser.add_argument("--loop-wait", type=float, default=1.0)
    parser.add_argument("--retry-timeout", type=float, default=1.0)
    asyncio.run(main(parser.parse_args()))
