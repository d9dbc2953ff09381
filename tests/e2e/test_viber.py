"""Viber over real sockets: every RCS process real (core, dispatcher with the cascade
engine, routing, SMPP connector, SMSC simulator, REST gateway) plus the messenger service
(rcs serve messengers) and the Viber simulator (rcs serve viber-simulator), which calls the
messenger service's webhook with signed callbacks."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from tests.conftest import free_port
from tests.e2e.installation import Installation, http, wait_until
from tests.e2e.push_stand_in import ReportSink

pytestmark = pytest.mark.e2e
TOKEN = "viber-test-token"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}
READS, SILENT, UNSUBSCRIBED = "79170000001", "79170000002", "79170000003"


class Viber:
    """The simulator's control API and the messenger service's webhook, as a test uses them."""

    def __init__(self, sim_port: int, webhook_port: int) -> None:
        self.sim = f"http://127.0.0.1:{sim_port}"
        self.webhook = f"http://127.0.0.1:{webhook_port}/viber/webhook"

    async def get(self, path: str) -> Any:
        code, doc = await asyncio.to_thread(http, "GET", self.sim + path)
        assert code == 200, doc
        return doc

    async def post_callback(self, body: str, signature: str) -> int:
        headers = {"Content-Type": "application/json", "X-Viber-Content-Signature": signature}
        code, _ = await asyncio.to_thread(
            http, "POST", self.webhook, body.encode(), headers=headers
        )
        return code


def _ports(inst: Installation, n: int) -> list[int]:
    """``n`` free ports, none of them one the installation already picked."""
    taken, out = set(inst.ports.values()), list[int]()
    while len(out) < n:
        port = free_port()
        if port not in taken:
            taken.add(port)
            out.append(port)
    return out


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def viber_env(grpc_port: int, webhook_port: int, sim_port: int, outcomes: str) -> dict[str, str]:
    """The messenger service with the Viber account, and the Viber simulator calling it."""
    return {
        "RCS_MESSENGERS_TARGET": f"127.0.0.1:{grpc_port}",
        "RCS_MESSENGERS_INTERFACE_ID": "viber-main",
        "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc_port}",
        "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook_port),
        "RCS_VIBER_API_URL": f"http://127.0.0.1:{sim_port}",
        "RCS_VIBER_AUTH_TOKEN": TOKEN,
        "RCS_VIBER_SIM_PORT": str(sim_port),
        "RCS_VIBER_SIM_AUTH_TOKEN": TOKEN,
        "RCS_VIBER_SIM_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/viber/webhook",
        "RCS_VIBER_SIM_OUTCOMES": outcomes,
    }


@pytest.fixture
async def rig(installation: Installation) -> AsyncIterator[tuple[Installation, Viber, ReportSink]]:
    sink = ReportSink()
    await sink.start()
    grpc_port, webhook_port, sim_port = _ports(installation, 3)
    installation.extra_env.update(
        {
            **viber_env(
                grpc_port,
                webhook_port,
                sim_port,
                f"{READS}=read,{SILENT}=silent,{UNSUBSCRIBED}=unsubscribed",
            ),
            "RCS_CASCADE_POLL_SECONDS": "0.5",
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("viber-simulator", "messengers")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (sim_port, webhook_port, grpc_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield installation, Viber(sim_port, webhook_port), sink
    finally:
        await sink.stop()


def viber_message(kind: str, data: dict[str, Any], ttl: int = 60) -> dict[str, Any]:
    return {
        "type": "VIBER",
        "data": {
            "instantContent": {"type": kind, "data": data},
            "serviceNumber": "RCS",
            "ttl": ttl,
            "ttlUnit": "SECONDS",
        },
    }


def v6_send(number: str, message: dict[str, Any], sink: ReportSink, ref: str) -> dict[str, Any]:
    return {
        "login": "demo",
        "password": "demo",
        "id": ref,
        "destAddr": number,
        "registeredDelivery": 1,
        "notifyUrl": sink.url(),
        "message": message,
    }


async def send(inst: Installation, doc: dict[str, Any]) -> tuple[int, Any]:
    return await asyncio.to_thread(http, "POST", inst.url("/api/v6/send"), doc)


async def rows(inst: Installation, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(inst.database_url) as conn:
        cur = await conn.execute(sql, args)
        return list(await cur.fetchall())


def reports(sink: ReportSink, mt_num: str) -> list[tuple[str, int, str]]:
    return [(r["type"], r["status"], r["errorCode"]) for r in sink.of("mtNum", mt_num)]


BUTTON = {
    "text": "Ваш заказ готов",
    "imageURL": "https://example.ru/image.png",
    "caption": "Открыть",
    "action": "https://example.ru/order/1",
}


async def test_viber_delivered_then_read_reaches_the_partner_and_replays_change_nothing(
    rig: tuple[Installation, Viber, ReportSink],
) -> None:
    inst, viber, sink = rig
    code, answer = await send(inst, v6_send(READS, viber_message("BUTTON", BUTTON), sink, "v-1"))
    assert code == 200, answer
    mt_num = str(answer["mtNum"])

    def done() -> bool:
        return len(reports(sink, mt_num)) >= 2

    assert await wait_until(done, within=30), (sink.reports, inst.logs())
    assert reports(sink, mt_num) == [("VIBER", 2, "0"), ("VIBER", 9, "0")]
    read_report = sink.of("mtNum", mt_num)[1]
    assert read_report["id"] == "v-1"
    assert read_report["doneDate"]  # the seen time

    # The provider got Viber's rich_media: image, text, and the button opening the link.
    (got,) = await viber.get("/sim/messages")
    assert (got["receiver"], got["type"], got["sender"]["name"]) == (READS, "rich_media", "RCS")
    buttons = got["rich_media"]["Buttons"]
    assert buttons[0]["Image"] == BUTTON["imageURL"]
    assert buttons[1]["Text"] == BUTTON["text"]
    assert (buttons[2]["ActionType"], buttons[2]["ActionBody"], buttons[2]["Text"]) == (
        "open-url",
        BUTTON["action"],
        BUTTON["caption"],
    )
    assert got["tracking_data"] == mt_num
    assert 30 <= got["ttl"] <= 60

    # Status pull: READ, after DELIVERED.
    code, view = await asyncio.to_thread(
        http, "GET", inst.url(f"/api/v6/messages/{mt_num}"), headers=AUTH
    )
    assert code == 200, view
    assert (view["type"], view["status"]) == ("VIBER", "READ")
    history = [h["status"] for h in view["history"]]
    assert history[-2:] == ["DELIVERED", "READ"]

    # A callback with a wrong signature is refused and does nothing: a forged "failed".
    token = got["message_token"]
    forged = json.dumps(
        {"event": "failed", "timestamp": 1, "message_token": token, "user_id": READS}
    )
    wrong = hmac.new(b"not-the-token", forged.encode(), hashlib.sha256).hexdigest()
    assert await viber.post_callback(forged, wrong) == 403
    assert await viber.post_callback(forged, "") == 403
    # Every callback the simulator sent, replayed as sent (signature and all): accepted,
    # and nothing changes.
    callbacks = await viber.get("/sim/callbacks")
    assert [json.loads(c["body"])["event"] for c in callbacks] == ["delivered", "seen"]
    for c in callbacks:
        assert await viber.post_callback(c["body"], c["signature"]) == 200
    await asyncio.sleep(3)  # long enough for a wrongly sent report (retry base 0.5 s)
    assert reports(sink, mt_num) == [("VIBER", 2, "0"), ("VIBER", 9, "0")]
    code, again = await asyncio.to_thread(
        http, "GET", inst.url(f"/api/v6/messages/{mt_num}"), headers=AUTH
    )
    assert again["status"] == "READ"
    assert again["history"] == view["history"]


async def test_viber_never_confirmed_cascades_to_one_delivered_sms(
    rig: tuple[Installation, Viber, ReportSink],
) -> None:
    inst, viber, sink = rig
    doc = v6_send(SILENT, viber_message("TEXT", {"text": "код 1234"}, ttl=30), sink, "c-1")
    doc["cascadeChainLink"] = {
        "state": "DELIVERED",
        "message": {"type": "SMS", "data": {"text": "код 1234", "serviceNumber": "RCS", "ttl": 2}},
    }
    # A subscriber without Viber: Viber refuses (status 6), the SMS goes at once.
    gone = v6_send(UNSUBSCRIBED, viber_message("TEXT", {"text": "код 5678"}), sink, "c-2")
    gone["cascadeChainLink"] = doc["cascadeChainLink"]
    code, answer = await send(inst, doc)
    assert code == 200, answer
    code, answer2 = await send(inst, gone)
    assert code == 200, answer2
    cascade, cascade2 = int(answer["mtNum"]), int(answer2["mtNum"])

    async def links(cid: int) -> list[tuple[int, int, int]]:
        found = await rows(
            inst,
            "SELECT channel, status, error_code FROM messages WHERE cascade_id = %s"
            " ORDER BY created_at, id",
            cid,
        )
        return [(int(a), int(b), int(c)) for a, b, c in found]

    deadline = asyncio.get_running_loop().time() + 75
    while len(await links(cascade)) < 2 or (await links(cascade))[1][1] != 3:
        assert asyncio.get_running_loop().time() < deadline, inst.logs()
        await asyncio.sleep(0.5)
    await asyncio.sleep(2)
    # Viber expired at its ttl (7 timeout); one SMS, delivered.
    assert await links(cascade) == [(3, 5, 7), (1, 3, 0)]
    assert await links(cascade2) == [(3, 6, 6), (1, 3, 0)]
    (final,) = await rows(inst, "SELECT final_status FROM cascades WHERE id = %s", cascade)
    assert final == (3,)
    assert [m["receiver"] for m in await viber.get("/sim/messages")] == [SILENT]

    def complete() -> bool:
        return all(len(reports(sink, str(c))) >= 2 for c in (cascade, cascade2))

    assert await wait_until(complete, within=15), sink.reports
    assert sorted(reports(sink, str(cascade))) == [("SMS", 2, "0"), ("VIBER", 5, "7")]
    assert sorted(reports(sink, str(cascade2))) == [("SMS", 2, "0"), ("VIBER", 5, "6")]


BAD = [
    (viber_message("TEXT", {"text": "я" * 1001}), 400, 4, "longer than 1000"),
    (
        viber_message("BUTTON", {"text": "t", "caption": "Открыть"}),
        400,
        4,
        "instantContent/data/action is required",
    ),
    (
        viber_message("BUTTON", {"text": "t", "caption": "Открыть", "action": "ftp://x"}),
        400,
        4,
        "action must start with http://",
    ),
    (viber_message("BUTTON", {**BUTTON, "caption": "к" * 31}), 400, 4, "caption is longer than 30"),
    (viber_message("TEXT", {"text": "t"}, ttl=29), 406, 11, "ttl must be 30 to 86400 seconds"),
    (viber_message("TEXT", {"text": "t"}, ttl=86401), 406, 11, "ttl must be 30 to 86400 seconds"),
    (viber_message("IMAGE_URL", {"text": "t"}), 400, 4, "instantContent/data/imageURL is required"),
]


async def test_bad_viber_input_gets_the_documented_error_and_stores_nothing(
    rig: tuple[Installation, Viber, ReportSink],
) -> None:
    inst, viber, sink = rig
    for message, http_code, code, says in BAD:  # one installation for every case
        status, answer = await send(inst, v6_send(READS, message, sink, "bad"))
        assert status == http_code, (message, answer)
        assert answer["error"]["code"] == code, (message, answer)
        assert says in answer["extendedDescription"], (message, answer)
    assert await rows(inst, "SELECT id FROM messages") == []
    assert await viber.get("/sim/messages") == []
