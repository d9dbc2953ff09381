"""The audit log (issue 14, item 7): its own retention (longer than the messages'),
administrators' logins, API keys issued and used, refused logins and settings changes
recorded, and read through the admin API and the CLI, filtered by actor, entity, time."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2_grpc, settings_service_pb2_grpc
from rcs_core.auth.servicer import AuthServicer
from rcs_core.db import partitions
from rcs_core.messages.servicer import MessageServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server, upsert_admin

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]


def basic(login: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()}


ROOT = basic("root", "correct horse")


@pytest.fixture
async def api(pool: Any, database_url: str) -> AsyncIterator[tuple[Client, int]]:
    await upsert_admin(database_url, "root", "correct horse")
    messages = MessageServicer(pool, installation_id=7)
    server = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(messages, s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    app = build_app(RestSettings(auth_cache_seconds=0), channel)
    client: Client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client, server.port
    await client.close()
    await channel.close()
    await server.stop(0)
    await messages.close()


async def test_logins_keys_and_changes_are_audited_and_read_by_filter(
    api: tuple[Client, int],
) -> None:
    client, core_port = api
    start = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    resp = await client.post(
        "/api/admin/v1/partners",
        headers=ROOT,
        json={"partner": {"login": "acme", "defaultSender": "ACME"}, "password": "pw-12345"},
    )
    assert resp.status == 201
    resp = await client.post("/api/admin/v1/partners/acme/api-keys", headers=ROOT, json={})
    key = (await resp.json())["key"]
    one = {"messages": [{"from": "ACME", "to": "79034567890", "text": "hi"}]}
    resp = await client.post(
        "/api/batch/v3/messages", headers={"Authorization": f"Key {key}"}, json=one
    )
    assert resp.status == 200
    resp = await client.get("/api/admin/v1/partners", headers=basic("root", "guess"))
    assert resp.status == 401
    resp = await client.post(
        "/api/v6/send",
        json={
            "login": "acme",
            "password": "nope",
            "destAddr": "79034567890",
            "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
        },
    )
    assert resp.status == 401

    resp = await client.get("/api/admin/v1/audit", headers=ROOT, params={"since": start})
    assert resp.status == 200, await resp.text()
    entries = (await resp.json())["entries"]
    seen = [(e["actor"], e["action"], e["target"]) for e in reversed(entries)]
    assert ("root", "admin.login", "admin root") in seen
    assert ("root", "settings.change", "create partner acme") in seen
    assert any(  # a settings revision: copied to a cluster's standbys
        e[:2] == ("root", "api_key.create") and e[2].startswith("partner acme: create API key")
        for e in seen
    )
    assert ("acme", "api_key.use", "partner acme") in seen
    assert ("root", "login.refused", "admin root") in seen
    assert ("acme", "login.refused", "partner acme") in seen
    refused = next(e for e in entries if e["action"] == "login.refused" and e["actor"] == "acme")
    assert json.loads(refused["detailsJson"]) == {"reason": "INVALID_PASSWORD"}
    assert refused["remoteIp"] == "127.0.0.1"
    assert "nope" not in json.dumps(entries)  # no secret in the log

    resp = await client.get(
        "/api/admin/v1/audit", headers=ROOT, params={"actor": "acme", "since": start}
    )
    assert {e["actor"] for e in (await resp.json())["entries"]} == {"acme"}
    resp = await client.get("/api/admin/v1/audit", headers=ROOT, params={"entity": "partner acme"})
    targets = {e["target"] for e in (await resp.json())["entries"]}
    assert {t for t in targets if "API key" not in t} == {"partner acme", "create partner acme"}
    resp = await client.get("/api/admin/v1/audit", headers=ROOT, params={"until": start})
    before = (await resp.json()).get("entries", [])
    assert [e["action"] for e in before] == ["admin.change"]  # the fixture's `rcs admin-user`
    resp = await client.get(
        "/api/admin/v1/audit", headers=ROOT, params={"since": start, "pageSize": "2"}
    )
    page = await resp.json()
    assert len(page["entries"]) == 2
    resp = await client.get(
        "/api/admin/v1/audit",
        headers=ROOT,
        params={"since": start, "pageSize": "2", "pageToken": page["nextPageToken"]},
    )
    second = (await resp.json())["entries"]
    assert int(second[0]["id"]) < int(page["entries"][-1]["id"])
    resp = await client.get("/api/admin/v1/audit", headers=ROOT, params={"since": "yesterday"})
    assert resp.status == 400

    env = dict(os.environ, RCS_CORE_TARGET=f"127.0.0.1:{core_port}")
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "rcs_cli", "settings", "audit", "list", "--actor", "acme"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert {e["action"] for e in listed} == {"api_key.use", "login.refused"}


async def test_the_audit_log_outlives_the_messages(pool: Any) -> None:
    """Issue 14: audit_log partitions were dropped after RCS_RETENTION_DAYS (30)."""
    today = dt.datetime.now(dt.UTC).date()
    old = today - dt.timedelta(days=40)
    async with pool.connection() as conn:
        await partitions.maintain(conn, days_ahead=0, retention_days=None, today=old)
        _, dropped = await partitions.maintain(
            conn, days_ahead=0, retention_days=30, audit_retention_days=400, today=today
        )
        assert f"messages_p{old:%Y%m%d}" in dropped
        assert f"audit_log_p{old:%Y%m%d}" not in dropped
        _, dropped = await partitions.maintain(
            conn, days_ahead=0, retention_days=30, audit_retention_days=35, today=today
        )
        assert f"audit_log_p{old:%Y%m%d}" in dropped
