"""Requests for channels this installation does not deliver yet are refused with the
documented error instead of going out as SMS: REST v6 types (406, code 9), HTTP v5 Viber
parameters on a login whose service is SMS (400), SMPP Viber TLVs (0x45). Nothing is
stored for them."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import pytest

from rcs_runtime import channels
from rcs_smpp.pdu import BindTransceiver, SubmitSm
from rcs_smpp.session import SmppSession
from tests.integration.test_http_v5 import CREDENTIALS, PATH, Client, api, count_messages, ok_id
from tests.integration.test_smpp_gateway import LOGIN, PASSWORD, Rig, rig

pytestmark = pytest.mark.integration
__all__ = ["api", "rig"]  # the fixtures, shared with the gateways' own tests


@pytest.mark.parametrize("message_type", ["IVR", "ivr"])
async def test_rest_v6_types_of_unbuilt_channels_are_406_code_9(
    api: Client, database_url: str, message_type: str
) -> None:
    body = {
        "login": "acme",
        "password": "pw-12345",
        "destAddr": "79161234567",
        "message": {"type": message_type, "data": {"text": "Hi", "serviceNumber": "ACME"}},
    }
    resp = await api.post("/api/v6/send", json=body)
    answer = await resp.json()
    assert resp.status == 406, answer
    assert answer["error"] == {"code": 9, "description": "Message type is not correct"}
    assert f"{channels.built_list()} are available" in answer["extendedDescription"]
    assert await count_messages(database_url) == 0


@pytest.mark.parametrize(
    "extra",
    # imageUrl, buttonText and buttonLink are push parameters too (http_push.rst): a
    # request with them is a push, tested with the push API.
    [{"viberTtl": "600"}],
)
async def test_http_v5_viber_parameters_are_400_not_an_sms(
    api: Client, database_url: str, extra: dict[str, str]
) -> None:
    query = urlencode({**CREDENTIALS, "clientId": "79161234567", "message": "Hi", **extra})
    resp = await api.get(f"{PATH}?{query}")
    text = await resp.text()
    assert resp.status == 400, text
    # The login's service is SMS: a Viber parameter is refused, not dropped.
    assert text.startswith("Invalid request, viberTtl is a VIBER parameter"), text
    assert await count_messages(database_url) == 0
    # The same request without them is an SMS, as before.
    plain = urlencode({**CREDENTIALS, "clientId": "79161234567", "message": "Hi"})
    resp = await api.get(f"{PATH}?{plain}")
    ok_id(resp.status, await resp.text())


async def _submit(port: int, tlvs: dict[int, bytes]) -> int:
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
            short_message=b"Hi",
        )
        pdu.tlvs.update(tlvs)
        resp = await session.send_request(pdu)
        return int(resp.command_status)
    finally:
        await session.close()


@pytest.mark.parametrize("tag", [0x1433, 0x1434, 0x1435, 0x1436])
async def test_smpp_viber_tlvs_are_refused_0x45(rig: Rig, tag: int) -> None:
    port = await rig.start()
    assert await _submit(port, {tag: b"x\x00"}) == 0x45
    assert await rig.count() == 0
    assert await _submit(port, {}) == 0  # without it, an SMS as before
    assert await rig.count() == 1
