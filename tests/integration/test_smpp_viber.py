"""SMPP submit_sm with Rapporto's Viber TLVs (SMPP_API.txt 4.2, table 4) over a real socket
→ real gRPC → core on real PostgreSQL: the stored Viber message of each documented shape,
viberTTL rounded into 30-86400, a Viber → SMS cascade (cascade_order "I,S") carrying the
image and button on its Viber message, and the documented command_status for bad values
(0xC4; 0x01 for a text over 1000 characters), storing nothing. A plain submit_sm of a login
whose service is not SMS (Partner.service_type) is a message of the service's type."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_smpp.constants import RapportoTag
from rcs_smpp.pdu import BindTransceiver, SubmitSm
from rcs_smpp.session import SmppSession
from tests.integration.test_smpp_gateway import LOGIN, PASSWORD, Rig, rig

pytestmark = pytest.mark.integration
__all__ = ["rig"]
IMAGE, LINK = b"https://shop.example/i.png", b"https://shop.example/o/1\x00"
CAPTION = "Открыть".encode()


async def submit(
    port: int, text: str, tlvs: dict[RapportoTag, bytes], *, payload: bool = False
) -> Any:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def no_requests(_pdu: Any) -> None:
        return None

    session = SmppSession(reader, writer, no_requests, window=1, name="esme")
    session.start()
    try:
        bind = await session.send_request(BindTransceiver(system_id=LOGIN, password=PASSWORD))
        assert bind.command_status == 0
        pdu = SubmitSm(
            source_addr="ACME",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="79161234567",
            data_coding=8,
            short_message=b"" if payload else text.encode("utf-16-be"),
        )
        if payload:
            pdu.tlvs.message_payload = text.encode("utf-16-be")
        pdu.tlvs.update({int(tag): value for tag, value in tlvs.items()})
        return await session.send_request(pdu)
    finally:
        await session.close()


async def stored(rig: Rig, message_id: str) -> tuple[int, message_pb2.ViberContent, int]:
    (row,) = await rig.rows(
        "SELECT channel, push, extract(epoch FROM valid_until - created_at)::int"
        f" FROM messages WHERE id = {int(message_id)}"
    )
    content = message_pb2.ViberContent()
    content.ParseFromString(row[1] or b"")
    return int(row[0]), content, int(row[2])


async def links_of(rig: Rig, message_id: str) -> list[tuple[int, str, str]]:
    """(channel, text, Viber button link) of each link after a cascade's first message."""
    (row,) = await rig.rows(f"SELECT links FROM cascades WHERE id = {int(message_id)}")
    out = []
    for blob in row[0]:
        link = ms.CascadeLink()
        link.ParseFromString(blob)
        text = link.viber.text if link.channel == 3 else link.sms.text
        out.append((int(link.channel), text, link.viber.button_action))
    return out


async def test_viber_tlvs_make_a_viber_message_of_each_shape(rig: Rig) -> None:
    port = await rig.start()
    button = {RapportoTag.VIBER_ACTION: LINK, RapportoTag.VIBER_CAPTION: CAPTION}
    full = {**button, RapportoTag.VIBER_IMAGE_URL: IMAGE, RapportoTag.VIBER_TTL: b"120"}
    resp = await submit(port, "Заказ готов", full)
    assert resp.command_status == 0
    channel, content, ttl = await stored(rig, resp.message_id)
    assert (channel, content.service_number, content.text) == (3, "ACME", "Заказ готов")
    assert (content.image_url, content.button_caption, content.button_action) == (
        IMAGE.decode(),
        "Открыть",
        "https://shop.example/o/1",
    )
    assert ttl == 120
    # An image alone (viberTTL under 30 is rounded up); a text with a button (over 86400
    # rounded down); a long text in message_payload (the viberTTL TLV alone names Viber).
    for text, tlvs, payload, seconds in (
        ("", {RapportoTag.VIBER_IMAGE_URL: IMAGE, RapportoTag.VIBER_TTL: b"5"}, False, 30),
        ("hi", {**button, RapportoTag.VIBER_TTL: b"99999"}, False, 86400),
        ("д" * 1000, {RapportoTag.VIBER_TTL: b"600\x00"}, True, 600),
    ):
        resp = await submit(port, text, tlvs, payload=payload)
        assert resp.command_status == 0, tlvs
        channel, content, ttl = await stored(rig, resp.message_id)
        assert (channel, content.text, ttl) == (3, text, seconds), tlvs


