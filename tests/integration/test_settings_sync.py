"""The settings changes feed over real gRPC between two installations' cores (two
databases): the master's revisions, applied on the standby, give it the same settings and
the same revision numbers; gaps, a master asked to apply, and replays are refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc, settings_sync_pb2_grpc
from rcs.core.v1 import settings_sync_pb2 as sync
from rcs_cluster.sync import REWINDS, SettingsPuller
from rcs_core.auth import api_keys_store
from rcs_core.auth.passwords import verify_password
from rcs_core.settings.servicer import SettingsServicer
from rcs_core.settings.sync_servicer import SettingsSyncServicer
from rcs_routing.number_plan_import import number_plan_chunks
from rcs_runtime.db import open_pool
from rcs_runtime.errors import RcsError
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.conftest import _admin_dsn, _dsn_for
from tests.support import start_server, upsert_admin

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
    def __init__(self, settings: Any, sync: Any, target: str) -> None:
        self.settings = settings
        self.sync = sync
        self.target = target


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
    target = f"127.0.0.1:{server.port}"
    channel = open_channel(target)
    yield Core(
        settings_service_pb2_grpc.SettingsServiceStub(channel),
        settings_sync_pb2_grpc.SettingsSyncServiceStub(channel),
        target,
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


FIXTURES = Path(__file__).parents[1] / "fixtures" / "number_plan"
DEF = (FIXTURES / "DEF-9xx.csv").read_bytes()
ABC = (FIXTURES / "ABC-3xx.csv").read_bytes()


async def import_plan(core: Core, data: bytes) -> int:
    answer = await core.settings.ImportNumberPlan(iter(number_plan_chunks(data, ADMIN)))
    return int(answer.revision)


async def rows(dsn: str, sql: str, *args: object) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


PLAN_ROWS = (
    "SELECT r.range_start, r.range_end, d.name FROM direction_ranges r"
    " JOIN directions d ON d.id = r.direction_id ORDER BY 1"
)


async def credentials_of(dsn: str, key: str) -> tuple[str | None, bool]:
    """(the partner the API key authenticates, whether admin root's password is "rootpass1")"""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        partner = await api_keys_store.partner_of(conn, key)
    admins = await rows(dsn, "SELECT password_hash FROM admins WHERE login = 'root'")
    return partner, bool(admins) and verify_password("rootpass1", admins[0][0])


async def test_api_keys_administrators_and_the_number_plan_reach_the_standby(
    master: Core, standby: Core, database_url: str, standby_url: str
) -> None:
    start = await revision(standby_url)
    await master.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="acme"), password="pw")
    )
    key = await master.settings.CreateApiKey(ss.CreateApiKeyRequest(actor=ADMIN, partner="acme"))
    await upsert_admin(database_url, "root", "rootpass1")  # `rcs admin-user root`
    await import_plan(master, DEF)
    applied = await pull(master, standby, start)
    assert applied.applied_count == 4
    assert await credentials_of(standby_url, key.key) == ("acme", True)
    assert await rows(standby_url, PLAN_ROWS) == await rows(database_url, PLAN_ROWS) != []
    keys = "SELECT id, prefix, revoked_at FROM partner_api_keys ORDER BY id"
    assert await rows(standby_url, keys) == await rows(database_url, keys)

    # Revoked and re-imported on the master: the key stops working on the standby too.
    await master.settings.RevokeApiKey(
        ss.RevokeApiKeyRequest(actor=ADMIN, partner="acme", id=key.api_key.id)
    )
    await import_plan(master, ABC)
    await pull(master, standby, applied.revision)
    assert await credentials_of(standby_url, key.key) == (None, True)
    assert await rows(standby_url, PLAN_ROWS) == await rows(database_url, PLAN_ROWS)
    assert await rows(standby_url, keys) == await rows(database_url, keys)

    # The standby refuses each of these writes, naming the master.
    with pytest.raises(grpc.aio.AioRpcError) as created:
        await standby.settings.CreateApiKey(ss.CreateApiKeyRequest(actor=ADMIN, partner="acme"))
    assert error_reason(created.value) == "NOT_MASTER"
    with pytest.raises(grpc.aio.AioRpcError) as imported:
        await import_plan(standby, DEF)
    assert error_reason(imported.value) == "NOT_MASTER"
    assert "change settings on the master" in (imported.value.details() or "")
    with pytest.raises(RcsError) as admin:
        await upsert_admin(standby_url, "root", "otherpass2")
    assert admin.value.reason == "NOT_MASTER"
    assert await credentials_of(standby_url, key.key) == (None, True)


async def as_master(dsn: str, role: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("UPDATE cluster_role SET role = %s", (role,))


async def test_a_diverged_standby_is_rewound_to_the_masters_history_in_one_go(
    master: Core, standby: Core, database_url: str, standby_url: str
) -> None:
    """The standby was master before a failover: it committed revisions (a partner, an API
    key, an administrator, a number plan) that the new master never saw, more of them than
    the master has since committed, so it is also ahead by number."""
    start = await revision(standby_url)
    await as_master(standby_url, "master")
    await standby.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="ghost"), password="pw")
    )
    ghost_key = await standby.settings.CreateApiKey(
        ss.CreateApiKeyRequest(actor=ADMIN, partner="ghost")
    )
    await upsert_admin(standby_url, "root", "ghostpass1")
    await import_plan(standby, DEF)
    await as_master(standby_url, "standby")
    await master.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="acme"), password="pw")
    )
    await upsert_admin(database_url, "root", "rootpass1")
    assert await revision(standby_url) == start + 4 > await revision(database_url) == start + 2

    puller = SettingsPuller(standby.target, timeout=10)
    rewinds = REWINDS._value.get()
    reached = await puller.pull(1, master.target, start + 4, start + 2)
    assert reached == await revision(standby_url) == start + 2
    assert REWINDS._value.get() == rewinds + 1
    assert await snapshot(standby) == await snapshot(master)
    assert await credentials_of(standby_url, ghost_key.key) == (None, True)
    assert await rows(standby_url, PLAN_ROWS) == [] == await rows(database_url, PLAN_ROWS)
    history = "SELECT revision, checksum FROM settings_revisions ORDER BY revision"
    assert await rows(standby_url, history) == await rows(database_url, history)
    audit = await rows(standby_url, "SELECT target FROM audit_log WHERE action = 'settings.rewind'")
    assert audit == [(f"undid 4 revision(s) after {start}, not in installation 1's history",)]

    # Same numbers, other content: found by checksum, not by number.
    await as_master(standby_url, "master")
    await standby.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="ghost2"), password="pw")
    )
    await as_master(standby_url, "standby")
    await master.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="acme2"), password="pw")
    )
    fresh = SettingsPuller(standby.target, timeout=10)  # a restarted agent
    assert await fresh.pull(1, master.target, start + 3, start + 3) == start + 3
    assert await snapshot(standby) == await snapshot(master)
    assert await rows(standby_url, history) == await rows(database_url, history)
    # In step: nothing to undo, nothing more is asked of the master.
    assert not fresh.needs_pull(1, start + 3, start + 3)
