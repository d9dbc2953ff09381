"""VK users' replies and VK provider interfaces' callbacks over real sockets (issue 17):
core, dispatcher, routing, REST gateway and the messenger service as processes, with VK
simulators as the communities, which post the Callback API's events (message_reply naming
the user by peer_id, message_read, a user's message_new) to the messenger service.

A reply names the user only by VK's id: core keeps who we wrote to from the receipts'
peer (migration 0135), and the reply reaches the partner owning the sender in its MO
format (REST v6, HTTP v5), once however often VK sends it. Two VK interfaces configured as
settings, both of whose communities number their messages from 1, each get their own
receipts: each records them under its own scope; a callback with a wrong secret is
refused and changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from google.protobuf import field_mask_pb2

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from tests.e2e.installation import Installation, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_vk_flashcall import Rig, _listening, _ports, flashcall, vk

pytestmark = pytest.mark.e2e
TOKEN, SECRET = "vk-env-token", "vk-env-secret"
# The interfaces' communities: (id, community, token, callback secret, confirmation).
VK_A = ("vk-a", 101, "tok-a", "secret-a", "confirm-a")
VK_B = ("vk-b", 102, "tok-b", "secret-b", "confirm-b")
SUBSCRIBER, OTHER = "79170000041", "79170000042"
TO_A, TO_B = "79170000051", "79170000052"  # the second fails on A (HTTP 500): sent by B


def user_of(number: str) -> int:
    """The VK simulator's user id for a number (rcs_simulators.vk.community._user_id)."""
    return int(number[-9:]) + 1


def sim_env(
    port: int, group: int, token: str, secret: str, callback: str, outcomes: str
) -> dict[str, str]:
    return {
        "RCS_VK_SIM_PORT": str(port),
        "RCS_VK_SIM_ACCESS_TOKEN": token,
        "RCS_VK_SIM_GROUP_ID": str(group),
        "RCS_VK_SIM_CALLBACK_URL": callback,
        "RCS_VK_SIM_CALLBACK_SECRET": secret,
        "RCS_VK_SIM_OUTCOMES": outcomes,
    }


