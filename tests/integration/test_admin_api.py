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
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_core.auth.servicer import AuthServicer
from rcs_core.settings.servicer import SettingsServicer
from rcs_routing.servicer import RoutingServicer, TableHolder
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port
from tests.support import seed_demo, start_server, upsert_admin

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
    # The fixture's `rcs admin-user root` is a revision too (copied to a cluster's standbys).
    logins = [r["actor"]["login"] for r in revisions["revisions"]]
    assert logins == ["root"] * 3 + ["rcs admin-user"]

    undo = await api.post(f"/api/admin/v1/revisions/{first['revision']}:rollback", headers=ROOT)
    assert (await undo.json())["changedCount"] == 2
    view = await (await api.get("/api/admin/v1/partners/acme", headers=ROOT)).json()
    assert view["partner"]["blockDuplicates"] is False
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT count(*) FROM audit_log WHERE actor = 'root' AND action <> 'admin.login'"
        )
        assert await cur.fetchone() == (4,)


async def test_admin_sets_where_a_partner_gets_reports_and_mo(api: Client) -> None:
    created = await api.post(
        "/api/admin/v1/partners",
        json={"partner": {"login": "acme", "reportUrl": "https://acme.test/dlr"}, "password": "p"},
        headers=ROOT,
    )
    assert (await created.json())["partner"]["reportUrl"] == "https://acme.test/dlr"
    patched = await api.patch(
        "/api/admin/v1/partners/acme", json={"inboundUrl": "https://acme.test/mo"}, headers=ROOT
    )
    partner = (await patched.json())["partner"]
    assert (partner["reportUrl"], partner["inboundUrl"]) == (
        "https://acme.test/dlr",
        "https://acme.test/mo",
    )
    bad = await api.patch(
        "/api/admin/v1/partners/acme", json={"reportUrl": "mailto:x@acme.test"}, headers=ROOT
    )
    assert bad.status == 400
    assert "report_url" in (await bad.text())


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


async def test_admin_manages_routing_policy(api: Client, database_url: str) -> None:
    put = await api.put(
        "/api/admin/v1/interfaces/if-a",
        json={"host": "smsc", "port": 2775, "systemId": "rcs", "password": "pw", "enabled": True},
        headers=ROOT,
    )
    assert put.status == 200, await put.text()
    await api.put("/api/admin/v1/operators/Op", json={"interfaceIds": ["if-a"]}, headers=ROOT)
    direction = await api.put(
        "/api/admin/v1/directions/Moscow",
        json={
            "operator": "Op",
            "prefixes": ["7916"],
            "ranges": [{"start": 79250000000, "end": 79259999999}],
        },
        headers={**ROOT, "Idempotency-Key": "d-1"},
    )
    assert direction.status == 200, await direction.text()
    assert (await direction.json())["direction"]["source"] == "manual"
    listed = await (
        await api.get("/api/admin/v1/directions?operator=Op&pageSize=10", headers=ROOT)
    ).json()
    assert [(d["name"], d["ranges"]) for d in listed["directions"]] == [
        ("Moscow", [{"start": "79250000000", "end": "79259999999"}])  # int64: JSON strings
    ]
    assert (await api.get("/api/admin/v1/directions?operator=Other", headers=ROOT)).status == 200

    rule = {"priority": 5, "enabled": True, "direction": "Moscow", "channel": "CHANNEL_SMS"}
    put = await api.put(
        "/api/admin/v1/routing-rules/moscow-sms",
        json={**rule, "targets": [{"interfaceId": "if-a"}]},
        headers=ROOT,
    )
    stored = await put.json()
    assert stored["rule"]["targets"] == [{"interfaceId": "if-a", "weight": 1}]
    assert int(stored["revision"]) > 0
    again = await api.put(
        "/api/admin/v1/routing-rules/moscow-sms",
        json={**rule, "targets": [{"interfaceId": "if-a"}]},
        headers=ROOT,
    )
    assert (await again.json())["revision"] == "0"
    dangling = await api.put(
        "/api/admin/v1/routing-rules/r2",
        json={**rule, "targets": [{"interfaceId": "nope"}]},
        headers=ROOT,
    )
    assert dangling.status == 400
    assert "nope" in (await dangling.json())["extendedDescription"]
    in_use = await api.delete("/api/admin/v1/directions/Moscow", headers=ROOT)
    assert in_use.status == 400
    assert "moscow-sms" in (await in_use.json())["extendedDescription"]
    assert (await api.delete("/api/admin/v1/routing-rules/moscow-sms", headers=ROOT)).status == 200
    assert (await api.delete("/api/admin/v1/directions/Moscow", headers=ROOT)).status == 200
    assert (await api.delete("/api/admin/v1/directions/Moscow", headers=ROOT)).status == 404

    hours = await api.put(
        "/api/admin/v1/traffic-policies/2",
        json={"allowedFrom": "22:00", "allowedTo": "06:00", "outside": "OUTSIDE_HOURS_REFUSE"},
        headers=ROOT,
    )
    assert (await hours.json())["policy"]["trafficType"] == 2
    policies = await (await api.get("/api/admin/v1/traffic-policies", headers=ROOT)).json()
    assert [p["trafficType"] for p in policies["policies"]] == [0, 2, 7]
    assert (await api.put("/api/admin/v1/traffic-policies/x", json={}, headers=ROOT)).status == 400
    zone = await api.put(
        "/api/admin/v1/region-time-zones",
        json={"region": "Omsk", "timeZone": "Asia/Omsk"},
        headers=ROOT,
    )
    assert zone.status == 200
    bad_zone = await api.put(
        "/api/admin/v1/region-time-zones",
        json={"region": "Omsk", "timeZone": "Asia/Nowhere"},
        headers=ROOT,
    )
    assert bad_zone.status == 400
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT time_zone FROM region_time_zones WHERE region = 'Omsk'")
        assert await cur.fetchall() == [("Asia/Omsk",)]
    tariff = {"channel": "CHANNEL_SMS", "price": "0.95", "validFrom": "2026-12-01T00:00:00Z"}
    put = await api.put("/api/admin/v1/tariffs", json=tariff, headers=ROOT)
    assert put.status == 200, await put.text()
    assert (await put.json())["tariff"]["price"] == "0.9500"
    listed = await (await api.get("/api/admin/v1/tariffs", headers=ROOT)).json()
    assert [t["price"] for t in listed["tariffs"]] == ["0.9500"]
    bad = await api.put("/api/admin/v1/tariffs", json={"price": "cheap"}, headers=ROOT)
    assert bad.status == 400
    gone = await api.post("/api/admin/v1/tariffs:delete", json=tariff, headers=ROOT)
    assert gone.status == 200, await gone.text()
    assert (await (await api.get("/api/admin/v1/tariffs", headers=ROOT)).json()) == {"tariffs": []}


