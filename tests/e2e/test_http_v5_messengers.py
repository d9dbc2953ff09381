"""Plain HTTP API v5 requests (no order_list) of logins whose service is VIBER, WHATSAPP, VK
or FLASHINGCALL, over real sockets: every RCS process real plus the messenger service and
the four providers' simulators. The administrator sets each login's service type through
the admin API (audited); the partner's GET reaches the provider as that provider's request,
and DELIVERED then READ (a flash call: DELIVERED only) reach the partner's report URL as
http_status.rst's GET (msgType, transactionId, status 2 / 9)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.installation import ADMIN_LOGIN, ADMIN_PASSWORD, Installation, http, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_viber import _listening, _ports, rows, viber_env
from tests.e2e.test_vk_flashcall import messenger_env
from tests.e2e.test_whatsapp import READS as WA_READS
from tests.e2e.test_whatsapp import whatsapp_env

pytestmark = pytest.mark.e2e
ADMIN = {
    "Authorization": "Basic "
    + base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()
}
VIBER_READS, VK_READS, FC_RINGS = "79170000041", "79170000042", "79170000043"


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, ReportSink, dict[str, int]]]:
    sink = ReportSink()
    await sink.start()
    names = ["grpc", "webhook", "vk", "fc", "viber", "wa"]
    ports = dict(zip(names, _ports(installation, len(names)), strict=True))
    installation.extra_env.update(
        {
            **messenger_env(ports),
            **whatsapp_env(ports["webhook"], ports["wa"]),
            **viber_env(ports["grpc"], ports["webhook"], ports["viber"], f"{VIBER_READS}=read"),
        }
    )
    try:
        installation.start()
        installation.start(
            "viber-simulator",
            "whatsapp-simulator",
            "vk-simulator",
            "flashcall-simulator",
            "messengers",
        )
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in ports.values():
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield installation, sink, ports
    finally:
        await sink.stop()


async def admin(inst: Installation, method: str, path: str, doc: Any = None) -> Any:
    code, answer = await asyncio.to_thread(
        http, method, inst.url(f"/api/admin/v1{path}"), doc, headers=ADMIN
    )
    assert code in (200, 201), answer
    return answer


async def sim(ports: dict[str, int], which: str, path: str) -> Any:
    code, doc = await asyncio.to_thread(http, "GET", f"http://127.0.0.1:{ports[which]}{path}")
    assert code == 200, doc
    return doc


def v5_reports(sink: ReportSink, message_id: str) -> list[tuple[str, str]]:
    return [(r["msgType"], r["status"]) for r in sink.of("transactionId", message_id)]


async def test_plain_v5_requests_of_each_service_type_reach_their_provider_and_report(
    rig: tuple[Installation, ReportSink, dict[str, int]],
) -> None:
    inst, sink, ports = rig
    # The demo login becomes a Viber service through the admin API; three more logins
    # are created with the other types. Each change is a revision in the audit log.
    await admin(inst, "PATCH", "/partners/demo", {"serviceType": "VIBER", "reportUrl": sink.url()})
    for login, kind, sender, channel in (
        ("wa", "WHATSAPP", "RCS", "CHANNEL_WHATSAPP"),
        ("vkp", "VK", "mygroup", "CHANNEL_VK"),
        ("fc", "FLASHINGCALL", "RCS", "CHANNEL_FLASH_CALL"),
    ):
        partner = {
            "login": login,
            "defaultSender": sender,
            "serviceType": kind,
            "reportUrl": sink.url(),
        }
        made = await admin(
            inst, "POST", "/partners", {"partner": partner, "password": f"{login}-pw"}
        )
        assert made["partner"]["serviceType"] == kind
        # A new partner has no messenger channel until it is granted one.
        await admin(inst, "PUT", "/partner-channels", {"partner": login, "channel": channel})
    audit = await admin(inst, "GET", "/audit?actor=" + ADMIN_LOGIN)
    targets = [e["target"] for e in audit["entries"]]
    assert "update partner demo: report_url, service_type" in targets, targets
    assert "create partner vkp" in targets, targets

    async def v5(login: str, password: str, **params: str) -> str:
        query = urlencode({"serviceId": login, "pass": password, **params})
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.get(inst.url(f"/api/http/v5/send?{query}"))
        assert resp.status_code == 200, resp.text
        first, message_id = resp.text.split("\n")
        assert first == "OK"
        return message_id

    viber = await v5(
        "demo",
        "demo",
        clientId=VIBER_READS,
        message="Заказ готов",
        imageUrl="https://shop.example/i.png",
        buttonText="Открыть",
        buttonLink="https://shop.example/o/1",
        viberTtl="120",
    )
    whatsapp = await v5("wa", "wa-pw", clientId=WA_READS, message="Ваш заказ в пути")
    vk = await v5("vkp", "vkp-pw", clientId=VK_READS, message="Ваш заказ готов")
    call = await v5("fc", "fc-pw", clientId=FC_RINGS, message="Ваш код 4821")

    expected = {
        viber: [("VIBER", "2"), ("VIBER", "9")],
        whatsapp: [("WHATSAPP", "2"), ("WHATSAPP", "9")],
        vk: [("VK", "2"), ("VK", "9")],
        call: [("FLASHINGCALL", "2")],
    }

    def done() -> bool:
        return all(len(v5_reports(sink, m)) >= len(want) for m, want in expected.items())

    assert await wait_until(done, within=60), (sink.reports, inst.logs())
    await asyncio.sleep(2)  # a report sent twice would come by now
    assert {m: v5_reports(sink, m) for m in expected} == expected

    # Each provider got its own request, from the login's sender.
    (got,) = await sim(ports, "viber", "/sim/messages")
    assert (got["receiver"], got["type"], got["sender"]["name"]) == (
        VIBER_READS,
        "rich_media",
        "RCS",
    )
    buttons = got["rich_media"]["Buttons"]
    assert buttons[0]["Image"] == "https://shop.example/i.png"
    assert buttons[1]["Text"] == "Заказ готов"
    assert (buttons[2]["ActionBody"], buttons[2]["Text"]) == ("https://shop.example/o/1", "Открыть")
    assert (got["tracking_data"], 60 <= got["ttl"] <= 120) == (viber, True)
    (wa,) = await sim(ports, "wa", "/sim/messages")
    assert (wa["to"], wa["type"], wa["text"]["body"]) == (WA_READS, "text", "Ваш заказ в пути")
    (sent,) = await sim(ports, "vk", "/sim/messages")
    assert (sent["phone"], sent["message"], sent["random_id"]) == (VK_READS, "Ваш заказ готов", vk)
    (rang,) = await sim(ports, "fc", "/sim/calls")
    assert (rang["number"], rang["code"], rang["externalId"]) == (FC_RINGS, "4821", call)
    stored = await rows(
        inst,
        "SELECT id::text, channel, status FROM messages WHERE id = ANY(%s::bigint[])"
        " ORDER BY channel",
        [int(m) for m in expected],
    )
    assert stored == [(viber, 3, 7), (whatsapp, 4, 7), (vk, 5, 7), (call, 6, 3)]  # READ, DELIVERED
