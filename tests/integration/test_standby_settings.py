"""A cluster's standby refuses every settings write, naming the master: core's
SettingsService (FAILED_PRECONDITION), the admin API (409) and the number-plan import
(core's ImportNumberPlan, also through the CLI); the master (and a lone installation, the
default) takes them."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, settings_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth.servicer import AuthServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_routing.number_plan_import import number_plan_chunks
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.integration.test_number_plan_import import FIXTURES, _cli
from tests.support import admin_user_cli, start_server, upsert_admin

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")
ROOT = {"Authorization": "Basic " + base64.b64encode(b"root:correct horse").decode()}
NAMES_MASTER = "change settings on the master, installation 2 (core 10.1.1.1:50051)"
Client = TestClient[web.Request, web.Application]


async def make_standby(dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute(
            "UPDATE cluster_role SET cluster = 'eu', role = 'standby', master_id = 2,"
            " master_core = '10.1.1.1:50051'"
        )


async def revision(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT revision FROM settings_revision")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[tuple[Any, Client]]:
    await upsert_admin(database_url, "root", "correct horse")
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    client: Client = TestClient(TestServer(build_app(RestSettings(), channel), host="127.0.0.1"))
    await client.start_server()
    yield settings_service_pb2_grpc.SettingsServiceStub(channel), client
    await client.close()
    await channel.close()
    await server.stop(0)


ABC_PLAN = (FIXTURES / "ABC-3xx.csv").read_bytes()


def partner(login: str) -> ss.CreatePartnerRequest:
    return ss.CreatePartnerRequest(
        actor=ADMIN, partner=ss.Partner(login=login, default_sender="ACME"), password="s3cret"
    )


async def test_a_lone_installation_is_its_own_master_and_takes_settings(
    core: tuple[Any, Client],
) -> None:
    stub, _ = core
    created = await stub.CreatePartner(partner("acme"))
    assert created.revision > 0


async def test_standby_refuses_grpc_settings_writes_naming_the_master(
    core: tuple[Any, Client], database_url: str
) -> None:
    stub, _ = core
    first = (await stub.CreatePartner(partner("early"))).revision
    await make_standby(database_url)
    before = await revision(database_url)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.CreatePartner(partner("acme"))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused.value) == "NOT_MASTER"
    assert NAMES_MASTER in (refused.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as rollback:
        await stub.RollbackSettings(ss.RollbackSettingsRequest(actor=ADMIN, revision=first - 1))
    assert error_reason(rollback.value) == "NOT_MASTER"
    assert await revision(database_url) == before
    # Reads still work on a standby.
    assert (await stub.ListPartners(ss.ListPartnersRequest())).partners is not None


async def test_standby_admin_api_answers_409_naming_the_master(
    core: tuple[Any, Client], database_url: str
) -> None:
    _, api = core
    await make_standby(database_url)
    answer = await api.post(
        "/api/admin/v1/partners",
        json={"partner": {"login": "acme", "defaultSender": "ACME"}, "password": "s3cret"},
        headers=ROOT,
    )
    assert answer.status == 409
    assert NAMES_MASTER in (await answer.json())["extendedDescription"]
    listed = await api.get("/api/admin/v1/partners", headers=ROOT)
    assert listed.status == 200


async def test_standby_refuses_a_number_plan_import_through_the_cli(
    core_port: int, database_url: str
) -> None:
    await make_standby(database_url)
    before = await revision(database_url)
    code, out, err = await _cli(core_port, "import-number-plan", str(FIXTURES / "ABC-3xx.csv"))
    assert code != 0
    assert out == ""
    assert "refused: NOT_MASTER" in err
    assert NAMES_MASTER in err
    assert await revision(database_url) == before


async def test_standby_refuses_the_import_rpc_with_the_error_of_every_write(
    core: tuple[Any, Client], database_url: str
) -> None:
    stub, _ = core
    await make_standby(database_url)
    before = await revision(database_url)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.ImportNumberPlan(iter(number_plan_chunks(ABC_PLAN, ADMIN)))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(refused.value) == "NOT_MASTER"
    assert NAMES_MASTER in (refused.value.details() or "")
    assert await revision(database_url) == before
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM direction_ranges")
        assert await cur.fetchone() == (0,)  # rolled back with the refused revision


async def test_standby_with_no_master_elected_says_so(core_port: int, database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("UPDATE cluster_role SET cluster = 'eu', role = 'standby'")
    code, _, err = await _cli(core_port, "import-number-plan", str(FIXTURES / "ABC-3xx.csv"))
    assert code != 0
    assert "no master is elected right now" in err


async def test_standby_refuses_api_keys_and_administrators_on_every_surface(
    core: tuple[Any, Client], core_port: int, database_url: str
) -> None:
    """API keys and administrators are settings revisions (copied from the master by the
    sync): the admin API answers 409, gRPC FAILED_PRECONDITION, `rcs admin-user` exits 1."""
    stub, api = core
    await stub.CreatePartner(partner("acme"))
    key = await stub.CreateApiKey(ss.CreateApiKeyRequest(actor=ADMIN, partner="acme"))
    await make_standby(database_url)
    before = await revision(database_url)
    issued = await api.post("/api/admin/v1/partners/acme/api-keys", json={}, headers=ROOT)
    assert issued.status == 409
    assert NAMES_MASTER in (await issued.json())["extendedDescription"]
    with pytest.raises(grpc.aio.AioRpcError) as revoked:
        await stub.RevokeApiKey(
            ss.RevokeApiKeyRequest(actor=ADMIN, partner="acme", id=key.api_key.id)
        )
    assert revoked.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert NAMES_MASTER in (revoked.value.details() or "")
    code, err = await admin_user_cli(f"127.0.0.1:{core_port}", "root", "another1")
    assert code == 1
    assert NAMES_MASTER in err
    assert await revision(database_url) == before
    # The old password still works: nothing was written.
    listed = await api.get("/api/admin/v1/partners/acme/api-keys", headers=ROOT)
    assert listed.status == 200
    assert [k["id"] for k in (await listed.json())["apiKeys"]] == [str(key.api_key.id)]
