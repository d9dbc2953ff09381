"""`rcs settings …` against a real core SettingsService on PostgreSQL."""

from __future__ import annotations

import json
import os
from typing import Any

import psycopg
import pytest

from rcs_core.auth import partners_store as partners
from tests.forked import rcs

pytestmark = pytest.mark.integration


async def _cli(port: int, *args: str) -> tuple[int, str]:
    env = {**os.environ, "RCS_CORE_TARGET": f"127.0.0.1:{port}", "RCS_ACTOR": "ops"}
    code, out, _ = await rcs("settings", *args, env=env, stderr_to_stdout=True)
    return code, out


async def test_routing_rule_put_and_list(core_port: int, database_url: str, tmp_path: Any) -> None:
    interface = {"id": "if-a", "host": "smsc", "port": 2775, "systemId": "rcs", "password": "pw"}
    code, out = await _cli(core_port, "interfaces", "put", "--json", json.dumps(interface))
    assert code == 0, out
    assert json.loads(out)["interface"]["password"] == ""  # write-only

    rule = {
        "name": "sms-a",
        "priority": 10,
        "enabled": True,
        "channel": "CHANNEL_SMS",
        "targets": [{"interfaceId": "if-a", "weight": 2}],
    }
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(rule))
    code, out = await _cli(core_port, "routing-rules", "put", "--file", str(path))
    assert code == 0, out
    put = json.loads(out)
    assert int(put["revision"]) > 0
    code, out = await _cli(core_port, "routing-rules", "put", "--json", json.dumps(rule))
    assert (code, json.loads(out)["revision"]) == (0, "0")  # unchanged: no revision

    code, out = await _cli(core_port, "routing-rules", "list")
    assert code == 0, out
    listed = json.loads(out)
    assert [(r["name"], r["channel"], r["targets"]) for r in listed] == [
        ("sms-a", "CHANNEL_SMS", [{"interfaceId": "if-a", "weight": 2}])
    ]
    code, out = await _cli(core_port, "routing-rules", "get", "sms-a")
    assert (code, json.loads(out)["priority"]) == (0, 10)

    dangling = {**rule, "name": "sms-b", "targets": [{"interfaceId": "nope"}]}
    code, out = await _cli(core_port, "routing-rules", "put", "--json", json.dumps(dangling))
    assert code == 1
    assert "INVALID_REQUEST" in out
    assert "'nope'" in out
    code, out = await _cli(core_port, "routing-rules", "get", "sms-b")
    assert code == 1
    assert "NOT_FOUND" in out

    code, out = await _cli(core_port, "revisions", "list", "--limit", "1")
    revision = json.loads(out)[0]
    assert revision["actor"] == {"login": "ops", "remoteIp": "cli"}
    assert revision["summary"] == "put routing rule sms-a"

    code, out = await _cli(core_port, "routing-rules", "delete", "sms-a")
    assert code == 0, out
    code, out = await _cli(core_port, "rollback", revision["revision"])
    assert code == 0, out
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT interface_id, weight FROM routing_rule_targets")
        assert await cur.fetchall() == [("if-a", 2)]


async def test_number_lists(core_port: int) -> None:
    partner = {"login": "acme", "password": "pw-12345", "defaultSender": "ACME"}
    code, out = await _cli(core_port, "partners", "put", "--json", json.dumps(partner))
    assert code == 0, out
    code, out = await _cli(
        core_port,
        "partners",
        "put",
        "--json",
        '{"login": "acme", "blockDuplicates": true, "maxSmppSessions": 4}',
    )
    changed = json.loads(out)["partner"]
    assert (changed["blockDuplicates"], changed["maxSmppSessions"]) == (True, 4)
    urls = {"login": "acme", "reportUrl": "https://acme.test/dlr", "inboundUrl": ""}
    code, out = await _cli(core_port, "partners", "put", "--json", json.dumps(urls))
    assert (code, json.loads(out)["partner"]["reportUrl"]) == (0, "https://acme.test/dlr"), out
    code, out = await _cli(
        core_port, "partners", "put", "--json", '{"login": "acme", "reportUrl": "acme.test"}'
    )
    assert code == 1
    assert "report_url must be an absolute http:// or https:// URL" in out
    # The login's service type: what its plain HTTP v5 requests send (SMS by default).
    assert changed["serviceType"] == "SMS"
    code, out = await _cli(
        core_port, "partners", "put", "--json", '{"login": "acme", "serviceType": "VIBER"}'
    )
    assert (code, json.loads(out)["partner"]["serviceType"]) == (0, "VIBER"), out
    code, out = await _cli(
        core_port, "partners", "put", "--json", '{"login": "acme", "serviceType": "FAX"}'
    )
    assert code == 1
    assert "service_type must be one of FLASHINGCALL, PUSH, SMS, VIBER, VK, WHATSAPP" in out
    code, out = await _cli(
        core_port, "whitelist", "add", "--partner", "acme", "--mailing", "promo", "+79160000001"
    )
    assert (code, json.loads(out)["addedCount"]) == (0, 1), out
    code, out = await _cli(
        core_port, "whitelist", "list", "--partner", "acme", "--mailing", "promo"
    )
    assert [e["number"] for e in json.loads(out)] == ["79160000001"]
    code, out = await _cli(core_port, "blacklist", "add", "--note", "opt-out", "79160000009")
    assert (code, json.loads(out)["addedCount"]) == (0, 1), out
    code, out = await _cli(core_port, "blacklist", "add", "--keep-in-mailings", "79160000008")
    assert (code, json.loads(out)["addedCount"]) == (0, 1), out
    code, out = await _cli(core_port, "blacklist", "list")
    kept = {e["number"]: e.get("keepInMailings", False) for e in json.loads(out)}
    assert kept == {"79160000009": False, "79160000008": True}, out
    code, out = await _cli(core_port, "blacklist", "remove", "79160000008")
    assert json.loads(out)["removedCount"] == 1
    code, out = await _cli(core_port, "blacklist", "remove", "79160000009")
    assert json.loads(out)["removedCount"] == 1
    code, out = await _cli(
        core_port, "whitelist", "add", "--partner", "ghost", "--mailing", "m", "79160000001"
    )
    assert code == 1
    assert "NOT_FOUND" in out


