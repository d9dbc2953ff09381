"""Partner channels and messenger interfaces through the admin API and `rcs settings`
(issue 17, Deliver 4), against a real core SettingsService on PostgreSQL: secrets are
write-only, changes are revisions with the actor, deletes work by key."""

from __future__ import annotations

import json

import psycopg
import pytest

from tests.integration.test_admin_api import ROOT, Client, api  # noqa: F401 (the fixture)
from tests.integration.test_settings_cli import _cli

pytestmark = pytest.mark.integration
VIBER_A = {
    "channel": "CHANNEL_VIBER",
    "priority": 1,
    "enabled": True,
    "apiUrl": "https://chatapi.viber.com",
    "token": "secret-a",
}


async def test_admin_manages_partner_channels_and_messenger_interfaces(
    api: Client,  # noqa: F811 (the fixture)
    database_url: str,
) -> None:
    await api.post(
        "/api/admin/v1/partners",
        json={"partner": {"login": "acme"}, "password": "pw-12345"},
        headers=ROOT,
    )
    pc = {
        "partner": "acme",
        "channel": "CHANNEL_WHATSAPP",
        "identities": ["79001112233"],
        "templates": [{"name": "otp", "language": "ru", "parameterCount": 1}],
        "defaultTtlSeconds": 86400,
    }
    put = await api.put("/api/admin/v1/partner-channels", json=pc, headers=ROOT)
    assert put.status == 200, await put.text()
    assert (await put.json())["partnerChannel"]["templates"][0]["name"] == "otp"
    listed = await (
        await api.get("/api/admin/v1/partner-channels?partner=acme", headers=ROOT)
    ).json()
    assert [p["channel"] for p in listed["partnerChannels"]] == ["CHANNEL_WHATSAPP"]
    bad = await api.put(
        "/api/admin/v1/partner-channels", json={**pc, "channel": "CHANNEL_SMS"}, headers=ROOT
    )
    assert bad.status == 400
    gone = await api.post(
        "/api/admin/v1/partner-channels:delete",
        json={"partner": "acme", "channel": "CHANNEL_WHATSAPP"},
        headers=ROOT,
    )
    assert gone.status == 200, await gone.text()

    put = await api.put("/api/admin/v1/messenger-interfaces/viber-a", json=VIBER_A, headers=ROOT)
    assert put.status == 200, await put.text()
    assert (await put.json())["messengerInterface"]["token"] == ""  # write-only
    # A change without the token keeps the stored one.
    moved = await api.put(
        "/api/admin/v1/messenger-interfaces/viber-a",
        json={**VIBER_A, "token": "", "priority": 5},
        headers=ROOT,
    )
    assert moved.status == 200, await moved.text()
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT priority, token FROM messenger_interfaces")
        assert await cur.fetchall() == [(5, "secret-a")]
    audit = await (await api.get("/api/admin/v1/audit?limit=1", headers=ROOT)).json()
    assert "secret-a" not in json.dumps(audit)
    no_token = await api.put(
        "/api/admin/v1/messenger-interfaces/viber-b", json={**VIBER_A, "token": ""}, headers=ROOT
    )
    assert no_token.status == 400
    deleted = await api.delete("/api/admin/v1/messenger-interfaces/viber-a", headers=ROOT)
    assert deleted.status == 200, await deleted.text()
    listed = await (await api.get("/api/admin/v1/messenger-interfaces", headers=ROOT)).json()
    assert listed == {"messengerInterfaces": []}


async def test_cli_manages_partner_channels_and_messenger_interfaces(
    core_port: int, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute("INSERT INTO partners (login, password_hash) VALUES ('acme', 'x')")
        await conn.commit()
    pc = {"partner": "acme", "channel": "CHANNEL_VIBER", "identities": ["ShopA"]}
    code, out = await _cli(core_port, "partner-channels", "put", "--json", json.dumps(pc))
    assert code == 0, out
    assert int(json.loads(out)["revision"]) > 0
    code, out = await _cli(core_port, "partner-channels", "list", "--partner", "acme")
    assert (code, [p["identities"] for p in json.loads(out)]) == (0, [["ShopA"]])
    code, out = await _cli(
        core_port, "partner-channels", "delete", "--partner", "acme", "--channel", "viber"
    )
    assert code == 0, out
    code, out = await _cli(
        core_port, "messenger-interfaces", "put", "--json", json.dumps({**VIBER_A, "id": "viber-a"})
    )
    assert code == 0, out
    code, out = await _cli(core_port, "messenger-interfaces", "list")
    assert (code, [(i["id"], i["token"]) for i in json.loads(out)]) == (0, [("viber-a", "")])
    code, out = await _cli(core_port, "messenger-interfaces", "delete", "viber-a")
    assert code == 0, out
    code, out = await _cli(core_port, "messenger-interfaces", "delete", "viber-a")
    assert code == 1
    assert "NOT_FOUND" in out