@pytest.fixture
async def rig(installation: Installation) -> AsyncIterator[Rig]:
    sink = ReportSink()
    await sink.start()
    ports = _ports(installation, ["grpc", "webhook", "vk", "vk-a", "vk-b"])
    callback = f"http://127.0.0.1:{ports['webhook']}/vk/callback"
    installation.extra_env.update(
        {
            "RCS_MESSENGERS_TARGET": f"127.0.0.1:{ports['grpc']}",
            "RCS_MESSENGERS_BIND": f"127.0.0.1:{ports['grpc']}",
            "RCS_MESSENGERS_INTERFACE_ID": "messengers",
            "RCS_MESSENGERS_WEBHOOK_PORT": str(ports["webhook"]),
            "RCS_VIBER_AUTH_TOKEN": "unused-viber-token",
            "RCS_VK_API_URL": f"http://127.0.0.1:{ports['vk']}",
            "RCS_VK_ACCESS_TOKEN": TOKEN,
            "RCS_VK_GROUP_ID": "42",
            "RCS_VK_CALLBACK_SECRET": SECRET,
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
            "RCS_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("messengers")
        # The environment's community and the two interfaces': A's callbacks come to the
        # common path (routed by group_id), B's to its own (/vk/callback/vk-b).
        for label, port, group, token, secret, url, outcomes in (
            ("vk-simulator", ports["vk"], 42, TOKEN, SECRET, callback, ""),
            ("vk-a", ports["vk-a"], VK_A[1], VK_A[2], VK_A[3], callback, f"{TO_B}=error"),
            ("vk-b", ports["vk-b"], VK_B[1], VK_B[2], VK_B[3], f"{callback}/vk-b", ""),
        ):
            env = sim_env(port, group, token, secret, url, outcomes)
            installation.start_as(label, "vk-simulator", env)
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in ports.values():
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield Rig(installation, sink, ports)
    finally:
        await sink.stop()


@contextlib.asynccontextmanager
async def settings(
    inst: Installation,
) -> AsyncIterator[settings_service_pb2_grpc.SettingsServiceAsyncStub]:
    channel = open_channel(f"127.0.0.1:{inst.ports['core']}")
    try:
        yield settings_service_pb2_grpc.SettingsServiceStub(channel)
    finally:
        await channel.close()


async def own_mo(rig: Rig) -> None:
    """The demo partner takes MO at the sink: replies to mygroup in REST v6, to
    othergroup in HTTP v5."""
    actor = ss.Actor(login="e2e")
    async with settings(rig.inst) as stub:
        await stub.UpdatePartner(
            ss.UpdatePartnerRequest(
                actor=actor,
                partner=ss.Partner(login="demo", inbound_url=rig.sink.url("/mo")),
                update_mask=field_mask_pb2.FieldMask(paths=["inbound_url"]),
            ),
            timeout=10,
        )
        for name, number, fmt in (
            ("demo-vk", "mygroup", ms.REPORT_FORMAT_REST_V6),
            ("demo-vk-v5", "othergroup", ms.REPORT_FORMAT_HTTP_V5),
        ):
            await stub.PutInboundRoute(
                ss.PutInboundRouteRequest(
                    actor=actor,
                    route=ss.InboundRoute(name=name, number=number, partner="demo", format=fmt),
                ),
                timeout=10,
            )


async def post(rig: Rig, which: str, path: str, doc: Any) -> tuple[int, Any]:
    """POST to a simulator or the webhook; its JSON answer, else its text."""
    async with httpx.AsyncClient(timeout=30) as client:
        r = await client.post(f"http://127.0.0.1:{rig.ports[which]}{path}", json=doc)
    try:
        return r.status_code, r.json()
    except ValueError:
        return r.status_code, r.text


async def sent_and_read(rig: Rig, number: str, sender: str, ref: str) -> str:
    code, answer = await rig.send(number, vk("Как вам заказ?", sender=sender), ref)
    assert code == 200, answer
    mt_num = str(answer["mtNum"])
    assert await rig.reported(mt_num, 2) == [("VK", 2, "0"), ("VK", 9, "0")]
    return mt_num


def rest_mo(rig: Rig) -> list[dict[str, Any]]:
    return [r for r in rig.sink.reports if "receivedDate" in r and r.get("type") == "VK"]


def http_mo(rig: Rig) -> list[dict[str, Any]]:
    return [r for r in rig.sink.reports if "clientId" in r and r.get("msgType") == "VK"]


async def test_vk_reply_reaches_the_partner_as_rest_v6_and_http_v5_mo_once(rig: Rig) -> None:
    await own_mo(rig)
    mt_num = await sent_and_read(rig, SUBSCRIBER, "mygroup", "ask-1")
    # Core learnt the user from message_reply's peer_id.
    assert await rig.rows(
        "SELECT interface_id, peer, phone, sender, message_id FROM messenger_peers"
    ) == [("messengers", str(user_of(SUBSCRIBER)), SUBSCRIBER, "mygroup", int(mt_num))]

    # The user answers our message (quoting it) with a photo and a word.
    photo = "https://sun9-1.userapi.example/photo.jpg"
    reply = {"phone": SUBSCRIBER, "text": "Всё отлично", "quote": True, "photo": photo}
    code, callback = await post(rig, "vk", "/sim/reply", reply)
    assert code == 200, callback
    assert await wait_until(lambda: rest_mo(rig), within=30), (rig.sink.reports, rig.inst.logs())
    (mo,) = rest_mo(rig)
    assert (mo["sourceAddr"], mo["destAddr"]) == (SUBSCRIBER, "mygroup")
    assert (mo["message"], mo["mediaURL"]) == ("Всё отлично", photo)  # the largest size
    assert (mo["mtNum"], mo["id"]) == (mt_num, "ask-1")

    # VK sends the event again (same event_id), and once more under another event_id:
    # answered "ok", one MO all the same.
    assert await rig.callback("/vk/callback", callback) == 200
    assert await rig.callback("/vk/callback", {**callback, "event_id": "again-1"}) == 200
    forged = {**callback, "event_id": "forged-1", "secret": "guess"}
    assert await rig.callback("/vk/callback", forged) == 401
    await asyncio.sleep(3)  # long enough for a second report (retry base 0.5 s)
    assert len(rest_mo(rig)) == 1
    assert await rig.rows("SELECT count(*) FROM inbound_messages") == [(1,)]

    # Another sender's route takes HTTP v5; a reply quoting nothing answers the last
    # message sent to that user.
    mt_other = await sent_and_read(rig, OTHER, "othergroup", "ask-2")
    code, _ = await post(rig, "vk", "/sim/reply", {"phone": OTHER, "text": "Нет"})
    assert code == 200
    assert await wait_until(lambda: http_mo(rig), within=30), (rig.sink.reports, rig.inst.logs())
    (v5,) = http_mo(rig)
    assert (v5["clientId"], v5["shortNumber"], v5["message"]) == (OTHER, "othergroup", "Нет")
    assert (v5["transactionId"], v5["partnerMsgId"]) == (mt_other, "ask-2")
    assert "mediaURL" not in v5


async def test_a_vk_user_we_never_wrote_to_is_answered_ok_and_reaches_nobody(rig: Rig) -> None:
    await own_mo(rig)
    code, _ = await post(rig, "vk", "/sim/reply", {"phone": SUBSCRIBER, "text": "?"})
    assert code == 404  # the simulator's own check: it never wrote to that number
    # A stranger writes to the community: VK got "ok" (the simulator's post was taken).
    code, callback = await post(rig, "vk", "/sim/reply", {"user_id": 7, "text": "Кто вы?"})
    assert code == 200, callback
    log = rig.inst.log_dir / "messengers.log"

    def logged() -> bool:
        return "vk_reply_from_unknown_user" in log.read_text(errors="replace")

    assert await wait_until(logged, within=30), rig.inst.logs()
    await asyncio.sleep(2)
    assert rest_mo(rig) == []
    assert await rig.rows("SELECT count(*) FROM inbound_messages") == [(0,)]


async def put_interfaces(rig: Rig, interfaces: list[ss.MessengerInterface]) -> None:
    async with settings(rig.inst) as stub:
        for interface in interfaces:
            request = ss.PutMessengerInterfaceRequest(
                actor=ss.Actor(login="e2e"), messenger_interface=interface
            )
            await stub.PutMessengerInterface(request, timeout=10)


async def put_vk_interfaces(rig: Rig) -> None:
    await put_interfaces(
        rig,
        [
            ss.MessengerInterface(
                id=id_,
                channel=channel_pb2.CHANNEL_VK,
                priority=priority,
                enabled=True,
                api_url=f"http://127.0.0.1:{rig.ports[id_]}",
                account=str(group),
                token=token,
                webhook_secret=secret,
                webhook_verify=confirm,
            )
            for (id_, group, token, secret, confirm), priority in ((VK_A, 1), (VK_B, 2))
        ],
    )
    log = rig.inst.log_dir / "messengers.log"

    def synced() -> bool:
        return any(
            "messenger_interfaces_synced" in line and "vk-b" in line
            for line in log.read_text(errors="replace").splitlines()
        )

    assert await wait_until(synced, within=20), rig.inst.logs()


async def test_two_vk_interfaces_each_get_their_own_receipts_and_bad_secrets_are_refused(
    rig: Rig,
) -> None:
    await put_vk_interfaces(rig)
    # Each interface's confirmation string, on its own path or by its community id.
    confirm_b = {"type": "confirmation", "group_id": VK_B[1], "secret": VK_B[3]}
    for path, doc, want in (
        ("/vk/callback/vk-b", confirm_b, VK_B[4]),
        ("/vk/callback", {**confirm_b, "group_id": VK_A[1], "secret": VK_A[3]}, VK_A[4]),
    ):
        assert await post(rig, "webhook", path, doc) == (200, want)

    mt_a = await sent_and_read(rig, TO_A, "mygroup", "a-1")
    mt_b = await sent_and_read(rig, TO_B, "mygroup", "b-1")  # A answers 500: B sends it
    (got_a,) = await rig.sim("vk-a", "/sim/messages")
    (got_b,) = await rig.sim("vk-b", "/sim/messages")
    # Both communities numbered their message 1: the same VK id, two messages.
    assert (got_a["phone"], got_a["message_id"]) == (TO_A, 1)
    assert (got_b["phone"], got_b["message_id"]) == (TO_B, 1)
    assert await rig.rows(
        "SELECT interface_id, operator_key, message_id FROM operator_ids ORDER BY interface_id"
    ) == [("vk-a", "vk-1", int(mt_a)), ("vk-b", "vk-1", int(mt_b))]
    assert await rig.sim("vk", "/sim/messages") == []  # the environment's: not used

    # A user's message with a wrong secret (another account's, a guess, for an interface
    # that does not exist) is refused, and stores nothing.
    user = user_of(TO_B)
    forged = {
        "type": "message_new",
        "event_id": "forged-2",
        "v": "5.199",
        "group_id": VK_B[1],
        "object": {"message": {"id": 9, "date": 1, "from_id": user, "peer_id": user, "out": 0}},
    }
    for path, secret in (
        ("/vk/callback/vk-b", VK_A[3]),
        ("/vk/callback", "guess"),
        ("/vk/callback", SECRET),  # the environment's: not for B's community
        ("/vk/callback/vk-c", VK_B[3]),
    ):
        assert await rig.callback(path, {**forged, "secret": secret}) == 401, path
    # The same events replayed with the right secrets are taken and change nothing.
    for c in await rig.sim("vk-a", "/sim/callbacks"):
        assert await rig.callback("/vk/callback", c) == 200
    for c in await rig.sim("vk-b", "/sim/callbacks"):
        assert await rig.callback("/vk/callback/vk-b", c) == 200
    await asyncio.sleep(2)
    assert rig.reports(mt_a) == rig.reports(mt_b) == [("VK", 2, "0"), ("VK", 9, "0")]
    assert await rig.rows(
        "SELECT interface_id, peer, phone FROM messenger_peers ORDER BY interface_id"
    ) == [("vk-a", str(user_of(TO_A)), TO_A), ("vk-b", str(user_of(TO_B)), TO_B)]
    assert await rig.rows("SELECT count(*) FROM inbound_messages") == [(0,)]


# The FlashingCall interfaces' accounts: (id, access key, callback key).
FC_A = ("fc-a", "fc-key-a", "fc-cb-a")
FC_B = ("fc-b", "fc-key-b", "fc-cb-b")


@pytest.fixture
async def fc_rig(installation: Installation) -> AsyncIterator[Rig]:
    """Two flash-call providers as settings, and no account in the environment: the
    callback routes are there all the same. A's callbacks come to the common path (known
    by their key), B's to its own."""
    sink = ReportSink()
    await sink.start()
    ports = _ports(installation, ["grpc", "webhook", "fc-a", "fc-b"])
    callback = f"http://127.0.0.1:{ports['webhook']}/flashcall/callback"
    installation.extra_env.update(
        {
            "RCS_MESSENGERS_TARGET": f"127.0.0.1:{ports['grpc']}",
            "RCS_MESSENGERS_BIND": f"127.0.0.1:{ports['grpc']}",
            "RCS_MESSENGERS_INTERFACE_ID": "messengers",
            "RCS_MESSENGERS_WEBHOOK_PORT": str(ports["webhook"]),
            "RCS_VIBER_AUTH_TOKEN": "unused-viber-token",
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
            "RCS_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("messengers")
        for (label, key, cb_key), url, outcomes in (
            (FC_A, callback, f"{TO_B}=error"),
            (FC_B, f"{callback}/fc-b", ""),
        ):
            env = {
                "RCS_FLASHCALL_SIM_PORT": str(ports[label]),
                "RCS_FLASHCALL_SIM_ACCESS_KEY": key,
                "RCS_FLASHCALL_SIM_CALLBACK_URL": url,
                "RCS_FLASHCALL_SIM_CALLBACK_KEY": cb_key,
                "RCS_FLASHCALL_SIM_OUTCOMES": outcomes,
            }
            installation.start_as(label, "flashcall-simulator", env)
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in ports.values():
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        yield Rig(installation, sink, ports)
    finally:
        await sink.stop()


async def test_two_flashcall_interfaces_each_get_their_own_receipts(fc_rig: Rig) -> None:
    rig = fc_rig
    await put_interfaces(
        rig,
        [
            ss.MessengerInterface(
                id=id_,
                channel=channel_pb2.CHANNEL_FLASH_CALL,
                priority=priority,
                enabled=True,
                api_url=f"http://127.0.0.1:{rig.ports[id_]}",
                token=key,
                webhook_secret=cb_key,
            )
            for (id_, key, cb_key), priority in ((FC_A, 1), (FC_B, 2))
        ],
    )
    log = rig.inst.log_dir / "messengers.log"
    assert await wait_until(lambda: "fc-b" in log.read_text(errors="replace"), within=20), (
        rig.inst.logs()
    )

    mts = {}
    for number, ref in ((TO_A, "call-a"), (TO_B, "call-b")):
        code, answer = await rig.send(number, flashcall("Ваш код 4821"), ref)
        assert code == 200, answer
        mts[number] = str(answer["mtNum"])
        assert await rig.reported(mts[number], 1) == [("FLASHINGCALL", 2, "0")]
    (call_a,) = await rig.sim("fc-a", "/sim/calls")
    (call_b,) = await rig.sim("fc-b", "/sim/calls")
    assert (call_a["number"], call_a["requestId"]) == (TO_A, 1)
    assert (call_b["number"], call_b["requestId"]) == (TO_B, 1)  # the same id, two calls
    assert await rig.rows(
        "SELECT interface_id, operator_key, message_id FROM operator_ids ORDER BY interface_id"
    ) == [("fc-a", "fc-1", int(mts[TO_A])), ("fc-b", "fc-1", int(mts[TO_B]))]

    # A status with another account's key, a guessed one, or for no interface: refused.
    (cb_b,) = await rig.sim("fc-b", "/sim/callbacks")
    busy = {**cb_b, "status": "BUSY"}
    for path, key in (
        ("/flashcall/callback/fc-b", FC_A[2]),
        ("/flashcall/callback", "guess"),
        ("/flashcall/callback/fc-c", FC_B[2]),
    ):
        headers = {"X-Authorization": f"AccessKey {key}"}
        assert await rig.callback(path, busy, headers) == 401, path
    # B's own callback replayed on the common path (known by its key) changes nothing.
    ours = {"X-Authorization": f"AccessKey {FC_B[2]}"}
    assert await rig.callback("/flashcall/callback", cb_b, ours) == 200
    await asyncio.sleep(2)
    for number in (TO_A, TO_B):
        assert rig.reports(mts[number]) == [("FLASHINGCALL", 2, "0")]
