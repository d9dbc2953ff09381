"""VK and FlashingCall over real sockets: every RCS process real (core, dispatcher with the
cascade engine, routing, SMPP connector, SMSC simulator, REST gateway) plus the messenger
service and the VK and FlashingCall simulators, which call the messenger service back
(VK's Callback API with its secret, the voice provider's callbacks with their key)."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import free_port
from tests.e2e.installation import Installation, http, wait_until
from tests.e2e.push_stand_in import ReportSink

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}
VK_TOKEN, VK_SECRET, FC_KEY, FC_CALLBACK_KEY = "vk-tok", "vk-secret", "fc-key", "fc-cb-key"
READS, INACTIVE, NOUSER, BARRED, DAILY = (
    "79170000011",
    "79170000012",
    "79170000013",
    "79170000014",
    "79170000015",
)
RINGS, BUSY = "79170000021", "79170000022"


class Rig:
    def __init__(self, inst: Installation, sink: ReportSink, ports: dict[str, int]) -> None:
        self.inst, self.sink, self.ports = inst, sink, ports

    async def sim(self, which: str, path: str) -> Any:
        code, doc = await asyncio.to_thread(
            http, "GET", f"http://127.0.0.1:{self.ports[which]}{path}"
        )
        assert code == 200, doc
        return doc

    async def callback(self, path: str, doc: Any, headers: dict[str, str] | None = None) -> int:
        url = f"http://127.0.0.1:{self.ports['webhook']}{path}"
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.post(url, json=doc, headers=headers or {})).status_code

    async def send(self, number: str, message: dict[str, Any], ref: str, **extra: Any) -> Any:
        doc = {
            "login": "demo",
            "password": "demo",
            "id": ref,
            "destAddr": number,
            "registeredDelivery": 1,
            "notifyUrl": self.sink.url(),
            "message": message,
            **extra,
        }
        return await asyncio.to_thread(http, "POST", self.inst.url("/api/v6/send"), doc)

    def reports(self, mt_num: str) -> list[tuple[str, int, str]]:
        return [(r["type"], r["status"], r["errorCode"]) for r in self.sink.of("mtNum", mt_num)]

    async def reported(self, mt_num: str, n: int) -> list[tuple[str, int, str]]:
        ok = await wait_until(lambda: len(self.reports(mt_num)) >= n, within=30)
        assert ok, (self.sink.reports, self.inst.logs())
        return self.reports(mt_num)

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(self.inst.database_url) as conn:
            cur = await conn.execute(sql, args)
            return list(await cur.fetchall())


def _ports(inst: Installation, names: list[str]) -> dict[str, int]:
    taken, out = set(inst.ports.values()), dict[str, int]()
    for name in names:
        port = free_port()
        while port in taken:
            port = free_port()
        taken.add(port)
        out[name] = port
    return out


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def messenger_env(ports: dict[str, int]) -> dict[str, str]:
    """The messenger service with VK and FlashingCall, and both simulators calling it."""
    webhook = f"http://127.0.0.1:{ports['webhook']}"
    return {
        "RCS_MESSENGERS_TARGET": f"127.0.0.1:{ports['grpc']}",
        "RCS_MESSENGERS_BIND": f"127.0.0.1:{ports['grpc']}",
        "RCS_MESSENGERS_WEBHOOK_PORT": str(ports["webhook"]),
        "RCS_VIBER_AUTH_TOKEN": "unused-viber-token",
        "RCS_VK_API_URL": f"http://127.0.0.1:{ports['vk']}",
        "RCS_VK_ACCESS_TOKEN": VK_TOKEN,
        "RCS_VK_GROUP_ID": "42",
        "RCS_VK_CALLBACK_SECRET": VK_SECRET,
        "RCS_VK_SIM_PORT": str(ports["vk"]),
        "RCS_VK_SIM_ACCESS_TOKEN": VK_TOKEN,
        "RCS_VK_SIM_GROUP_ID": "42",
        "RCS_VK_SIM_CALLBACK_URL": f"{webhook}/vk/callback",
        "RCS_VK_SIM_CALLBACK_SECRET": VK_SECRET,
        "RCS_VK_SIM_OUTCOMES": f"{INACTIVE}=inactive,{NOUSER}=nouser,{BARRED}=barred,"
        f"{DAILY}=delivered",
        "RCS_FLASHCALL_API_URL": f"http://127.0.0.1:{ports['fc']}",
        "RCS_FLASHCALL_ACCESS_KEY": FC_KEY,
        "RCS_FLASHCALL_CALLBACK_KEY": FC_CALLBACK_KEY,
        "RCS_FLASHCALL_SIM_PORT": str(ports["fc"]),
        "RCS_FLASHCALL_SIM_ACCESS_KEY": FC_KEY,
        "RCS_FLASHCALL_SIM_CALLBACK_URL": f"{webhook}/flashcall/callback",
        "RCS_FLASHCALL_SIM_CALLBACK_KEY": FC_CALLBACK_KEY,
        "RCS_FLASHCALL_SIM_OUTCOMES": f"{BUSY}=busy",
        # Callbacks outlast a restart of the messenger service (test_messengers_crash).
        "RCS_VK_SIM_CALLBACK_ATTEMPTS": "120",
        "RCS_VK_SIM_ANSWER_DELAY_MS": "200",
        "RCS_FLASHCALL_SIM_ANSWER_DELAY_MS": "200",
        "RCS_FLASHCALL_SIM_CALLBACK_ATTEMPTS": "120",
        "RCS_CASCADE_POLL_SECONDS": "0.5",
        "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
    }


@pytest.fixture
async def rig(installation: Installation) -> AsyncIterator[Rig]:
    sink = ReportSink()
    await sink.start()
    ports = _ports(installation, ["grpc", "webhook", "vk", "fc"])
    installation.extra_env.update(messenger_env(ports))
    try:
        installation.start()
        installation.start("vk-simulator", "flashcall-simulator", "messengers")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in ports.values():
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield Rig(installation, sink, ports)
    finally:
        await sink.stop()


def vk(text: str, ttl: int = 10, unit: str = "MINUTES", sender: str | None = "mygroup") -> Any:
    data: dict[str, Any] = {"text": text, "ttl": ttl, "ttlUnit": unit}
    if sender is not None:
        data["serviceNumber"] = sender
    return {"type": "VK", "data": data}


def flashcall(text: str, ttl: int = 1, unit: str = "MINUTES") -> Any:
    return {"type": "FLASHINGCALL", "data": {"text": text, "ttl": ttl, "ttlUnit": unit}}


async def test_vk_delivered_then_read_refusals_and_callback_auth(rig: Rig) -> None:
    code, answer = await rig.send(READS, vk("Ваш заказ готов"), "vk-1")
    assert code == 200, answer
    mt_num = str(answer["mtNum"])
    assert await rig.reported(mt_num, 2) == [("VK", 2, "0"), ("VK", 9, "0")]

    # VK got messages.send from the community to the number, random_id our message id.
    (got,) = await rig.sim("vk", "/sim/messages")
    assert (got["phone"], got["message"], got["random_id"], got["group_id"]) == (
        READS,
        "Ваш заказ готов",
        mt_num,
        "42",
    )
    code, view = await asyncio.to_thread(
        http, "GET", rig.inst.url(f"/api/v6/messages/{mt_num}"), headers=AUTH
    )
    assert code == 200, view
    assert (view["type"], view["status"]) == ("VK", "READ")
    assert [h["status"] for h in view["history"]][-2:] == ["DELIVERED", "READ"]

    # A callback without the community's secret is refused and changes nothing; every
    # callback VK sent, replayed, is taken and changes nothing either.
    callbacks = await rig.sim("vk", "/sim/callbacks")
    assert [c["type"] for c in callbacks] == ["message_reply", "message_read"]
    forged = {**callbacks[1], "secret": "guess", "event_id": "forged-1"}
    assert await rig.callback("/vk/callback", forged) == 401
    assert await rig.callback("/vk/callback", {**forged, "secret": ""}) == 401
    for c in callbacks:
        assert await rig.callback("/vk/callback", c) == 200
    fresh = {**callbacks[1], "event_id": "replayed-under-a-new-id"}
    assert await rig.callback("/vk/callback", fresh) == 200
    await asyncio.sleep(2)
    assert rig.reports(mt_num) == [("VK", 2, "0"), ("VK", 9, "0")]

    # The provider's refusals: not on VK for 7 days and no VK user (6), privacy (3), and the
    # 5-a-day limit to one user (10) for the sixth message.
    refused = {}
    for number, ref in ((INACTIVE, "in"), (NOUSER, "no"), (BARRED, "ba")):
        code, answer = await rig.send(number, vk("привет"), ref)
        assert code == 200, answer
        refused[ref] = str(answer["mtNum"])
    daily = []
    for n in range(6):
        code, answer = await rig.send(DAILY, vk(f"сообщение {n}"), f"d-{n}")
        assert code == 200, answer
        daily.append(str(answer["mtNum"]))
        await rig.reported(daily[-1], 1)  # in order: the sixth is the one over the limit
    assert await rig.reported(refused["in"], 1) == [("VK", 5, "6")]
    assert await rig.reported(refused["no"], 1) == [("VK", 5, "6")]
    assert await rig.reported(refused["ba"], 1) == [("VK", 5, "3")]
    assert [rig.reports(m)[0] for m in daily] == [("VK", 2, "0")] * 5 + [("VK", 5, "10")]
    sent = [m["phone"] for m in await rig.sim("vk", "/sim/messages")]
    assert sent == [READS] + [DAILY] * 5


async def test_flashcall_delivered_only_busy_and_a_cascade_to_sms(rig: Rig) -> None:
    code, answer = await rig.send(RINGS, flashcall("Ваш код 4821"), "fc-1")
    assert code == 200, answer
    mt_num = str(answer["mtNum"])
    assert await rig.reported(mt_num, 1) == [("FLASHINGCALL", 2, "0")]
    (call,) = await rig.sim("fc", "/sim/calls")
    assert (call["number"], call["code"], call["externalId"]) == (RINGS, "4821", mt_num)
    assert call["from"].endswith("4821")
    assert 1000 <= call["timeout"] <= 60_000
    code, view = await asyncio.to_thread(
        http, "GET", rig.inst.url(f"/api/v6/messages/{mt_num}"), headers=AUTH
    )
    assert (view["type"], view["status"]) == ("FLASHINGCALL", "DELIVERED")

    # A callback without the provider's key is refused; a replay changes nothing.
    (cb,) = await rig.sim("fc", "/sim/callbacks")
    failed = {**cb, "status": "FAILED"}
    assert await rig.callback("/flashcall/callback", failed) == 401
    wrong = {"X-Authorization": "AccessKey nope"}
    assert await rig.callback("/flashcall/callback", failed, wrong) == 401
    ours = {"X-Authorization": f"AccessKey {FC_CALLBACK_KEY}"}
    assert await rig.callback("/flashcall/callback", cb, ours) == 200

    # A busy number: UNDELIVERED with 16, and the SMS link (on DELIVERED) goes instead.
    link = {
        "state": "DELIVERED",
        "message": {"type": "SMS", "data": {"text": "код 4821", "serviceNumber": "RCS"}},
    }
    code, answer = await rig.send(BUSY, flashcall("4821"), "fc-2", cascadeChainLink=link)
    assert code == 200, answer
    cascade = str(answer["mtNum"])
    assert sorted(await rig.reported(cascade, 2)) == [("FLASHINGCALL", 5, "16"), ("SMS", 2, "0")]
    assert rig.reports(mt_num) == [("FLASHINGCALL", 2, "0")]
    # FlashingCall has no READ: a link after it on READ is refused.
    bad = {**link, "state": "READ"}
    code, answer = await rig.send(BUSY, flashcall("4821"), "fc-3", cascadeChainLink=bad)
    assert code == 400, answer
    assert "no READ status" in answer["extendedDescription"]


async def test_http_v5_order_list_sends_vk_and_flashcall(rig: Rig) -> None:
    """http_cascade.rst's letters: order_list=v is a VK message (source its community),
    f a flash call, f,s a flash call that falls back to an SMS when the call fails."""

    async def v5(**params: str) -> tuple[int, str]:
        """A POST form (long texts do not fit a GET's request line)."""
        form = {"serviceId": "demo", "pass": "demo", **params}
        async with httpx.AsyncClient(timeout=10) as client:
            r = await client.post(rig.inst.url("/api/http/v5/send"), data=form)
        return r.status_code, r.text

    async def statuses(mt: str) -> list[tuple[int, int, int]]:
        found = await rig.rows(
            "SELECT channel, status, error_code FROM messages"
            " WHERE id = %s OR cascade_id = %s ORDER BY created_at, id",
            int(mt),
            int(mt),
        )
        return [(int(a), int(b), int(c)) for a, b, c in found]

    async def settled(mt: str, want: list[tuple[int, int, int]]) -> None:
        async def done() -> bool:
            return await statuses(mt) == want

        deadline = asyncio.get_running_loop().time() + 30
        while not await done():
            assert asyncio.get_running_loop().time() < deadline, (await statuses(mt), want)
            await asyncio.sleep(0.3)

    code, text = await v5(clientId=READS, message="по HTTP", source="mygroup", order_list="v")
    assert (code, text.split("\n")[0]) == (200, "OK"), text
    await settled(text.split("\n")[1], [(5, 7, 0)])  # VK, READ
    code, text = await v5(clientId=RINGS, message="код 9081", order_list="f")
    assert (code, text.split("\n")[0]) == (200, "OK"), text
    await settled(text.split("\n")[1], [(6, 3, 0)])  # FlashingCall, DELIVERED
    code, text = await v5(
        clientId=BUSY, message="код 9081", order_list="f,s", s_resendText="код 9081 по SMS"
    )
    assert (code, text.split("\n")[0]) == (200, "OK"), text
    await settled(text.split("\n")[1], [(6, 4, 16), (1, 3, 0)])  # busy, then the SMS
    code, text = await v5(clientId=INACTIVE, message="т" * 2048, order_list="v")
    assert (code, text.split("\n")[0]) == (200, "OK"), text
    await settled(text.split("\n")[1], [(5, 6, 6)])  # not on VK for 7 days: refused, 6
    assert [m["message"] for m in await rig.sim("vk", "/sim/messages")] == ["по HTTP"]
    assert [c["code"] for c in await rig.sim("fc", "/sim/calls")] == ["9081", "9081"]
    # Bad input: the documented 400, nothing stored.
    before = await rig.rows("SELECT count(*) FROM messages")
    code, text = await v5(clientId=RINGS, message="код 12", order_list="f")
    assert code == 400, text
    assert "4-6 digit code" in text, text
    code, text = await v5(clientId=READS, message="т" * 2049, order_list="v")
    assert code == 414, text  # http_vk.rst: at most 2048 characters (an SMS: 2000)
    code, text = await v5(clientId=RINGS, message="код 1234", order_list="f,s", f_resendCond="S")
    assert code == 400, text
    assert await rig.rows("SELECT count(*) FROM messages") == before


BAD = [
    (vk("я" * 2001), 400, 4, "longer than 2000"),
    (vk("t", sender=None), 400, 7, "serviceNumber"),
    (vk("t", ttl=59, unit="SECONDS"), 406, 11, "ttl must be 60 to 86400 seconds"),
    (vk("t", ttl=86401, unit="SECONDS"), 406, 11, "ttl must be 60 to 86400 seconds"),
    (flashcall("код 123"), 400, 4, "4-6 digit code"),
    (flashcall("1234567"), 400, 4, "4-6 digit code"),
    (flashcall("1234 или 5678"), 400, 4, "4-6 digit code"),
    (flashcall("1234", ttl=6), 406, 11, "ttl must be 60 to 300 seconds"),
    (flashcall("1234", ttl=30, unit="SECONDS"), 406, 11, "ttl must be 60 to 300 seconds"),
    (flashcall("1" * 2001), 400, 4, "longer than 2000"),
]


async def test_bad_vk_and_flashcall_input_gets_the_documented_error_and_stores_nothing(
    rig: Rig,
) -> None:
    for message, http_code, code, says in BAD:  # one installation for every case
        status, answer = await rig.send(READS, message, "bad")
        assert status == http_code, (message, answer)
        assert answer["error"]["code"] == code, (message, answer)
        assert says in answer["extendedDescription"], (message, answer)
    assert await rig.rows("SELECT id FROM messages") == []
    assert await rig.sim("vk", "/sim/messages") == []
    assert await rig.sim("fc", "/sim/calls") == []
