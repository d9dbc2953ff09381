"""Admin JSON API over real HTTP → real gRPC → core on real PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, settings_service_pb2_grpc
from rcs_cli.seed import upsert_admin
from rcs_core.servicer import AuthServicer
from rcs_core.settings_servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]
ROOT = {"Authorization": "Basic " + base64.b64encode(b"root:correct horse").decode()}


@pytest.fixture
async def api(pool: Any, database_url: str) -> AsyncIterator[Client]:
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
    yield client
    await client.close()
    await channel.close()
    await server.stop(0)


async def test_admin_creates_updates_and_rolls_back_a_partner(
    api: Client, database_url: str
) -> None:
    created = await api.post(
        "/api/admin/v1/partners",
        json={"partner": {"login": "acme", "defaultSender": "ACME"}, "password": "pw-12345"},
        headers={**ROOT, "Idempotency-Key": "k-1"},
    )
    assert created.status == 201, await created.text()
    first = await created.json()
    assert first["partner"]["defaultTtlSeconds"] == 86400
    again = await api.post(
        "/api/admin/v1/partners",
        json={"partner": {"login": "acme"}, "password": "pw-12345"},
        headers={**ROOT, "Idempotency-Key": "k-1"},
    )
    assert (again.status, (await again.json())["revision"]) == (201, first["revision"])

    patched = await api.patch(
        "/api/admin/v1/partners/acme", json={"blockDuplicates": True}, headers=ROOT
    )
    assert (await patched.json())["partner"]["blockDuplicates"] is True

    listed = await api.post(
        "/api/admin/v1/blacklist",
        json={"entries": [{"partner": "acme", "number": "79160000001", "note": "opt-out"}]},
        headers=ROOT,
    )
    assert (await listed.json())["addedCount"] == 1

    revisions = await (await api.get("/api/admin/v1/revisions", headers=ROOT)).json()
    assert [r["actor"]["login"] for r in revisions["revisions"]] == ["root"] * 3

    undo = await api.post(f"/api/admin/v1/revisions/{first['revision']}:rollback", headers=ROOT)
    assert (await undo.json())["changedCount"] == 2
    view = await (await api.get("/api/admin/v1/partners/acme", headers=ROOT)).json()
    assert view["partner"]["blockDuplicates"] is False
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM audit_log WHERE actor = 'root'")
        assert await cur.fetchone() == (4,)


async def test_admin_api_refuses_without_admin_credentials(api: Client) -> None:
    missing = await api.get("/api/admin/v1/partners")
    assert missing.status == 401
    assert missing.headers["WWW-Authenticate"].startswith("Basic")
    demo = {"Authorization": "Basic " + base64.b64encode(b"root:wrong").decode()}
    wrong = await api.get("/api/admin/v1/partners", headers=demo)
    assert ((await wrong.json())["error"]["code"], wrong.status) == (6, 401)


async def test_admin_api_errors_use_the_catalogue(api: Client) -> None:
    bad = await api.post("/api/admin/v1/partners", json={"partner": {"login": "x"}}, headers=ROOT)
    assert (bad.status, (await bad.json())["error"]["code"]) == (400, 4)
    unknown_field = await api.post("/api/admin/v1/partners", json={"nope": 1}, headers=ROOT)
    assert unknown_field.status == 400
    missing = await api.get("/api/admin/v1/partners/ghost", headers=ROOT)
    assert missing.status == 404
