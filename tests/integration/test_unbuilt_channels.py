"""Requests for channels this installation does not deliver yet are refused with the
documented error instead of going out as SMS: REST v6 types (406, code 9), HTTP v5 Viber
parameters on a login whose service is SMS (400). Nothing is stored for them. (SMPP's
Viber TLVs make Viber messages: tests/integration/test_smpp_viber.py.)"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from rcs_runtime import channels
from tests.integration.test_http_v5 import CREDENTIALS, PATH, Client, api, count_messages, ok_id

pytestmark = pytest.mark.integration
__all__ = ["api"]  # the fixture, shared with the gateway's own tests


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