async def test_api_keys_are_issued_once_listed_without_secret_and_revoked(
    core_port: int, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "keyed", "pw")
        await conn.commit()
    code, out = await _cli(core_port, "api-keys", "create", "--partner", "keyed", "--note", "crm")
    assert code == 0, out
    issued = json.loads(out)
    assert len(issued["key"]) == 30
    code, out = await _cli(core_port, "api-keys", "list", "--partner", "keyed")
    listed = json.loads(out)["apiKeys"]
    assert [k["prefix"] for k in listed] == [issued["key"][:6]]
    assert issued["key"] not in out
    code, out = await _cli(
        core_port, "api-keys", "revoke", "--partner", "keyed", issued["apiKey"]["id"]
    )
    assert code == 0, out
    assert "revokeTime" in json.loads(out)["apiKey"]
    code, out = await _cli(core_port, "api-keys", "list", "--partner", "nobody")
    assert code == 1
    assert "NOT_FOUND" in out


async def test_inbound_routes_put_get_list_and_delete(core_port: int, database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "shop", "pw")
        await conn.commit()
    route = {
        "name": "shop-all",
        "number": "4444",
        "partner": "shop",
        "format": "REPORT_FORMAT_SMPP",
        "sessionKeyword": "quiz",
        "sessionSeconds": 600,
        "sessionOpenText": "Викторина началась",
    }
    code, out = await _cli(core_port, "inbound-routes", "put", "--json", json.dumps(route))
    assert code == 0, out
    assert int(json.loads(out)["revision"]) > 0
    code, out = await _cli(core_port, "inbound-routes", "get", "shop-all")
    assert (code, json.loads(out)) == (
        0,
        {
            "name": "shop-all",
            "number": "4444",
            "keyword": "",
            "partner": "shop",
            "format": "REPORT_FORMAT_SMPP",
            "unavailableText": "",
            "timeoutSeconds": 0,
            "sessionKeyword": "quiz",
            "sessionCloseKeyword": "",
            "sessionSeconds": 600,
            "sessionOpenText": "Викторина началась",
            "sessionCloseText": "",
            "sessionExpiredText": "",
        },
    ), out
    code, out = await _cli(core_port, "inbound-routes", "list")
    assert [r["name"] for r in json.loads(out)] == ["shop-all"]
    bad = {**route, "name": "shop-re", "keyword": "[stop"}
    code, out = await _cli(core_port, "inbound-routes", "put", "--json", json.dumps(bad))
    assert code == 1
    assert "INVALID_REQUEST" in out
    assert "unterminated character set at position 0" in out
    bad = {**route, "name": "shop-re", "sessionCloseKeyword": "stop("}
    code, out = await _cli(core_port, "inbound-routes", "put", "--json", json.dumps(bad))
    assert code == 1
    assert "session_close_keyword 'stop(' is not a regular expression" in out
    code, out = await _cli(core_port, "inbound-routes", "delete", "shop-all")
    assert code == 0, out
    code, out = await _cli(core_port, "inbound-routes", "get", "shop-all")
    assert code == 1
    assert "NOT_FOUND" in out
