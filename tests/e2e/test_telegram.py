"""Telegram over real sockets: every RCS process real plus the messenger service and the
Telegram simulator (rcs serve telegram-simulator, the Gateway API's shape), which posts
signed status reports (X-Request-Signature) to the messenger service's webhook."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rcs_messengers.telegram_wire import signature
from tests.e2e.installation import Installation, http, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_viber import AUTH, _listening, _ports, reports, rows, send, v6_send

pytestmark = pytest.mark.e2e
TOKEN = "tg-test-token"
READS, NO_TELEGRAM = "79170000021", "79170000022"


class Telegram:
    def __init__(self, sim_port: int, webhook_port: int) -> None:
        self.sim = f"http://127.0.0.1:{sim_port}"
        self.webhook = f"http://127.0.0.1:{webhook_port}/telegram/webhook"

    async def get(self, path: str) -> Any:
        code, doc = await asyncio.to_thread(http, "GET", self.sim + path)
        assert code == 200, doc
        return doc

    async def report(self, body: str, stamp: str, sig: str) -> int:
        headers = {
            "Content-Type": "application/json",
            "X-Request-Timestamp": stamp,
            "X-Request-Signature": sig,
        }
        code, _ = await asyncio.to_thread(
            http, "POST", self.webhook, body.encode(), headers=headers
        )
        return code


def telegram_env(webhook_port: int, sim_port: int) -> dict[str, str]:
    return {
        "RCS_TELEGRAM_API_URL": f"http://127.0.0.1:{sim_port}",
        "RCS_TELEGRAM_TOKEN": TOKEN,
        "RCS_TELEGRAM_CALLBACK_URL": f"http://127.0.0.1:{webhook_port}/telegram/webhook",
        "RCS_TELEGRAM_SIM_PORT": str(sim_port),
        "RCS_TELEGRAM_SIM_TOKEN": TOKEN,
        "RCS_TELEGRAM_SIM_OUTCOMES": f"{NO_TELEGRAM}=no_telegram",
    }


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, Telegram, ReportSink]]:
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
            **telegram_env(webhook_port, sim_port),
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("telegram-simulator", "messengers")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (sim_port, webhook_port, grpc_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield installation, Telegram(sim_port, webhook_port), sink
    finally:
        await sink.stop()


def telegram_message(data: dict[str, Any], ttl: int = 3600) -> dict[str, Any]:
    return {
        "type": "TELEGRAM",
        "data": {**data, "serviceNumber": "RCS", "ttl": ttl, "ttlUnit": "SECONDS"},
    }


async def test_telegram_text_and_link_delivered_then_read_and_replays_change_nothing(
    rig: tuple[Installation, Telegram, ReportSink],
) -> None:
    inst, tg, sink = rig
    data = {"text": "Hello, world!", "link": "https://docs.rapporto.ru/"}
    code, answer = await send(inst, v6_send(READS, telegram_message(data), sink, "t-1"))
    assert code == 200, answer
    code, refused = await send(
        inst, v6_send(NO_TELEGRAM, telegram_message({"text": "t"}), sink, "t-2")
    )
    assert code == 200, refused
    mt_num, refused_num = str(answer["mtNum"]), str(refused["mtNum"])

    def done() -> bool:
        return len(reports(sink, mt_num)) >= 2 and bool(reports(sink, refused_num))

    assert await wait_until(done, within=30), (sink.reports, inst.logs())
    assert reports(sink, mt_num) == [("TELEGRAM", 2, "0"), ("TELEGRAM", 9, "0")]
    assert sink.of("mtNum", mt_num)[1]["id"] == "t-1"
    # PHONE_NUMBER_NOT_AVAILABLE: rest_status.rst's only Telegram code, 1 unknown.
    assert reports(sink, refused_num) == [("TELEGRAM", 5, "1")]

    (got,) = await tg.get("/sim/messages")
    assert (got["phone_number"], got["text"], got["link"]) == (
        "+" + READS,
        data["text"],
        data["link"],
    )
    assert (got["sender_username"], got["payload"]) == ("RCS", mt_num)
    assert 30 <= got["ttl"] <= 3600

    code, view = await asyncio.to_thread(
        http, "GET", inst.url(f"/api/v6/messages/{mt_num}"), headers=AUTH
    )
    assert code == 200, view
    assert (view["type"], view["status"]) == ("TELEGRAM", "READ")

    forged = json.dumps(
        {
            "request_id": got["request_id"],
            "delivery_status": {"status": "revoked", "updated_at": 1},
        }
    )
    assert await tg.report(forged, "1", signature("not-the-token", "1", forged.encode())) == 401
    assert await tg.report(forged, "1", "") == 401
    sent = await tg.get("/sim/reports")
    assert [json.loads(r["body"])["delivery_status"]["status"] for r in sent] == [
        "delivered",
        "read",
    ]
    for r in sent:
        assert await tg.report(r["body"], r["timestamp"], r["signature"]) == 200
    await asyncio.sleep(3)
    assert reports(sink, mt_num) == [("TELEGRAM", 2, "0"), ("TELEGRAM", 9, "0")]


BAD = [
    (telegram_message({"text": "я" * 1001}), 400, 4, "longer than 1000"),
    (telegram_message({"link": "https://x.ru"}), 400, 4, "text is required"),
    (telegram_message({"text": "t", "link": ""}), 400, 4, "link"),
    (telegram_message({"text": "t", "link": "https://x.ru/" + "a" * 250}), 400, 4, "256"),
    (telegram_message({"text": "t"}, ttl=29), 406, 11, "ttl must be 30 to 86400 seconds"),
    (telegram_message({"text": "t"}, ttl=86401), 406, 11, "ttl must be 30 to 86400 seconds"),
]


async def test_bad_telegram_input_gets_the_documented_error_and_stores_nothing(
    rig: tuple[Installation, Telegram, ReportSink],
) -> None:
    inst, tg, sink = rig
    for message, http_code, code, says in BAD:
        status, answer = await send(inst, v6_send(READS, message, sink, "bad"))
        assert status == http_code, (message, answer)
        assert answer["error"]["code"] == code, (message, answer)
        assert says in answer["extendedDescription"], (message, answer)
    assert await rows(inst, "SELECT id FROM messages") == []
    assert await tg.get("/sim/messages") == []
