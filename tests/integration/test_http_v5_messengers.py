"""HTTP API v5 requests of a login whose service is VIBER, WHATSAPP, VK or FLASHINGCALL
(Partner.service_type), over real HTTP → real gRPC → core on real PostgreSQL: what each
document's parameters become in the stored message, and the documented refusals (400,
414), which store nothing. The messages' way to the providers is tests/e2e's."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import psycopg
import pytest

from rcs.common.v1 import message_pb2
from rcs_core.settings.partner_channels import grant_every_messenger
from tests.integration.test_http_v5 import CREDENTIALS, PATH, Client, api, count_messages, ok_id

pytestmark = pytest.mark.integration
__all__ = ["api"]
TO = "79161234567"


async def serve(database_url: str, service_type: str) -> None:
    """Make acme's service ``service_type`` before its first request (no cached grant)."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "UPDATE partners SET service_type = %s, senders = '{SHOP,mygroup}'"
            " WHERE login = 'acme'",
            (service_type,),
        )
        await conn.commit()


async def send(api: Client, **params: str) -> tuple[int, str]:
    resp = await api.get(f"{PATH}?{urlencode({**CREDENTIALS, 'clientId': TO, **params})}")
    return resp.status, await resp.text()


async def row(database_url: str, message_id: str) -> tuple[Any, ...]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT channel, sender, body, push,"
            " extract(epoch FROM valid_until - created_at)::int FROM messages WHERE id = %s",
            (int(message_id),),
        )
        found = await cur.fetchone()
        assert found is not None
        return tuple(found)


def viber_of(blob: bytes) -> message_pb2.ViberContent:
    content = message_pb2.ViberContent()
    content.ParseFromString(blob)
    return content


async def test_viber_service_sends_every_documented_shape(api: Client, database_url: str) -> None:
    await serve(database_url, "VIBER")
    button = {"buttonText": "Открыть", "buttonLink": "https://shop.example/o/1"}
    image = "https://shop.example/i.png"
    code, text = await send(api, message="Заказ готов", imageUrl=image, source="SHOP", **button)
    channel, sender, body, blob, ttl = await row(database_url, ok_id(code, text))
    assert (channel, sender, body) == (3, "SHOP", "Заказ готов")
    content = viber_of(blob)
    assert (content.text, content.image_url, content.button_caption, content.button_action) == (
        "Заказ готов",
        image,
        "Открыть",
        "https://shop.example/o/1",
    )
    assert ttl == 86400  # no viberTtl: the login's default (a day), within Viber's range
    # An image alone, a text alone, a text with a button; viberTtl out of 30-86400 is
    # rounded to it (http_viber.rst), within it taken as is.
    for params, ttl_seconds in (
        ({"imageUrl": image, "viberTtl": "5"}, 30),
        ({"message": "hi", "viberTtl": "600"}, 600),
        ({"message": "hi", "viberTtl": "999999", **button}, 86400),
    ):
        code, text = await send(api, **params)
        channel, sender, _, blob, ttl = await row(database_url, ok_id(code, text))
        assert (channel, sender, ttl) == (3, "ACME", ttl_seconds), params
        assert viber_of(blob).image_url == params.get("imageUrl", "")