async def test_admin_manages_mailing_white_lists(api: Client) -> None:
    await api.post(
        "/api/admin/v1/partners",
        json={"partner": {"login": "acme"}, "password": "pw-12345"},
        headers=ROOT,
    )
    url = "/api/admin/v1/whitelists/acme/promo-1"
    added = await api.post(
        url,
        json={"entries": [{"number": "+7 916 000-00-01"}, {"number": "79160000002", "note": "qa"}]},
        headers={**ROOT, "Idempotency-Key": "w-1"},
    )
    assert (await added.json())["addedCount"] == 2
    listed = await (await api.get(f"{url}?pageSize=1", headers=ROOT)).json()
    assert [(e["partner"], e["mailing"], e["number"]) for e in listed["entries"]] == [
        ("acme", "promo-1", "79160000001")
    ]
    assert listed["nextPageToken"]
    removed = await api.post(
        f"{url}:remove", json={"entries": [{"number": "79160000001"}]}, headers=ROOT
    )
    assert (await removed.json())["removedCount"] == 1
    rest = await (await api.get(url, headers=ROOT)).json()
    assert [e["number"] for e in rest["entries"]] == ["79160000002"]
    ghost = await api.post(
        "/api/admin/v1/whitelists/ghost/promo",
        json={"entries": [{"number": "79160000001"}]},
        headers=ROOT,
    )
    assert ghost.status == 404


