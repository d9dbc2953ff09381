"""Mailings through the admin API (real HTTP → gRPC → core) and `rcs mailing` (a real
process talking gRPC to core), on real PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, mailing_service_pb2_grpc
from rcs_core.auth.servicer import AuthServicer
from rcs_core.mailings.servicer import MailingServicer
from rcs_runtime.grpc_client import open_channel
from tests.support import seed_demo, start_server, upsert_admin

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]
ROOT = {"Authorization": "Basic " + base64.b64encode(b"root:correct horse").decode()}


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[int]:
    await upsert_admin(database_url, "root", "correct horse")
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=9)
    server = await start_server(
        lambda s: mailing_service_pb2_grpc.add_MailingServiceServicer_to_server(
            MailingServicer(pool), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
    )
    yield server.port
    await server.stop(0)


@pytest.fixture
async def api(core: int) -> AsyncIterator[Client]:
    channel = open_channel(f"127.0.0.1:{core}")
    client: Client = TestClient(TestServer(build_app(RestSettings(), channel), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()
    await channel.close()


async def test_admin_api_creates_starts_and_cancels_a_mailing(api: Client) -> None:
    body = {
        "spec": {"partner": "demo", "name": "api-1", "text": "Hi {1}"},
        "recipients": [
            {"destination": "79161230001", "params": ["Ann"]},
            {"destination": "bad", "params": ["Bob"]},
        ],
    }
    created = await api.post("/api/admin/v1/mailings", json=body, headers=ROOT)
    assert created.status == 201, await created.text()
    doc = await created.json()
    mid = doc["mailing"]["id"]
    assert doc["mailing"]["state"] == "MAILING_STATE_LOADED"
    assert doc["refused"] == [{"line": "2", "destination": "bad", "reason": "INVALID_DESTINATION"}]
    started = await api.post(f"/api/admin/v1/mailings/{mid}:start", headers=ROOT)
    assert (await started.json())["mailing"]["state"] == "MAILING_STATE_RUNNING"
    again = await api.post(f"/api/admin/v1/mailings/{mid}:start", headers=ROOT)
    assert again.status == 409
    assert "cannot start a RUNNING mailing" in await again.text()
    cancelled = await api.post(f"/api/admin/v1/mailings/{mid}:cancel", headers=ROOT)
    assert (await cancelled.json())["mailing"]["state"] == "MAILING_STATE_CANCELLED"
    one = await (await api.get(f"/api/admin/v1/mailings/{mid}", headers=ROOT)).json()
    assert one["mailing"]["progress"]["total"] == "1"
    listed = await (await api.get("/api/admin/v1/mailings?partner=demo", headers=ROOT)).json()
    assert [m["id"] for m in listed["mailings"]] == [mid]
    missing = await api.get("/api/admin/v1/mailings/999999", headers=ROOT)
    assert missing.status == 404
    unauthorised = await api.get("/api/admin/v1/mailings")
    assert unauthorised.status == 401


async def rcs(port: int, *args: str) -> tuple[int, Any, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rcs_cli",
        "mailing",
        *args,
        env={**os.environ, "RCS_CORE_TARGET": f"127.0.0.1:{port}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, json.loads(out) if out.strip() else None, err.decode()


async def test_cli_creates_from_a_file_once_and_pauses_and_resumes(
    core: int, tmp_path: Path
) -> None:
    recipients = tmp_path / "nov.csv"
    recipients.write_text('79161230001;"Hello; world"\n79161230002;second\n', encoding="utf-8")
    args = ("create", "--partner", "demo", "--name", "cli-1", "--auto-start", str(recipients))
    code, created, err = await rcs(core, *args)
    assert code == 0, err
    assert created["mailing"]["state"] == "MAILING_STATE_RUNNING"
    assert created["mailing"]["progress"]["total"] == "2"
    code, again, err = await rcs(core, *args)  # the same file: the same mailing
    assert (code, again["existing"], again["mailing"]["id"]) == (0, True, created["mailing"]["id"])
    mid = created["mailing"]["id"]
    code, paused, _ = await rcs(core, "pause", mid)
    assert paused["mailing"]["state"] == "MAILING_STATE_PAUSED"
    code, resumed, _ = await rcs(core, "resume", mid, "--partner", "demo")
    assert resumed["mailing"]["state"] == "MAILING_STATE_RUNNING"
    code, listed, _ = await rcs(core, "list", "--partner", "demo")
    assert [m["spec"]["name"] for m in listed["mailings"]] == ["cli-1"]
    code, _, err = await rcs(core, "resume", mid)
    assert code == 1
    assert "MAILING_STATE_CONFLICT" in err
