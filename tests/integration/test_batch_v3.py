"""REST_BATCH v3 over real HTTP → real gRPC → core on PostgreSQL, with API keys issued
through the admin API."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2_grpc, settings_service_pb2_grpc
from rcs_core.auth.servicer import AuthServicer
from rcs_core.messages.servicer import MessageServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server, upsert_admin

pytestmark = pytest.mark.integration
Client = TestClient[web.Request, web.Application]
ADMIN = {"Authorization": "Basic " + base64.b64encode(b"root:correct horse").decode()}
PATH = "/api/batch/v3/messages"


@pytest.fixture
async def api(pool: Any, database_url: str) -> AsyncIterator[Client]:
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
    settings = RestSettings(auth_cache_seconds=0)  # a revoked key must stop at once
    client: Client = TestClient(TestServer(build_app(settings, channel), host="127.0.0.1"))
    await client.start_server()
    resp = await client.post(
        "/api/admin/v1/partners",
        json={
            "partner": {"login": "acme", "defaultSender": "ACME", "senders": ["TAXI"]},
            "password": "s3cret-pass",
        },
        headers=ADMIN,
    )
    assert resp.status == 201, await resp.text()
    yield client
    await client.close()
    await channel.close()
    await server.stop(0)
    await messages.close()


async def _key(api: Client) -> tuple[int, str]:
    resp = await api.post(
        "/api/admin/v1/partners/acme/api-keys", json={"note": "crm"}, headers=ADMIN
    )
    assert resp.status == 201, await resp.text()
    doc = await resp.json()
    assert len(doc["key"]) == 30
    assert doc["key"].isalnum()
    assert doc["apiKey"]["prefix"] == doc["key"][:6]
    return int(doc["apiKey"]["id"]), doc["key"]


async def test_batch_answers_every_message_in_order(api: Client) -> None:
    _, key = await _key(api)
    body = {
        "messages": [
            {"from": "ACME", "to": "79034567890", "text": "Code: 1234", "id": "a-1"},
            {"from": "ACME", "to": "12", "text": "Code: 1234", "id": "a-2"},
            {"from": "ACME", "to": "79034567891", "text": "x" * 2001},
            {
                "from": "ACME",
                "to": "79034567892",
                "text": "hi",
                "callbackUrl": "https://p.example/cb",
            },
            {
                "from": "TAXI",
                "to": " 89034567890",
                "text": "Длинный текст",
                "validity": 60,
                "priority": 3,
            },
            {"from": "ACME", "to": "79034567893", "text": "hi", "validity": 59},
        ]
    }
    resp = await api.post(PATH, json=body, headers={"Authorization": f"Key {key}"})
    assert resp.status == 200, await resp.text()
    result = (await resp.json())["result"]
    assert [r["code"] for r in result] == [
        "OK",
        "REJECTED",
        "REJECTED",
        "OK",
        "OK",
        "REJECTED",
    ]
    assert result[0]["id"] == "a-1"
    assert result[0]["messageId"].isdigit()
    assert result[1] == {
        "code": "REJECTED",
        "messageId": None,
        "reasons": [{"key": "invalid", "ref": "messages[1].to"}],
        "description": result[1]["description"],
        "id": "a-2",
    }
    assert result[2]["reasons"] == [{"key": "length.too.long", "ref": "messages[2].text"}]
    assert result[3]["messageId"].isdigit()  # its status reports go to its callbackUrl
    assert result[5]["reasons"] == [{"key": "invalid", "ref": "messages[5].validity"}]
    # The accepted ones are real messages of the key's partner.
    auth = {"Authorization": "Basic " + base64.b64encode(b"acme:s3cret-pass").decode()}
    status = await api.get(f"/api/v6/messages/{result[4]['messageId']}", headers=auth)
    assert status.status == 200
    assert (await status.json())["destAddr"] == "79034567890"
    # A repeated id answers the first message id.
    again = await api.post(
        PATH, json={"messages": [body["messages"][0]]}, headers={"Authorization": f"Key {key}"}
    )
    assert (await again.json())["result"][0]["messageId"] == result[0]["messageId"]


async def test_packet_level_refusals(api: Client) -> None:
    _, key = await _key(api)
    auth = {"Authorization": f"Key {key}"}
    for doc, status, reason in [
        ({"messages": []}, 400, {"key": "must.be.not.null", "ref": "messages"}),
        ({}, 400, {"key": "must.be.not.null", "ref": "messages"}),
        (
            {"messages": [{"from": "A", "to": "79030000000", "text": "x"}] * 3001},
            400,
            {"key": "too.many.messages", "ref": "messages"},
        ),
        (
            {
                "scheduleInfo": {"deadline": "2024-08-30T16:29:30+0300"},
                "messages": [{"from": "A", "to": "7903", "text": "x"}],
            },
            400,
            {"key": "invalid", "ref": "scheduleInfo.deadline"},
        ),
    ]:
        resp = await api.post(PATH, json=doc, headers=auth)
        assert resp.status == status
        answer = await resp.json()
        assert answer["code"] == "REJECTED"
        assert answer["reasons"] == [reason]
    resp = await api.post(PATH, data=b"{not json", headers=auth)
    assert resp.status == 400


async def test_wrong_missing_and_revoked_keys_are_refused(api: Client) -> None:
    key_id, key = await _key(api)
    one = {"messages": [{"from": "ACME", "to": "79034567890", "text": "hi"}]}
    for headers in ({}, {"Authorization": "Key wrongkey123"}, {"Authorization": f"Bearer {key}"}):
        resp = await api.post(PATH, json=one, headers=headers)
        assert resp.status == 401
        assert (await resp.json())["reasons"] == [{"key": "forbidden", "ref": ""}]
    assert (await api.post(PATH, json=one, headers={"Authorization": f"Key {key}"})).status == 200
    resp = await api.post(f"/api/admin/v1/partners/acme/api-keys/{key_id}:revoke", headers=ADMIN)
    assert resp.status == 200
    assert "revokeTime" in (await resp.json())["apiKey"]
    resp = await api.post(PATH, json=one, headers={"Authorization": f"Key {key}"})
    assert resp.status == 401
    listed = await (await api.get("/api/admin/v1/partners/acme/api-keys", headers=ADMIN)).json()
    assert [k["id"] for k in listed["apiKeys"]] == [str(key_id)]
    assert "key" not in listed["apiKeys"][0]


async def test_allowlist_refuses_rest_and_batch_from_other_addresses(api: Client) -> None:
    _, key = await _key(api)
    resp = await api.patch(
        "/api/admin/v1/partners/acme", json={"allowedSubnets": ["10.0.0.0/8"]}, headers=ADMIN
    )
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["partner"]["allowedSubnets"] == ["10.0.0.0/8"]
    # The test client connects from 127.0.0.1: outside the list.
    body = {
        "login": "acme",
        "password": "s3cret-pass",
        "destAddr": "79034567890",
        "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
    }
    resp = await api.post("/api/v6/send", json=body)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == 2  # Rapporto: Invalid IP-address
    one = {"messages": [{"from": "ACME", "to": "79034567890", "text": "hi"}]}
    resp = await api.post(PATH, json=one, headers={"Authorization": f"Key {key}"})
    assert resp.status == 403
    resp = await api.patch(
        "/api/admin/v1/partners/acme", json={"allowedSubnets": ["127.0.0.0/8"]}, headers=ADMIN
    )
    assert (await api.post("/api/v6/send", json=body)).status == 200
