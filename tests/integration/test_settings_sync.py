"""The settings changes feed over real gRPC between two installations' cores (two
databases): the master's revisions, applied on the standby, give it the same settings and
the same revision numbers; gaps, a master asked to apply, and replays are refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import psycopg
import pytest

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc, settings_sync_pb2_grpc
from rcs.core.v1 import settings_sync_pb2 as sync
from rcs_core.settings.servicer import SettingsServicer
from rcs_core.settings.sync_servicer import SettingsSyncServicer
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.conftest import _admin_dsn, _dsn_for
from tests.support import start_server

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")


@pytest.fixture
def standby_url(template_db: str) -> Iterator[str]:
    admin = _admin_dsn()
    name = f"rcs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    dsn = _dsn_for(admin, name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE cluster_role SET role = 'standby', master_id = 1")
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Core:
    def __init__(self, settings: Any, sync: Any) -> None:
        self.settings = settings
        self.sync = sync


async def _core(dsn: str) -> AsyncIterator[Core]:
    pool = await open_pool(dsn, min_size=1, max_size=4)
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
        lambda s: settings_sync_pb2_grpc.add_SettingsSyncServiceServicer_to_server(
            SettingsSyncServicer(pool), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield Core(
        settings_service_pb2_grpc.SettingsServiceStub(channel),
        settings_sync_pb2_grpc.SettingsSyncServiceStub(channel),
    )
    await channel.close()
    await server.stop(0)
    await pool.close()


@pytest.fixture
async def master(database_url: str) -> AsyncIterator[Core]:
    async for core in _core(database_url):
        yield core


@pytest.fixture
async def standby(standby_url: str) -> AsyncIterator[Core]:
    async for core in _core(standby_url):
        yield core


async def pull(master: Core, standby: Core, since: int) -> sync.ApplySettingsChangesResponse:
    feed = await master.sync.ListSettingsChanges(
        sync.ListSettingsChangesRequest(since_revision=since)
    )
    applied: sync.ApplySettingsChangesResponse = await standby.sync.ApplySettingsChanges(
        sync.ApplySettingsChangesRequest(changes=feed.changes, master_installation_id=1)
    )
    return applied


async def snapshot(core: Core) -> tuple[Any, ...]:
    return (
        await core.settings.ListPartners(ss.ListPartnersRequest()),
        await core.settings.ListInterfaces(ss.ListInterfacesRequest()),
        await core.settings.ListOperators(ss.ListOperatorsRequest()),
        await core.settings.ListDirections(ss.ListDirectionsRequest()),
        await core.settings.ListRoutingRules(ss.ListRoutingRulesRequest()),
    )


async def revision(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT revision FROM settings_revision")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_standby_applies_the_masters_revisions_and_ends_identical(
    master: Core, standby: Core, database_url: str, standby_url: str
) -> None:
    start = await revision(standby_url)
    assert await revision(database_url) == start  # both from the same template
    interface = ss.Interface(
        id="if-a", host="smsc", port=2775, system_id="rcs", password="pw", enabled=True
    )
    await master.settings.PutInterface(ss.PutInterfaceRequest(actor=ADMIN, interface=interface))
    await master.settings.PutOperator(
        ss.PutOperatorRequest(actor=ADMIN, operator=ss.Operator(name="Op", interface_ids=["if-a"]))
    )
    await master.settings.PutDirection(
        ss.PutDirectionRequest(
            actor=ADMIN,
            direction=ss.Direction(
                name="Altai",
                operator="Op",
                ranges=[ss.NumberRange(start=79130000000, end=79139999999)],
            ),
        )
    )
    await master.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="acme"), password="pw")
    )
    applied = await pull(master, standby, start)
    assert applied.applied_count == 4
    assert applied.revision == await revision(database_url) == await revision(standby_url)
    assert await snapshot(standby) == await snapshot(master)

    # The password hash came along: the standby authenticates the partner as the master does.
    async with await psycopg.AsyncConnection.connect(standby_url) as conn:
        cur = await conn.execute("SELECT password_hash FROM partners WHERE login = 'acme'")
        row = await cur.fetchone()
    assert row is not None
    assert row[0].startswith("$argon2")

    # A rollback on the master is a revision like any other.
    await master.settings.RollbackSettings(
        ss.RollbackSettingsRequest(actor=ADMIN, revision=start + 2)
    )
    again = await pull(master, standby, applied.revision)
    assert again.applied_count == 1
    assert await snapshot(standby) == await snapshot(master)
    assert (await snapshot(standby))[3].directions == []  # back before the direction
    assert (await snapshot(standby))[0].partners == (await snapshot(master))[0].partners


async def test_gaps_replays_and_a_master_applying_are_refused(
    master: Core, standby: Core, database_url: str, standby_url: str
) -> None:
    start = await revision(standby_url)
    for login in ("a1", "a2"):
        await master.settings.CreatePartner(
            ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login=login), password="pw")
        )
    feed = await master.sync.ListSettingsChanges(
        sync.ListSettingsChangesRequest(since_revision=start)
    )
    assert feed.current_revision == start + 2
    with pytest.raises(grpc.aio.AioRpcError) as gap:
        await standby.sync.ApplySettingsChanges(
            sync.ApplySettingsChangesRequest(changes=feed.changes[1:], master_installation_id=1)
        )
    assert gap.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(gap.value) == "SETTINGS_OUT_OF_SYNC"
    assert f"pull the revisions after {start}" in (gap.value.details() or "")
    assert await revision(standby_url) == start  # nothing of the refused batch stayed
    await standby.sync.ApplySettingsChanges(
        sync.ApplySettingsChangesRequest(changes=feed.changes, master_installation_id=1)
    )
    with pytest.raises(grpc.aio.AioRpcError) as replay:
        await standby.sync.ApplySettingsChanges(
            sync.ApplySettingsChangesRequest(changes=feed.changes, master_installation_id=1)
        )
    assert error_reason(replay.value) == "SETTINGS_OUT_OF_SYNC"
    with pytest.raises(grpc.aio.AioRpcError) as on_master:
        await master.sync.ApplySettingsChanges(
            sync.ApplySettingsChangesRequest(changes=feed.changes, master_installation_id=2)
        )
    assert "this installation is the master" in (on_master.value.details() or "")
    # The standby still refuses its own writes.
    with pytest.raises(grpc.aio.AioRpcError) as write:
        await standby.settings.CreatePartner(
            ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="b"), password="pw")
        )
    assert error_reason(write.value) == "NOT_MASTER"