@pytest.mark.parametrize(
    ("service", "params", "status", "answer"),
    [
        ("VIBER", {"message": "x" * 1001}, 414, "Message is too long, message is 1001"),
        ("VIBER", {}, 400, "Invalid request, message is required"),
        ("VIBER", {"message": "hi", "buttonText": "Go"}, 400, "Invalid request, buttonText and"),
        ("VIBER", {"message": "hi", "buttonLink": "https://a.b"}, 400, "Invalid request, buttonT"),
        (
            "VIBER",
            {"message": "hi", "buttonText": "x" * 31, "buttonLink": "https://a.b"},
            400,
            "Invalid request, buttonText is at most 30",
        ),
        (
            "VIBER",
            {"message": "hi", "buttonText": "Go", "buttonLink": "ftp://a.b"},
            400,
            "Invalid request, buttonLink must begin with",
        ),
        ("VIBER", {"imageUrl": "i.png"}, 400, "Invalid request, imageUrl must begin with"),
        (
            "VIBER",
            {"message": "hi", "imageUrl": "https://a.b/i.png"},
            400,
            "Invalid request, a Viber message is message; imageUrl;",
        ),
        (
            "VIBER",
            {"imageUrl": "https://a.b/i.png", "buttonText": "Go", "buttonLink": "https://a.b"},
            400,
            "Invalid request, a Viber message is message; imageUrl;",
        ),
        ("VIBER", {"message": "hi", "viberTtl": "soon"}, 400, "Invalid request, viberTtl must"),
        ("WHATSAPP", {"message": "x" * 1001}, 414, "Message is too long, message is 1001"),
        (
            "WHATSAPP",
            {"message": "hi", "imageUrl": "https://a.b/i.png"},
            400,
            "Invalid request, WhatsApp over the HTTP API sends text only",
        ),
        ("WHATSAPP", {}, 400, "Invalid request, message is required"),
        ("VK", {"message": "x" * 2049}, 414, "Message is too long, message is 2049"),
        ("VK", {"message": "hi", "viberTtl": "60"}, 400, "Invalid request, viberTtl is a Viber"),
        (
            "FLASHINGCALL",
            {"message": "no code here"},
            400,
            "Invalid request, Flashing Call text should contain a 4(6)-digit code",
        ),
        (
            "FLASHINGCALL",
            {"message": "codes 1234 and 5678"},
            400,
            "Invalid request, Flashing Call text should contain a 4(6)-digit code",
        ),
        ("FLASHINGCALL", {"message": "1234 " + "x" * 1996}, 414, "Message is too long"),
    ],
)
async def test_bad_input_gets_the_documented_answer_and_stores_nothing(
    api: Client,
    database_url: str,
    service: str,
    params: dict[str, str],
    status: int,
    answer: str,
) -> None:
    await serve(database_url, service)
    code, text = await send(api, **params)
    assert (code, text[: len(answer)]) == (status, answer), text
    assert await count_messages(database_url) == 0
    # The same in XML: the code in <code>, HTTP 200 (http_*.rst "Ответ в формате XML").
    code, text = await send(api, output="xml", **params)
    assert code == 200, text
    assert f"<code>{status}</code>" in text, text
    assert await count_messages(database_url) == 0


async def test_whatsapp_vk_and_flashcall_services_store_their_type(
    api: Client, database_url: str
) -> None:
    # One login per service type: acme (WHATSAPP) and two more with the other types.
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for login, kind, sender in (("acme-vk", "VK", "mygroup"), ("acme-fc", "FLASHINGCALL", "")):
            await conn.execute(
                "INSERT INTO partners (login, password_hash, default_sender, default_ttl_seconds,"
                " service_type) SELECT %s, password_hash, %s, 172800, %s FROM partners"
                " WHERE login = 'acme'",
                (login, sender, kind),
            )
            await grant_every_messenger(conn, login)
        await conn.commit()
    await serve(database_url, "WHATSAPP")
    code, text = await send(api, message="Ваш код 4321")
    channel, sender, body, blob, ttl = await row(database_url, ok_id(code, text))
    assert (channel, sender, body, viber_of(blob).text) == (
        4,
        "ACME",
        "Ваш код 4321",
        "Ваш код 4321",
    )
    assert ttl == 86400  # the login's day, in WhatsApp's whole days
    for login, channel_id, ttl_seconds in (("acme-vk", 5, 86400), ("acme-fc", 6, 300)):
        resp = await api.get(
            f"{PATH}?"
            + urlencode(
                {"serviceId": login, "pass": "pw-12345", "clientId": TO, "message": "код 4321"}
            )
        )
        message_id = ok_id(resp.status, await resp.text())
        channel, _, body, _, ttl = await row(database_url, message_id)
        # The login's two days, cut to the channel's longest (VK a day, a flash call 5 min).
        assert (channel, body, ttl) == (channel_id, "код 4321", ttl_seconds), login
