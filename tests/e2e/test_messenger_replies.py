"""Subscribers' replies in messengers reach the partner who owns the sender, over real
sockets and processes: core, dispatcher, routing, REST and SMPP gateways, the messenger
service and the Viber and WhatsApp simulators, which post the providers' signed
callbacks. A reply carries its media link and the id of the message it answers (Viber's
tracking_data, WhatsApp's context wamid) in every MO format: REST v6 (rest_mo.rst), HTTP
v5 (http_mo.rst) and SMPP deliver_sm (SMPP_API.txt tables 4 and 9)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf import field_mask_pb2

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from rcs_smpp.constants import RapportoTag, Tag
from rcs_smpp.encoding import decode_text
from rcs_smpp.pdu import BindReceiver, DeliverSm, DeliverSmResp, Pdu
from rcs_smpp.session import SmppSession
from tests.e2e.installation import Installation, http, wait_until
from tests.e2e.push_stand_in import ReportSink
from tests.e2e.test_viber import TOKEN, Viber, _listening, _ports, send, v6_send, viber_message
from tests.e2e.test_whatsapp import READS, WhatsApp, whatsapp_env, whatsapp_message

pytestmark = pytest.mark.e2e
BUSINESS = "79000000000"  # the WhatsApp simulator's display number
VIBER_SUBSCRIBER = "79170000031"
UNTRACKED_NUMBER = "5555"  # RCS_VIBER_REPLY_NUMBER: replies that name no message


async def _own(inst: Installation, mo_url: str) -> None:
    """The demo partner takes MO at ``mo_url``: Viber replies to its sender RCS in REST v6,
    the WhatsApp business number's over SMPP, untracked Viber messages in HTTP v5."""
    channel = open_channel(f"127.0.0.1:{inst.ports['core']}")
    actor = ss.Actor(login="e2e")
    try:
        settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
        await settings.UpdatePartner(
            ss.UpdatePartnerRequest(
                actor=actor,
                partner=ss.Partner(login="demo", inbound_url=mo_url),
                update_mask=field_mask_pb2.FieldMask(paths=["inbound_url"]),
            ),
            timeout=10,
        )
        for name, number, fmt in (
            ("demo-viber", "RCS", ms.REPORT_FORMAT_REST_V6),
            ("demo-whatsapp", BUSINESS, ms.REPORT_FORMAT_SMPP),
            ("demo-viber-untracked", UNTRACKED_NUMBER, ms.REPORT_FORMAT_HTTP_V5),
        ):
            await settings.PutInboundRoute(
                ss.PutInboundRouteRequest(
                    actor=actor,
                    route=ss.InboundRoute(name=name, number=number, partner="demo", format=fmt),
                ),
                timeout=10,
            )
    finally:
        await channel.close()


@pytest.fixture
async def rig(
    installation: Installation,
) -> AsyncIterator[tuple[Installation, Viber, WhatsApp, ReportSink, int]]:
    sink = ReportSink()
    await sink.start()
    grpc_port, webhook_port, viber_port, wa_port, smpp_port = _ports(installation, 5)
    installation.extra_env.update(
        {
            "RCS_MESSENGERS_TARGET": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_INTERFACE_ID": "messengers-main",
            "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc_port}",
            "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook_port),
            "RCS_VIBER_API_URL": f"http://127.0.0.1:{viber_port}",
            "RCS_VIBER_AUTH_TOKEN": TOKEN,
            "RCS_VIBER_REPLY_NUMBER": UNTRACKED_NUMBER,
            "RCS_VIBER_SIM_PORT": str(viber_port),
            "RCS_VIBER_SIM_AUTH_TOKEN": TOKEN,
            "RCS_VIBER_SIM_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/viber/webhook",
            **whatsapp_env(webhook_port, wa_port),
            "RCS_SMPP_PORT": str(smpp_port),
            "RCS_REPORT_RETRY_BASE_SECONDS": "0.5",
        }
    )
    try:
        installation.start()
        installation.start("viber-simulator", "whatsapp-simulator", "messengers", "smpp")
        await asyncio.to_thread(installation.wait_ready, 120)
        for port in (viber_port, wa_port, webhook_port, grpc_port, smpp_port):
            assert await wait_until(lambda p=port: _listening(p), within=30), installation.logs()
        await _own(installation, sink.url("/mo"))
        yield (
            installation,
            Viber(viber_port, webhook_port),
            WhatsApp(wa_port, webhook_port),
            sink,
            smpp_port,
        )
    finally:
        await sink.stop()


