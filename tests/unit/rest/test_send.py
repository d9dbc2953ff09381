"""POST /api/v6/send over real HTTP against a fake core on a real gRPC port."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf import duration_pb2

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2
from tests.conftest import free_port
from tests.unit.rest.conftest import Client, gateway, post_send, sms_body
from tests.unit.rest.fakes import FIRST_ID, FakeCore

DESCRIPTIONS = {
    1: "Service is unavailable",
    4: "Invalid request",
    5: "Invalid login",
    6: "Invalid password",
    7: "serviceNumber is not defined",
    8: "destAddr is not correct",
    9: "Message type is not correct",
    10: "Prohibited sending duplicates",
    11: "Invalid TTL",
    100: "100",
}


def assert_error(status: int, body: Any, code: int, http_status: int) -> None:
    assert (status, body["error"]["code"]) == (http_status, code), body
    assert body["error"]["description"] == DESCRIPTIONS[code]
    assert isinstance(body["extendedDescription"], str)
    assert body["extendedDescription"]
    assert set(body) == {"error", "extendedDescription"}


async def test_accepted_sms_answers_mt_num_and_partner_id(client: Client, core: FakeCore) -> None:
    resp, body = await post_send(client, sms_body(id="p-1"))
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert body == {"mtNum": str(FIRST_ID), "id": "p-1"}
    (request,) = core.messages.submits
    assert request.partner == "acme"
    assert list(request.messages) == [
        message_service_pb2.MessageSubmission(
            client_ref="p-1",
            destination="79161234567",
            channel=channel_pb2.CHANNEL_SMS,
            sms=message_pb2.SmsContent(text="Hello", sender="RCS"),
            priority=0,
            ttl=duration_pb2.Duration(seconds=0),
            receipt_request=message_pb2.RECEIPT_REQUEST_ALL,
            # REST v6 delivery reports, to the URL configured for the partner.
            report_format=message_service_pb2.REPORT_FORMAT_REST_V6,
        )
    ]


async def test_answer_has_no_id_when_the_partner_gave_none(client: Client) -> None:
    resp, body = await post_send(client, sms_body())
    assert (resp.status, body) == (200, {"mtNum": str(FIRST_ID)})


async def test_repeated_partner_id_returns_the_same_mt_num(client: Client, core: FakeCore) -> None:
    _, first = await post_send(client, sms_body(id="order-42"))
    resp, again = await post_send(client, sms_body(id="order-42"))
    _, other = await post_send(client, sms_body(id="order-43"))
    assert resp.status == 200
    assert again == first == {"mtNum": str(FIRST_ID), "id": "order-42"}
    assert other["mtNum"] != first["mtNum"]
    assert len(core.messages.stored) == 2


@pytest.mark.parametrize(
    ("ttl", "unit", "seconds"),
    [
        (10, None, 600),
        (2880, "MINUTES", 172_800),
        (1, "SECONDS", 1),
        (172_800, "SECONDS", 172_800),
        (48, "HOURS", 172_800),
        (2, "hours", 7200),
        (0, None, 0),
        (0, "HOURS", 0),
        (None, None, 0),
    ],
)
async def test_ttl_with_its_unit_becomes_a_duration(
    client: Client, core: FakeCore, ttl: int | None, unit: str | None, seconds: int
) -> None:
    resp, _ = await post_send(client, sms_body(data={"ttl": ttl, "ttlUnit": unit}))
    assert resp.status == 200
    (sub,) = core.messages.received
    assert sub.ttl == duration_pb2.Duration(seconds=seconds)


@pytest.mark.parametrize(
    ("registered", "receipt"),
    [
        (0, message_pb2.RECEIPT_REQUEST_NONE),
        (1, message_pb2.RECEIPT_REQUEST_ALL),
        (2, message_pb2.RECEIPT_REQUEST_FAILURES),
        (None, message_pb2.RECEIPT_REQUEST_ALL),
    ],
)
async def test_registered_delivery_selects_the_receipts(
    client: Client, core: FakeCore, registered: int | None, receipt: int
) -> None:
    resp, _ = await post_send(client, sms_body(registeredDelivery=registered))
    assert resp.status == 200
    assert core.messages.received[0].receipt_request == receipt


async def test_sms_priority_is_passed_to_core(client: Client, core: FakeCore) -> None:
    resp, _ = await post_send(client, sms_body(smsPriority=2))
    assert resp.status == 200
    assert core.messages.received[0].priority == 2


@pytest.mark.parametrize("dest", ["+7 (916) 123-45-67", "8-916-123-45-67", "0079161234567"])
async def test_number_notations_go_to_core_unchanged_for_it_to_normalise(
    client: Client, core: FakeCore, dest: str
) -> None:
    resp, _ = await post_send(client, sms_body(destAddr=dest))
    assert resp.status == 200
    assert core.messages.received[0].destination == dest


async def test_unknown_fields_are_ignored(client: Client) -> None:
    resp, _ = await post_send(client, sms_body(useTimeDiff=True, shortenLinks=False))
    assert resp.status == 200


@pytest.mark.parametrize("charset", ["windows-1251", "cp1251", "koi8-r", "KOI8-R", "utf-16"])
async def test_declared_charset_decodes_cyrillic_text(
    client: Client, core: FakeCore, charset: str
) -> None:
    body = sms_body(id="кир-1", data={"text": "Привет, мир! Код 1234"})
    resp, answer = await post_send(
        client, body, content_type=f"application/json; charset={charset}", charset=charset
    )
    assert resp.status == 200, answer
    assert answer["id"] == "кир-1"
    (sub,) = core.messages.received
    assert sub.sms.text == "Привет, мир! Код 1234"
    assert sub.client_ref == "кир-1"


async def test_utf8_is_the_default_charset(client: Client, core: FakeCore) -> None:
    resp, _ = await post_send(client, sms_body(data={"text": "Привет 👋"}))
    assert resp.status == 200
    assert core.messages.received[0].sms.text == "Привет 👋"


async def test_a_leading_utf8_byte_order_mark_is_accepted(client: Client) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(sms_body()).encode()
    resp, _ = await post_send(client, raw)
    assert resp.status == 200


def _raw(doc: dict[str, Any], charset: str = "utf-8") -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode(charset)


REJECTED: list[Any] = [
    # (case id, body (dict or raw bytes), content type, code, HTTP status)
    ("malformed JSON", b'{"login": "acme",', "application/json", 4, 400),
    ("empty body", b"", "application/json", 4, 400),
    ("JSON array", b"[1, 2]", "application/json", 4, 400),
    ("NaN", _raw(sms_body()).replace(b'"Hello"', b"NaN"), "application/json", 4, 400),
    (
        "invalid UTF-8 by default",
        _raw(sms_body()).replace(b"Hello", b"Hel\xfflo"),
        "application/json",
        4,
        400,
    ),
    (
        "bytes invalid in the declared windows-1251",
        _raw(sms_body(data={"text": "Привет"}), "cp1251").replace(b"\xcf", b"\x98"),
        "application/json; charset=windows-1251",
        4,
        400,
    ),
    ("unknown charset", _raw(sms_body()), "application/json; charset=x-nope-42", 4, 400),
    ("non-text codec as charset", _raw(sms_body()), "application/json; charset=base64", 4, 400),
    ("text/plain", _raw(sms_body()), "text/plain", 4, 400),
    ("form content type", _raw(sms_body()), "application/x-www-form-urlencoded", 4, 400),
    ("missing login", sms_body(login=None), "application/json", 4, 400),
    ("empty login", sms_body(login=""), "application/json", 4, 400),
    ("missing password", sms_body(password=None), "application/json", 4, 400),
    ("missing destAddr", sms_body(destAddr=None), "application/json", 4, 400),
    ("missing message", sms_body(message=None), "application/json", 4, 400),
    ("missing message type", sms_body(message={"data": {"text": "x"}}), "application/json", 4, 400),
    ("missing message data", sms_body(message={"type": "SMS"}), "application/json", 4, 400),
    ("missing text", sms_body(data={"text": None}), "application/json", 4, 400),
    ("empty text", sms_body(data={"text": ""}), "application/json", 4, 400),
    ("login is a number", sms_body(login=5), "application/json", 4, 400),
    ("destAddr is a list", sms_body(destAddr=["79161234567"]), "application/json", 4, 400),
    ("message is a string", sms_body(message="hi"), "application/json", 4, 400),
    ("data is a list", sms_body(message={"type": "SMS", "data": []}), "application/json", 4, 400),
    ("text is a number", sms_body(data={"text": 12}), "application/json", 4, 400),
    ("id is an object", sms_body(id={"a": 1}), "application/json", 4, 400),
    ("ttl is a string", sms_body(data={"ttl": "10"}), "application/json", 4, 400),
    ("ttl is a float", sms_body(data={"ttl": 1.5}), "application/json", 4, 400),
    ("ttl is a boolean", sms_body(data={"ttl": True}), "application/json", 4, 400),
    ("registeredDelivery 3", sms_body(registeredDelivery=3), "application/json", 4, 400),
    ("registeredDelivery text", sms_body(registeredDelivery="1"), "application/json", 4, 400),
    ("smsPriority 3", sms_body(smsPriority=3), "application/json", 4, 400),
    ("empty notifyUrl", sms_body(notifyUrl=""), "application/json", 4, 400),
    ("notifyUrl is a number", sms_body(notifyUrl=1), "application/json", 4, 400),
    (
        "notifyUrl over 2048",
        sms_body(notifyUrl="https://p.example/" + "x" * 2031),
        "application/json",
        4,
        400,
    ),
    ("scheduleInfo is a list", sms_body(scheduleInfo=[]), "application/json", 4, 400),
    ("timeBegin 25:00", sms_body(scheduleInfo={"timeBegin": "25:00"}), "application/json", 4, 400),
    (
        "deadline passed",
        sms_body(scheduleInfo={"deadline": "2024-05-10T16:29:30+0300"}),
        "application/json",
        4,
        400,
    ),
    ("NUL in text", sms_body(data={"text": "a\u0000b"}), "application/json", 4, 400),
    ("lone surrogate", _raw(sms_body()).replace(b"Hello", b"\\ud800"), "application/json", 4, 400),
    ("letters as number", sms_body(destAddr="abc"), "application/json", 8, 406),
    ("too few digits", sms_body(destAddr="12345"), "application/json", 8, 406),
    ("too many digits", sms_body(destAddr="7916123456789012345"), "application/json", 8, 406),
    ("empty number", sms_body(destAddr=""), "application/json", 4, 400),
    ("plus inside number", sms_body(destAddr="7916+1234567"), "application/json", 8, 406),
    (
        "type IVR",
        sms_body(message={"type": "IVR", "data": {}}),
        "application/json",
        9,
        406,
    ),
    (
        "type FOO",
        sms_body(message={"type": "FOO", "data": {"text": "x"}}),
        "application/json",
        9,
        406,
    ),
    ("ttl 2881 minutes", sms_body(data={"ttl": 2881}), "application/json", 11, 406),
    ("ttl 49 hours", sms_body(data={"ttl": 49, "ttlUnit": "HOURS"}), "application/json", 11, 406),
    (
        "ttl 172801 seconds",
        sms_body(data={"ttl": 172_801, "ttlUnit": "SECONDS"}),
        "application/json",
        11,
        406,
    ),
    ("negative ttl", sms_body(data={"ttl": -1}), "application/json", 11, 406),
    ("huge ttl", sms_body(data={"ttl": 10**30}), "application/json", 11, 406),
    ("ttlUnit DAYS", sms_body(data={"ttl": 1, "ttlUnit": "DAYS"}), "application/json", 11, 406),
    ("ttlUnit alone", sms_body(data={"ttlUnit": "WEEKS"}), "application/json", 11, 406),
    ("unknown login", sms_body(login="nobody"), "application/json", 5, 401),
    ("wrong password", sms_body(password="guess"), "application/json", 6, 401),
]


@pytest.mark.parametrize(
    ("body", "content_type", "code", "http_status"),
    [pytest.param(*case[1:], id=case[0]) for case in REJECTED],
)
async def test_rejected_request_gets_rapporto_error_and_reaches_no_submit(
    client: Client,
    core: FakeCore,
    body: Any,
    content_type: str,
    code: int,
    http_status: int,
) -> None:
    resp, answer = await post_send(client, body, content_type=content_type)
    assert_error(resp.status, answer, code, http_status)
    assert core.messages.submits == []


async def test_body_over_one_mebibyte_is_refused_without_submit(
    client: Client, core: FakeCore
) -> None:
    raw = _raw(sms_body(data={"text": "x" * (1024 * 1024)}))
    resp = await client.post(
        "/api/v6/send", data=io.BytesIO(raw), headers={"Content-Type": "application/json"}
    )
    answer = json.loads(await resp.read())
    assert_error(resp.status, answer, 4, 400)
    assert "1048576" in answer["extendedDescription"]
    assert core.messages.submits == []


async def test_chunked_body_over_one_mebibyte_is_refused_without_submit(
    client: Client, core: FakeCore
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"login": "acme", "x": "'
        for _ in range(20):
            yield b"y" * 65536
        yield b'"}'

    resp = await client.post(
        "/api/v6/send", data=chunks(), headers={"Content-Type": "application/json"}
    )
    answer = json.loads(await resp.read())
    assert_error(resp.status, answer, 4, 400)
    assert "1048576" in answer["extendedDescription"]
    assert core.messages.submits == []


@pytest.mark.parametrize(
    ("reason", "code", "http_status"),
    [
        ("INVALID_DESTINATION", 8, 406),
        ("INVALID_SENDER", 7, 400),
        ("INVALID_TEXT", 4, 400),
        ("INVALID_TTL", 11, 406),
        ("INVALID_MESSAGE_TYPE", 9, 406),
        ("DUPLICATE_MESSAGE", 10, 409),
        ("NOT_IN_THE_CATALOGUE", 100, 500),
    ],
)
async def test_core_refusal_is_mapped_through_the_catalogue(
    client: Client, core: FakeCore, reason: str, code: int, http_status: int
) -> None:
    core.messages.refuse = message_service_pb2.SubmitError(
        reason=reason, message="what to change", field="destination"
    )
    resp, answer = await post_send(client, sms_body())
    assert_error(resp.status, answer, code, http_status)
    if code != 100:
        assert answer["extendedDescription"] == "what to change"


async def test_core_refusing_the_partner_in_submit_is_invalid_login(
    client: Client, core: FakeCore
) -> None:
    core.messages.partners.discard("acme")
    resp, answer = await post_send(client, sms_body())
    assert_error(resp.status, answer, 5, 401)


async def test_unreachable_core_is_service_unavailable() -> None:
    async with gateway(f"127.0.0.1:{free_port()}", rpc_timeout_seconds=2) as client:
        resp, answer = await post_send(client, sms_body())
    assert_error(resp.status, answer, 1, 503)
    assert "127.0.0.1" not in answer["extendedDescription"]


async def test_core_missing_its_deadline_is_service_unavailable(core: FakeCore) -> None:
    core.auth.delay = 2.0
    async with gateway(core.target, rpc_timeout_seconds=0.2) as client:
        resp, answer = await post_send(client, sms_body())
    assert_error(resp.status, answer, 1, 503)
    assert core.messages.submits == []


async def test_successful_login_is_cached_and_not_rechecked(client: Client, core: FakeCore) -> None:
    for n in range(3):
        resp, _ = await post_send(client, sms_body(id=f"c-{n}"))
        assert resp.status == 200
    assert len(core.auth.calls) == 1
    assert core.auth.calls[0].login == "acme"
    assert core.auth.calls[0].remote_ip == "127.0.0.1"
    assert len(core.messages.submits) == 3


async def test_failed_login_is_not_cached(client: Client, core: FakeCore) -> None:
    for _ in range(2):
        resp, answer = await post_send(client, sms_body(password="guess"))
        assert_error(resp.status, answer, 6, 401)
    resp, _ = await post_send(client, sms_body())
    assert resp.status == 200
    assert len(core.auth.calls) == 3


async def test_cached_login_does_not_accept_another_password(
    client: Client, core: FakeCore
) -> None:
    await post_send(client, sms_body())
    resp, answer = await post_send(client, sms_body(password="guess"))
    assert_error(resp.status, answer, 6, 401)
    assert len(core.auth.calls) == 2


async def test_zero_cache_seconds_checks_every_request(core: FakeCore) -> None:
    async with gateway(core.target, auth_cache_seconds=0) as client:
        for _ in range(2):
            resp, _ = await post_send(client, sms_body())
            assert resp.status == 200
    assert len(core.auth.calls) == 2


async def test_unknown_path_answers_json_not_found(client: Client) -> None:
    resp = await client.get("/api/v6/nothing")
    assert_error(resp.status, json.loads(await resp.read()), 4, 404)


async def test_wrong_method_answers_json_method_not_allowed(client: Client) -> None:
    resp = await client.get("/api/v6/send")
    body = json.loads(await resp.read())
    assert resp.status == 405
    assert body["error"]["code"] == 4
    assert resp.headers["Allow"] == "POST"