async def test_admin_manages_inbound_routes(api: Client, database_url: str) -> None:
    created = await api.post(
        "/api/admin/v1/partners",
        json={"partner": {"login": "shop", "maxSmppSessions": 2}, "password": "pw-12345"},
        headers=ROOT,
    )
    assert (await created.json())["partner"]["maxSmppSessions"] == 2
    patched = await api.patch(
        "/api/admin/v1/partners/shop", json={"maxSmppSessions": 5}, headers=ROOT
    )
    assert (await patched.json())["partner"]["maxSmppSessions"] == 5
    route = {
        "number": "+4444",
        "keyword": "balance|баланс",
        "partner": "shop",
        "unavailableText": "Сервис временно недоступен",
        "sessionKeyword": "chat|чат",
        "sessionCloseKeyword": "stop",
        "sessionSeconds": 900,
        "sessionOpenText": "Чат открыт",
        "sessionCloseText": "Чат закрыт",
        "sessionExpiredText": "Чат истёк",
    }
    put = await api.put(
        "/api/admin/v1/inbound-routes/shop-balance",
        json={**route, "format": "REPORT_FORMAT_REST_V6"},
        headers={**ROOT, "Idempotency-Key": "ir-1"},
    )
    assert put.status == 200, await put.text()
    stored = await put.json()
    assert stored["route"] == {
        "name": "shop-balance",
        "number": "4444",
        "keyword": "balance|баланс",
        "partner": "shop",
        "format": "REPORT_FORMAT_REST_V6",
        "unavailableText": "Сервис временно недоступен",
        "timeoutSeconds": 0,
        "sessionKeyword": "chat|чат",
        "sessionCloseKeyword": "stop",
        "sessionSeconds": 900,
        "sessionOpenText": "Чат открыт",
        "sessionCloseText": "Чат закрыт",
        "sessionExpiredText": "Чат истёк",
    }
    assert int(stored["revision"]) > 0
    numeric = await api.put(  # protobuf's JSON mapping takes the enum's number too
        "/api/admin/v1/inbound-routes/shop-balance", json={**route, "format": 3}, headers=ROOT
    )
    assert (await numeric.json())["revision"] == "0"
    bad = await api.put(
        "/api/admin/v1/inbound-routes/shop-bad",
        json={**route, "keyword": "balance(", "format": "REPORT_FORMAT_SMPP"},
        headers=ROOT,
    )
    assert bad.status == 400
    assert "at position 7" in (await bad.json())["extendedDescription"]
    endless = await api.put(
        "/api/admin/v1/inbound-routes/shop-bad",
        json={**route, "keyword": "x", "sessionSeconds": 0, "format": "REPORT_FORMAT_SMPP"},
        headers=ROOT,
    )
    assert endless.status == 400
    assert "needs session_seconds" in (await endless.json())["extendedDescription"]
    taken = await api.put(
        "/api/admin/v1/inbound-routes/shop-again",
        json={**route, "format": "REPORT_FORMAT_SMPP"},
        headers=ROOT,
    )
    assert taken.status == 400
    assert "'shop-balance' already takes" in (await taken.json())["extendedDescription"]
    listed = await (await api.get("/api/admin/v1/inbound-routes?pageSize=5", headers=ROOT)).json()
    assert [r["name"] for r in listed["routes"]] == ["shop-balance"]
    gone = await api.delete("/api/admin/v1/inbound-routes/shop-balance", headers=ROOT)
    assert gone.status == 200
    missing = await api.delete("/api/admin/v1/inbound-routes/shop-balance", headers=ROOT)
    assert missing.status == 404
    undo = await api.post(f"/api/admin/v1/revisions/{stored['revision']}:rollback", headers=ROOT)
    assert (await undo.json())["changedCount"] == 1
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT name, number, format, session_keyword, session_seconds,"
            " session_expired_text FROM inbound_routes"
        )
        assert await cur.fetchall() == [("shop-balance", "4444", 3, "chat|чат", 900, "Чат истёк")]


async def test_admin_explains_a_route(pool: Any, database_url: str) -> None:
    """POST /api/admin/v1/route:explain answers what `rcs route explain` prints."""
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)
    await upsert_admin(database_url, "root", "correct horse")
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO routing_rules (name, priority, partner) VALUES ('demo-only', 1, 'demo');"
            "INSERT INTO routing_rule_targets (rule, position, interface_id)"
            " VALUES ('demo-only', 1, 'smsc-sim')"
        )
        await conn.commit()
    holder = TableHolder(pool)
    await holder.load()
    server = await start_server(
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
        lambda s: routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(
            RoutingServicer(holder), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    client: Client = TestClient(
        TestServer(build_app(RestSettings(), channel, channel), host="127.0.0.1")
    )
    await client.start_server()
    try:
        query = {"destination": "79161234567", "sender": "RCS", "partner": "demo"}
        resp = await client.post("/api/admin/v1/route:explain", json=query, headers=ROOT)
        assert resp.status == 200, await resp.text()
        doc = await resp.json()
        assert doc["route"]["interfaceId"] == "smsc-sim"
        assert doc["route"]["rule"] == "demo-only"
        assert doc["rules"][0] == {
            "name": "demo-only",
            "priority": 1,
            "verdict": "RULE_VERDICT_KIND_CHOSEN",
            "reason": "personal rule, best rank",
        }
        assert any("prefix 7" in step for step in doc["steps"])
        resp = await client.post("/api/admin/v1/route:explain", json=query)
        assert resp.status == 401
        resp = await client.post(
            "/api/admin/v1/route:explain", json={"destination": 5}, headers=ROOT
        )
        assert resp.status == 400
    finally:
        await client.close()
        await channel.close()
        await server.stop(0)


async def test_admin_api_answers_503_with_retry_after_while_core_is_down() -> None:
    """A refusal worth retrying (SERVICE_UNAVAILABLE: nothing listens where core should)
    carries Retry-After on the admin API as on the partner APIs."""
    channel = open_channel(f"127.0.0.1:{free_port()}")
    settings = RestSettings(rpc_timeout_seconds=1)
    client: Client = TestClient(TestServer(build_app(settings, channel), host="127.0.0.1"))
    await client.start_server()
    try:
        answer = await client.get("/api/admin/v1/partners", headers=ROOT)
        assert (answer.status, answer.headers.get("Retry-After")) == (503, "1")
        assert (await answer.json())["error"]["code"] == 1
    finally:
        await client.close()
        await channel.close()