async def test_viber_then_sms_cascade_carries_the_button_on_its_viber_message(rig: Rig) -> None:
    port = await rig.start()
    tlvs = {
        RapportoTag.CASCADE_ORDER: b"I,S",
        RapportoTag.VIBER_ACTION: LINK,
        RapportoTag.VIBER_CAPTION: CAPTION,
    }
    resp = await submit(port, "код 1234", tlvs)
    assert resp.command_status == 0
    channel, content, _ = await stored(rig, resp.message_id)
    assert (channel, content.text, content.button_action) == (3, "код 1234", LINK[:-1].decode())
    assert await links_of(rig, resp.message_id) == [(1, "код 1234", "")]
    # SMS first, then Viber (with its own text, 0x1439): the Viber link gets the button.
    tlvs = {
        RapportoTag.CASCADE_ORDER: b"S,I",
        RapportoTag.SMS_CASCADE_MODE: b"Y",
        RapportoTag.VIBER_CASCADE_MODE: b"Y",
        RapportoTag.VIBER_CASCADE_TEXT: "Заказ".encode(),
        RapportoTag.VIBER_ACTION: LINK,
        RapportoTag.VIBER_CAPTION: CAPTION,
    }
    resp = await submit(port, "код 1234", tlvs)
    assert resp.command_status == 0
    (row,) = await rig.rows(f"SELECT channel FROM messages WHERE id = {int(resp.message_id)}")
    assert row == (1,)
    assert await links_of(rig, resp.message_id) == [(3, "Заказ", LINK[:-1].decode())]
    # A plain "I,S" without Viber TLVs is a Viber text, then the SMS.
    resp = await submit(port, "код 1234", {RapportoTag.CASCADE_ORDER: b"I,S"})
    assert resp.command_status == 0
    channel, content, _ = await stored(rig, resp.message_id)
    assert (channel, content.text, content.button_action) == (3, "код 1234", "")


@pytest.mark.parametrize(
    ("text", "tlvs", "status"),
    [
        ("hi", {RapportoTag.VIBER_CAPTION: CAPTION}, 0xC4),  # a caption without its link
        ("hi", {RapportoTag.VIBER_ACTION: LINK}, 0xC4),  # a link without its caption
        ("hi", {RapportoTag.VIBER_ACTION: b"ftp://a", RapportoTag.VIBER_CAPTION: b"Go"}, 0xC4),
        ("hi", {RapportoTag.VIBER_ACTION: LINK, RapportoTag.VIBER_CAPTION: b"x" * 21}, 0xC4),
        ("", {RapportoTag.VIBER_IMAGE_URL: b"i.png"}, 0xC4),
        ("hi", {RapportoTag.VIBER_IMAGE_URL: IMAGE}, 0xC4),  # text + image needs a button
        ("", {RapportoTag.VIBER_TTL: b"60"}, 0xC4),  # neither text nor image
        ("hi", {RapportoTag.VIBER_TTL: b"soon"}, 0xC4),
        ("hi", {RapportoTag.VIBER_TTL: b"123456"}, 0xC4),
        ("д" * 1001, {RapportoTag.VIBER_TTL: b"60"}, 0x01),
        ("hi", {RapportoTag.CASCADE_ORDER: b"P,S", RapportoTag.VIBER_TTL: b"60"}, 0xC4),
    ],
)
async def test_bad_viber_tlvs_get_the_documented_status_and_store_nothing(
    rig: Rig, text: str, tlvs: dict[RapportoTag, bytes], status: int
) -> None:
    port = await rig.start()
    resp = await submit(port, text, tlvs, payload=len(text) > 100)
    assert resp.command_status == status
    assert await rig.count() == 0


@pytest.mark.parametrize(
    ("service", "channel"),
    [("VIBER", 3), ("WHATSAPP", 4), ("VK", 5), ("FLASHINGCALL", 6), ("PUSH", 2)],
)
async def test_plain_submit_of_a_non_sms_service_is_a_message_of_its_type(
    rig: Rig, service: str, channel: int
) -> None:
    await rig.execute(f"UPDATE partners SET service_type = '{service}' WHERE login = '{LOGIN}'")
    port = await rig.start()
    resp = await submit(port, "Ваш код 4821", {})
    assert resp.command_status == 0
    (row,) = await rig.rows(
        f"SELECT channel, body, sender FROM messages WHERE id = {int(resp.message_id)}"
    )
    assert row == (channel, "Ваш код 4821", "ACME")


async def test_plain_submit_of_a_flashcall_service_without_a_code_is_refused(rig: Rig) -> None:
    await rig.execute(f"UPDATE partners SET service_type = 'FLASHINGCALL' WHERE login = '{LOGIN}'")
    port = await rig.start()
    resp = await submit(port, "no code here", {})
    assert resp.command_status == 0x45  # INVALID_TEXT in the catalogue
    assert await rig.count() == 0
