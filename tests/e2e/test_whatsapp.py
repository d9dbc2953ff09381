"""WhatsApp over real sockets: every RCS process real plus the messenger service (rcs serve
messengers) and the WhatsApp Cloud API simulator (rcs serve whatsapp-simulator), which
posts signed notifications (X-Hub-Signature-256) to the messenger service's webhook."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.installation import Installation, http, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_viber import AUTH, _listening, _ports, reports, rows, send, v6_send

pytestmark = pytest.mark.e2e
TOKEN, SECRET, PHONE_ID = "wa-test-token", "wa-test-secret", "1234567890"
READS, CLOSED, UNREGISTERED = "79170000011", "79170000012", "79170000013"


class WhatsApp:
    """The simulator's control API and the messenger service's webhook, as a test uses them."""

    def __init__(self, sim_port: int, webhook_port: int) -> None:
        self.sim = f"http://127.0.0.1:{sim_port}"
        self.webhook = f"http://127.0.0.1:{webhook_port}/whatsapp/webhook"

    async def get(self, path: str) -> Any:
        code, doc = await asyncio.to_thread(http, "GET", self.sim + path)
        assert code == 200, doc
        return doc

    async def post(self, path: str, doc: Any) -> Any:
        code, answer = await asyncio.to_thread(http, "POST", self.sim + path, doc)
        assert code == 200, answer
        return answer

    async def notify(self, body: str, signature: str) -> int:
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature}
        code, _ = await asyncio.to_thread(
            http, "POST", self.webhook, body.encode(), headers=headers
        )
        return code


def whatsapp_env(webhook_port: int, sim_port: int) -> dict[str, str]:
    """The messenger service's WhatsApp account and the simulator's, matching."""
    return {
        "RCS_WHATSAPP_API_URL": f"http://127.0.0.1:{sim_port}/v21.0",
        "RCS_WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "RCS_WHATSAPP_ACCESS_TOKEN": TOKEN,
        "RCS_WHATSAPP_APP_SECRET": SECRET,
        "RCS_WHATSAPP_VERIFY_TOKEN": "wa-verify",
        "RCS_WHATSAPP_SIM_PORT": str(sim_port),
        "RCS_WHATSAPP_SIM_PHONE_NUMBER_ID": PHONE_ID,
        "RCS_WHATSAPP_SIM_ACCESS_TOKEN": TOKEN,
        "RCS_WHATSAPP_SIM_APP_SECRET": SECRET,
        "RCS_WHATSAPP_SIM_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/whatsapp/webhook",
        "RCS_WHATSAPP_SIM_OUTCOMES": f"{UNREGISTERED}=unregistered",
        "RCS_WHATSAPP_SIM_OPEN_SESSIONS": READS,
    }


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, WhatsApp, ReportSink]]:
    sink = ReportSink()
    await sink.start()
    grpc_port, webhook_port, sim_port = _ports(installation, 3)
    installation.extra_env.update(
        {
            "RCS_MESSENGERS_TARGET": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_INTERFACE_ID": "messengers-main",
            "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook_port),
            "RCS_VIBER_AUTH_TOKEN": "unused-viber-token",
            **whatsapp_env(webhook_port, sim_port),
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("whatsapp-simulator", "messengers")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (sim_port, webhook_port, grpc_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield installation, WhatsApp(sim_port, webhook_port), sink
    finally:
        await sink.stop()


def whatsapp_message(kind: str, data: dict[str, Any], ttl: int | None = 1440) -> dict[str, Any]:
    body: dict[str, Any] = {
        "instantContent": {"type": kind, "data": data},
        "serviceNumber": "RCS",
    }
    if ttl is not None:
        body["ttl"] = ttl  # minutes, rest_whatsapp.rst's default unit
    return {"type": "WHATSAPP", "data": body}


async def test_whatsapp_delivered_then_read_reaches_the_partner_and_replays_change_nothing(
    rig: tuple[Installation, WhatsApp, ReportSink],
) -> None:
    inst, wa, sink = rig
    text = {"text": "Ваш заказ готов: https://example.ru/o/1"}
    code, answer = await send(inst, v6_send(READS, whatsapp_message("TEXT", text), sink, "w-1"))
    assert code == 200, answer
    mt_num = str(answer["mtNum"])

    assert await wait_until(lambda: len(reports(sink, mt_num)) >= 2, within=30), (
        sink.reports,
        inst.logs(),
    )
    assert reports(sink, mt_num) == [("WHATSAPP", 2, "0"), ("WHATSAPP", 9, "0")]
    read_report = sink.of("mtNum", mt_num)[1]
    assert read_report["id"] == "w-1"
    assert read_report["doneDate"]

    # The Cloud API got a session text message for the subscriber, with the Bearer token.
    (got,) = await wa.get("/sim/messages")
    assert (got["messaging_product"], got["to"], got["type"]) == ("whatsapp", READS, "text")
    assert got["text"]["body"] == text["text"]

    # Status pull: READ after DELIVERED.
    code, view = await asyncio.to_thread(
        http, "GET", inst.url(f"/api/v6/messages/{mt_num}"), headers=AUTH
    )
    assert code == 200, view
    assert (view["type"], view["status"]) == ("WHATSAPP", "READ")
    assert [h["status"] for h in view["history"]][-2:] == ["DELIVERED", "READ"]

    # A forged "failed" (wrong or no signature) is refused with 401 and changes nothing.
    forged = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "x",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "statuses": [
                                    {"id": got["wamid"], "status": "failed", "timestamp": "1"}
                                ]
                            },
                        }
                    ],
                }
            ],
        }
    )
    wrong = "sha256=" + hmac.new(b"not-the-secret", forged.encode(), hashlib.sha256).hexdigest()
    assert await wa.notify(forged, wrong) == 401
    assert await wa.notify(forged, "") == 401
    # Every notification the simulator sent, replayed as sent: accepted, nothing changes.
    sent = await wa.get("/sim/notifications")
    kinds = [
        json.loads(n["body"])["entry"][0]["changes"][0]["value"]["statuses"][0]["status"]
        for n in sent
    ]
    assert kinds == ["sent", "delivered", "read"]
    for n in sent:
        assert await wa.notify(n["body"], n["signature"]) == 200
    await asyncio.sleep(3)  # long enough for a wrongly sent report (retry base 0.5 s)
    assert reports(sink, mt_num) == [("WHATSAPP", 2, "0"), ("WHATSAPP", 9, "0")]
    code, again = await asyncio.to_thread(
        http, "GET", inst.url(f"/api/v6/messages/{mt_num}"), headers=AUTH
    )
    assert again["history"] == view["history"]


async def test_session_window_and_unregistered_numbers_end_undelivered_with_their_codes(
    rig: tuple[Installation, WhatsApp, ReportSink],
) -> None:
    inst, wa, sink = rig
    image = whatsapp_message("IMAGE_URL", {"imageURL": "https://example.ru/i.png"}, ttl=None)
    code, closed = await send(inst, v6_send(CLOSED, image, sink, "w-2"))
    assert code == 200, closed
    code, gone = await send(
        inst, v6_send(UNREGISTERED, whatsapp_message("TEXT", {"text": "t"}), sink, "w-3")
    )
    assert code == 200, gone
    closed_num, gone_num = str(closed["mtNum"]), str(gone["mtNum"])

    def done() -> bool:
        return bool(reports(sink, closed_num)) and bool(reports(sink, gone_num))

    assert await wait_until(done, within=30), (sink.reports, inst.logs())
    # No reply from the subscriber in 24 h: the Cloud API's 131047 → 10 filtered.
    assert reports(sink, closed_num) == [("WHATSAPP", 5, "10")]
    # Not on WhatsApp (131026 at send time) → 6 teleservice-not-provisioned.
    assert reports(sink, gone_num) == [("WHATSAPP", 5, "6")]
    got = await wa.get("/sim/messages")
    assert [(m["to"], m["type"]) for m in got] == [(CLOSED, "image")]
    assert got[0]["image"] == {"link": "https://example.ru/i.png"}
    # No ttl: the partner's default, in whole days (rest_whatsapp.rst).
    ((ttl,),) = await rows(
        inst,
        "SELECT extract(epoch FROM valid_until - created_at)::int FROM messages WHERE id = %s",
        int(closed_num),
    )
    assert ttl % 86400 in (0, 86399, 1)  # rounding of the stored times
    assert 86399 <= ttl <= 7 * 86400 + 1


BAD = [
    (whatsapp_message("TEXT", {"text": "я" * 1001}), 400, 4, "longer than 1000"),
    (
        whatsapp_message("TEXT", {"text": "t", "imageURL": "https://example.ru/i.png"}),
        400,
        4,
        "text and image not together",
    ),
    (whatsapp_message("BUTTON", {"text": "t"}), 400, 4, "must be TEXT or IMAGE_URL"),
    (whatsapp_message("IMAGE_URL", {}), 400, 4, "imageURL is required"),
    (whatsapp_message("TEXT", {"text": "t"}, ttl=1441), 406, 11, "whole days"),
    (whatsapp_message("TEXT", {"text": "t"}, ttl=720), 406, 11, "whole days"),
    (whatsapp_message("TEXT", {"text": "t"}, ttl=11520), 406, 11, "to 10080 minutes"),
]


async def test_bad_whatsapp_input_gets_the_documented_error_and_stores_nothing(
    rig: tuple[Installation, WhatsApp, ReportSink],
) -> None:
    inst, wa, sink = rig
    for message, http_code, code, says in BAD:
        status, answer = await send(inst, v6_send(READS, message, sink, "bad"))
        assert status == http_code, (message, answer)
        assert answer["error"]["code"] == code, (message, answer)
        assert says in answer["extendedDescription"], (message, answer)
    assert await rows(inst, "SELECT id FROM messages") == []
    assert await wa.get("/sim/messages") == []