async def test_viber_reply_with_a_picture_reaches_the_partner_naming_the_message_it_answers(
    rig: tuple[Installation, Viber, WhatsApp, ReportSink, int],
) -> None:
    inst, viber, _, sink, _ = rig
    message = viber_message("TEXT", {"text": "Оцените доставку"})
    code, answer = await send(inst, v6_send(VIBER_SUBSCRIBER, message, sink, "order-7"))
    assert code == 200, answer
    mt_num = str(answer["mtNum"])
    assert await wait_until(lambda: len(sink.of("mtNum", mt_num)) >= 2, within=30), inst.logs()
    (sent,) = await viber.get("/sim/messages")
    assert sent["tracking_data"] == mt_num

    # The subscriber answers with a picture and a word; Viber passes tracking_data back.
    photo = "https://media.viber.example/p/1.jpg"
    code, _ = await asyncio.to_thread(
        _post,
        viber.sim + "/sim/reply",
        {"from": VIBER_SUBSCRIBER, "text": "Отлично", "image": photo, "tracking_data": mt_num},
    )
    assert code == 200
    assert await wait_until(lambda: _mo(sink), within=30), (
        sink.reports,
        inst.logs(),
    )
    (mo,) = _mo(sink)
    assert mo["type"] == "VIBER"
    assert (mo["sourceAddr"], mo["destAddr"]) == (VIBER_SUBSCRIBER, "RCS")
    assert (mo["message"], mo["mediaURL"]) == ("Отлично", photo)
    assert (mo["mtNum"], mo["id"]) == (mt_num, "order-7")
    assert mo["partCount"] == 1
    assert mo["receivedDate"]

    # The callback replayed as sent (signature and all): answered, recorded once.
    (callback,) = [c for c in await viber.get("/sim/callbacks") if '"message"' in c["body"]]
    assert await viber.post_callback(callback["body"], callback["signature"]) == 200
    assert await viber.post_callback(callback["body"], "0" * 64) == 403
    await asyncio.sleep(3)  # long enough for a second report (retry base 0.5 s)
    assert len(_mo(sink)) == 1

    # A message that names none of ours goes to RCS_VIBER_REPLY_NUMBER's route (HTTP v5).
    code, _ = await asyncio.to_thread(
        _post, viber.sim + "/sim/reply", {"from": VIBER_SUBSCRIBER, "text": "Привет"}
    )
    assert code == 200

    def v5() -> list[dict[str, Any]]:
        return [r for r in sink.reports if r.get("clientId") == VIBER_SUBSCRIBER]

    assert await wait_until(v5, within=30), (sink.reports, inst.logs())
    (got,) = v5()
    assert (got["message"], got["shortNumber"], got["msgType"]) == ("Привет", "5555", "VIBER")
    assert "transactionId" not in got
    assert "mediaURL" not in got


async def test_whatsapp_image_reply_reaches_the_smpp_receiver_with_its_link_and_original_id(
    rig: tuple[Installation, Viber, WhatsApp, ReportSink, int],
) -> None:
    inst, _, wa, sink, smpp_port = rig
    received: list[DeliverSm] = []

    async def on_request(pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm):
            received.append(pdu)
            return DeliverSmResp()
        return None

    reader, writer = await asyncio.open_connection("127.0.0.1", smpp_port)
    esme = SmppSession(reader, writer, on_request, window=10, name="esme")
    esme.start()
    try:
        resp = await esme.send_request(BindReceiver(system_id="demo", password="demo"))
        assert resp.command_status == 0
        message = whatsapp_message("TEXT", {"text": "Ваш заказ готов"})
        code, answer = await send(inst, v6_send(READS, message, sink, "wa-7"))
        assert code == 200, answer
        mt_num = str(answer["mtNum"])
        assert await wait_until(lambda: len(sink.of("mtNum", mt_num)) >= 2, within=30)
        (sent,) = await wa.get("/sim/messages")

        photo = "https://lookaside.example/media/42.jpg"
        reply = {"from": READS, "text": "Вот фото", "image": photo, "context": sent["wamid"]}
        await wa.post("/sim/reply", reply)
        assert await wait_until(lambda: received, within=30), inst.logs()
        (pdu,) = received
        assert (pdu.source_addr, pdu.destination_addr) == (READS, BUSINESS)
        assert decode_text(pdu.data_coding, pdu.short_message) == "Вот фото"
        assert pdu.tlvs.get_cstring(Tag.RECEIPTED_MESSAGE_ID) == mt_num
        assert pdu.tlvs.get_cstring(RapportoTag.PTAG) == "wa-7"  # the partner's id for it
        assert pdu.tlvs.get_cstring(RapportoTag.MESSAGE_TYPE) == "WHATSAPP"
        assert pdu.tlvs.get_cstring(RapportoTag.VIBER_IMAGE_URL) == photo
        # The notification names the media by id only; the link came from GET /{media-id}.
        (note,) = [
            json.loads(n["body"])
            for n in await wa.get("/sim/notifications")
            if '"image"' in n["body"]
        ]
        image = note["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
        assert "link" not in image
        assert image["id"]
    finally:
        await esme.unbind()


def _mo(sink: ReportSink) -> list[dict[str, Any]]:
    return [r for r in sink.reports if "receivedDate" in r and "type" in r]


def _post(url: str, doc: Any) -> tuple[int, Any]:
    return http("POST", url, doc)
