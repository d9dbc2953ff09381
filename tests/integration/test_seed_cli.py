"""`rcs seed-demo` and `rcs admin-user` against a running core (and rpns) over gRPC: every
settings change is a revision row, a second run changes nothing, and the administrators'
RPCs enforce the password policy."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs.rpns.v1 import app_service_pb2 as aps
from rcs.rpns.v1 import app_service_pb2_grpc, device_service_pb2, device_service_pb2_grpc
from rcs_rpns.servicer import AppServicer, DeviceServicer
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.support import admin_user_cli, start_server

pytestmark = pytest.mark.integration
ACTOR = ss.Actor(login="ops", remote_ip="10.0.0.5")


@pytest.fixture
async def rpns_port(pool: Any) -> AsyncIterator[int]:
    """A real rpns AppService and DeviceService on this test's database."""
    server = await start_server(
        lambda s: app_service_pb2_grpc.add_AppServiceServicer_to_server(AppServicer(pool), s),
        lambda s: device_service_pb2_grpc.add_DeviceServiceServicer_to_server(
            DeviceServicer(pool), s
        ),
    )
    yield server.port
    await server.stop(0)


@pytest.fixture
async def stub(core_port: int) -> AsyncIterator[Any]:
    channel = open_channel(f"127.0.0.1:{core_port}")
    yield settings_service_pb2_grpc.SettingsServiceStub(channel)
    await channel.close()


async def _seed(core_port: int, rpns_port: int) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rcs_cli",
        "seed-demo",
        "--smsc-port",
        "2776",
        env={
            **os.environ,
            "RCS_CORE_TARGET": f"127.0.0.1:{core_port}",
            "RCS_RPNS_TARGET": f"127.0.0.1:{rpns_port}",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def _current_revision(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT revision FROM settings_revision")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_seed_demo_leaves_revision_rows_and_a_second_run_changes_nothing(
    core_port: int, rpns_port: int, stub: Any, database_url: str
) -> None:
    code, out = await _seed(core_port, rpns_port)
    assert code == 0, out
    assert "demo partner 'demo'" in out
    listed = await stub.ListRevisions(ss.ListRevisionsRequest())
    summaries = [r.summary for r in listed.revisions]
    assert summaries == [
        "put direction Russia (demo)",
        "put operator Demo Mobile",
        "put interface smsc-sim",
        # Messenger channels are deny by default: demo is granted each (newest first).
        *(f"put partner channel demo|{c}" for c in (8, 6, 5, 4, 3)),
        "create partner demo",
    ], summaries
    assert {r.actor.login for r in listed.revisions} == {"rcs seed-demo"}
    # The installation's revision number is the newest revision row: standbys sync past it.
    newest = listed.revisions[0].revision
    assert await _current_revision(database_url) == newest

    operators = await stub.ListOperators(ss.ListOperatorsRequest())
    assert [(o.name, o.mcc, o.mnc, list(o.interface_ids)) for o in operators.operators] == [
        ("Demo Mobile", "250", "99", ["smsc-sim"])
    ]
    channel = open_channel(f"127.0.0.1:{rpns_port}")
    try:
        apps = await app_service_pb2_grpc.AppServiceStub(channel).ListApps(
            aps.ListAppsRequest(partner="demo")
        )
        (app,) = apps.apps
        installs = await device_service_pb2_grpc.DeviceServiceStub(channel).ListInstalls(
            device_service_pb2.ListInstallsRequest(app_id=app.app_id)
        )
        assert len(installs.installs) == 2
    finally:
        await channel.close()

    code, out = await _seed(core_port, rpns_port)
    assert code == 0, out
    assert await _current_revision(database_url) == newest  # nothing changed: no revision
    again = await stub.ListRevisions(ss.ListRevisionsRequest())
    assert [r.revision for r in again.revisions] == [r.revision for r in listed.revisions]


async def test_seed_demo_without_core_says_where_it_looked(rpns_port: int) -> None:
    code, out = await _seed(1, rpns_port)  # nothing listens on port 1
    assert code == 1
    assert "127.0.0.1:1" in out
    assert "UNAVAILABLE" in out


async def test_administrators_over_settings_service(
    core_port: int, stub: Any, database_url: str
) -> None:
    first = await stub.CreateFirstAdministrator(
        ss.CreateFirstAdministratorRequest(actor=ACTOR, login="admin")
    )
    assert len(first.password) >= 8
    assert first.revision > 0
    again = await stub.CreateFirstAdministrator(
        ss.CreateFirstAdministratorRequest(actor=ACTOR, login="other")
    )
    assert (again.password, again.revision) == ("", 0)  # there is one already

    with pytest.raises(grpc.aio.AioRpcError) as short:
        await stub.PutAdministrator(
            ss.PutAdministratorRequest(actor=ACTOR, login="root", password="short")
        )
    assert short.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_reason(short.value) == "INVALID_REQUEST"
    assert "at least 8 characters" in (short.value.details() or "")

    before = await _current_revision(database_url)
    code, err = await admin_user_cli(f"127.0.0.1:{core_port}", "root", "short")
    assert code == 1
    assert "at least 8 characters" in err
    assert await _current_revision(database_url) == before
    code, err = await admin_user_cli(f"127.0.0.1:{core_port}", "root", "long enough")
    assert code == 0, err
    listed = await stub.ListRevisions(ss.ListRevisionsRequest(page_size=1))
    (newest,) = listed.revisions
    assert newest.summary == "create administrator root"
    assert newest.revision == await _current_revision(database_url) == before + 1
