"""Rapporto HTTP API v5 send: pure parsing and rendering, then over real HTTP against a fake
core on a real gRPC port (tests/unit/rest/conftest.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from gateways.rest.http_v5_parsing import (
    SHORT_TEXTS,
    V5Error,
    collect,
    decode_form,
    error_text,
    parse_send,
    parse_urlencoded,
    render_error,
    render_ok,
    wants_xml,
)
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime.errors import CATALOGUE, RcsError
from tests.unit.rest.conftest import Client
from tests.unit.rest.fakes import FIRST_ID, FakeCore

PATH = "/api/http/v5/send"
FORM = "application/x-www-form-urlencoded"
HEX = "0605040b8423f0dc0601ae02056a0045c60b03687474703a2f2f7761702e7A616772757A6B612e636F6D00"


def params(**overrides: str | None) -> dict[str, str]:
    """Valid v5 parameters for partner acme; None removes one."""
    base: dict[str, str] = {
        "serviceId": "acme",
        "pass": "s3cret",
        "clientId": "79161234567",
        "message": "test",
    }
    for key, value in overrides.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def v5_code(p: dict[str, str]) -> tuple[int, str]:
    """The v5 code and detail parse_send refuses ``p`` with."""
    with pytest.raises((RcsError, V5Error)) as caught:
        parse_send(p)
    err = caught.value
    if isinstance(err, RcsError):
        err = V5Error.from_rcs(err)
    assert isinstance(err, V5Error)
    return err.code, err.detail


# --- pure parsing -------------------------------------------------------------------------


def test_minimal_request_becomes_a_text_sms_submission() -> None:
    req = parse_send(params())
    assert (req.login, req.password) == ("acme", "s3cret")
    assert req.submission() == message_service_pb2.MessageSubmission(
        destination="79161234567",
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text="test", sender=""),
        priority=0,
        receipt_request=message_pb2.RECEIPT_REQUEST_ALL,
        report_format=message_service_pb2.REPORT_FORMAT_HTTP_V5,
    )


def test_optional_parameters_are_carried() -> None:
    req = parse_send(
        params(source="SHOP", partnerMsgId="order-1", smsPriority="2", ptag="dep-7", flash="0")
    )
    sub = req.submission()
    assert (sub.sms.sender, sub.client_ref, sub.priority) == ("SHOP", "order-1", 2)
    assert sub.ptag == "dep-7"  # stored by core, returned in the status reports
    assert sub.report_format == message_service_pb2.REPORT_FORMAT_HTTP_V5
    assert not sub.report_url  # the URL configured for the partner


@pytest.mark.parametrize(
    "number", ["79036550550", "+79036550550", "8-903-655-05-50", "89036550550"]
)
def test_documented_number_notations_pass(number: str) -> None:
    assert parse_send(params(clientId=number)).client_id == number


@pytest.mark.parametrize("missing", ["serviceId", "pass", "clientId", "message"])
def test_missing_required_parameter_is_400(missing: str) -> None:
    code, detail = v5_code(params(**{missing: None}))
    assert (code, detail) == (400, f"{missing} is required")
    assert v5_code(params(**{missing: ""}))[0] == 400


@pytest.mark.parametrize(
    "number", ["abc", "7916", "+7916123456789012345", "7" * 26, "79161234567x", "7 916 12"]
)
def test_bad_client_id_is_406(number: str) -> None:
    assert v5_code(params(clientId=number))[0] == 406


def test_message_longer_than_2000_characters_is_414() -> None:
    assert parse_send(params(message="я" * 2000)).text == "я" * 2000
    code, detail = v5_code(params(message="я" * 2001))
    assert code == 414
    assert "2000" in detail


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"message": "a\x00b"}, "message"),
        ({"ptag": ""}, "ptag"),
        ({"ptag": "a" * 51}, "ptag"),
        ({"ptag": "bad_tag"}, "ptag"),
        ({"partnerMsgId": ""}, "partnerMsgId"),
        ({"partnerMsgId": "x" * 51}, "partnerMsgId"),
        ({"smsPriority": "3"}, "smsPriority"),
        ({"smsPriority": "high"}, "smsPriority"),
        ({"smsPriority": ""}, "smsPriority"),
        ({"sending_time": ""}, "sending_time"),
        ({"sending_time": "10-20"}, "sending_time"),
        ({"sending_time": "10_25"}, "sending_time"),
        ({"sending_time": "10_10", "time_zone": "+03:00"}, "sending_time"),
        ({"time_zone": " 04:00"}, "time_zone"),  # a '+' that was not %-encoded
        ({"time_zone": "+4"}, "time_zone"),
        ({"time_zone": "+15:00"}, "time_zone"),
        ({"time_zone": "00:00"}, "time_zone"),  # the sign is required, even for zero
        ({"time_zone": "%2B04:00"}, "time_zone"),  # %-encoded twice
        ({"smpp_encoding": "x"}, "smpp_encoding"),
        ({"smpp_esm_class": "256"}, "smpp_esm_class"),
        ({"smpp_encoding": "245", "message": "not hex"}, "message"),
        ({"smpp_encoding": "245", "message": "abc"}, "message"),
    ],
)
def test_malformed_optional_parameters_are_400(overrides: dict[str, str], field: str) -> None:
    with pytest.raises(RcsError) as caught:
        parse_send(params(**overrides))
    assert caught.value.entry.http_v5 == 400
    assert caught.value.field == field


def test_partner_msg_id_and_ptag_at_their_limits_pass() -> None:
    req = parse_send(params(partnerMsgId="п" * 50, ptag="a-Z" * 16 + "09"))
    assert req.partner_msg_id == "п" * 50


@pytest.mark.parametrize(
    ("binary", "coding", "esm_class"),
    [
        ({"smpp_encoding": "245"}, 245, 0),
        ({"smpp_esm_class": "64"}, 4, 64),  # 8-bit data unless smpp_encoding says otherwise
        ({"smpp_encoding": "245", "smpp_esm_class": "64"}, 245, 64),
    ],
)
def test_binary_messages_go_to_core_as_octets_with_their_coding(
    binary: dict[str, str], coding: int, esm_class: int
) -> None:
    sms = parse_send(params(message=HEX, **binary)).submission(NOW).sms
    assert (sms.text, sms.payload) == ("", bytes.fromhex(HEX))
    assert (sms.data_coding, sms.esm_class) == (coding, esm_class)


def test_binary_messages_that_cannot_be_sent_are_refused() -> None:
    code, detail = v5_code(params(message=HEX + "0", smpp_encoding="245"))
    assert (code, "hex digits" in detail) == (400, True)
    code, detail = v5_code(params(message="05" + "00" * 140, smpp_esm_class="64"))
    assert (code, "one SMS" in detail) == (414, True)
    # Long binary data without a header of its own is split by the connector: accepted.
    assert parse_send(params(message="00" * 500, smpp_encoding="4")).binary is not None


def test_hex_text_without_binary_parameters_is_a_text_sms() -> None:
    assert parse_send(params(message=HEX, smpp_encoding="")).text == HEX


def test_flash_1_is_a_flash_sms_of_one_part_and_other_values_are_normal() -> None:
    """http_sms.rst: flash=1 sends a flash SMS of at most 70 Cyrillic (UCS-2) or 140
    other characters; a missing flash or any other value, an ordinary SMS."""
    assert parse_send(params(flash="1")).submission(NOW).sms.flash
    assert not parse_send(params(flash="yes")).submission(NOW).sms.flash
    assert not parse_send(params()).submission(NOW).sms.flash
    assert parse_send(params(flash="1", message="я" * 70)).flash
    assert v5_code(params(flash="1", message="я" * 71))[0] == 414
    assert parse_send(params(flash="1", message="a" * 140)).flash
    assert v5_code(params(flash="1", message="a" * 141))[0] == 414


# 2026-11-26 06:00 UTC: 10:00 at +04:00, 16:00 at +10:00.
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)
DAY = 86_400


@pytest.mark.parametrize(
    ("sending_time", "time_zone", "send_after"),
    [
        ("10_20", "+04:00", None),  # open: at once
        ("11_20", "+04:00", dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)),
        ("8_9", "+04:00", dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)),  # tomorrow
        ("22_06", "+10:00", dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)),  # tonight
        ("20_18", "+10:00", None),  # all but 18:00-20:00
        ("6_12", "-00:00", None),
        ("0_24", "-05:30", None),
        ("07_10", "-03:00", dt.datetime(2026, 11, 26, 10, 0, tzinfo=dt.UTC)),
    ],
)
def test_sending_time_in_time_zone_becomes_the_earliest_send_time(
    sending_time: str, time_zone: str, send_after: dt.datetime | None
) -> None:
    req = parse_send(params(sending_time=sending_time, time_zone=time_zone))
    sub = req.submission(NOW, DAY)
    assert sub.HasField("send_after") == (send_after is not None)
    if send_after is not None:
        assert sub.send_after.ToDatetime(dt.UTC) == send_after
    assert sub.ttl.seconds == 0  # the partner's default validity, as without sending_time


def test_sending_time_without_time_zone_is_in_the_subscribers_zone() -> None:
    """Without time_zone the hours are the zone of the number's region (http_sms.rst),
    which routing applies at dispatch: the window goes to core as the subscriber's."""
    sub = parse_send(params(sending_time="10_20")).submission(NOW, 3600)
    assert not sub.HasField("send_after")
    assert sub.send_window.subscriber_zone
    assert (sub.send_window.begin_minute, sub.send_window.end_minute) == (600, 1200)


def test_a_window_opening_after_the_validity_is_400() -> None:
    req = parse_send(params(sending_time="11_20", time_zone="+04:00"))
    assert req.submission(NOW, 3601).send_after.ToDatetime(dt.UTC) == NOW + dt.timedelta(hours=1)
    with pytest.raises(RcsError) as caught:
        req.submission(NOW, 3600)
    assert (caught.value.entry.http_v5, caught.value.field) == (400, "sending_time")
    assert "validity" in caught.value.message


def test_time_zone_alone_changes_nothing() -> None:
    assert parse_send(params(time_zone="-00:00")).text == "test"


def test_query_string_is_utf8_and_form_body_uses_its_charset() -> None:
    assert parse_urlencoded("message=%D1%82%D0%B5%D1%81%D1%82&a+b=c+d&flag", "utf-8") == [
        ("message", "тест"),
        ("a b", "c d"),
        ("flag", ""),
    ]
    cp1251 = "message=" + quote("тест", encoding="cp1251") + "&source=" + "Я"
    assert decode_form(cp1251.encode("cp1251"), FORM, "windows-1251") == [
        ("message", "тест"),
        ("source", "Я"),
    ]
    assert decode_form(b"message=%2B1", FORM, None) == [("message", "+1")]


@pytest.mark.parametrize(
    ("body", "content_type", "charset", "reason"),
    [
        (b"message=%FF", FORM, "utf-8", "INVALID_CHARSET"),
        (b"message=\xff", FORM, "utf-8", "INVALID_CHARSET"),
        (b"message=x", FORM, "no-such-charset", "INVALID_CHARSET"),
        (b'{"message": "x"}', "application/json", "utf-8", "INVALID_REQUEST"),
        (b"message=x", "multipart/form-data", None, "INVALID_REQUEST"),
        (b"&".join(b"p%d=1" % i for i in range(100)), FORM, None, "INVALID_REQUEST"),
    ],
)
def test_undecodable_bodies_are_400(
    body: bytes, content_type: str, charset: str | None, reason: str
) -> None:
    with pytest.raises(RcsError) as caught:
        decode_form(body, content_type, charset)
    assert caught.value.reason == reason
    assert caught.value.entry.http_v5 == 400


def test_a_parameter_given_twice_is_400() -> None:
    with pytest.raises(RcsError) as caught:
        collect([("clientId", "1")], [("clientId", "2")])
    assert caught.value.entry.http_v5 == 400
    assert collect([("a", "1")], [("b", "2")]) == {"a": "1", "b": "2"}


def test_output_xml_selects_xml() -> None:
    assert wants_xml({"output": "xml"})
    assert wants_xml({"output": "XML"})
    assert not wants_xml({"output": "json"})
    assert not wants_xml({})


def test_every_catalogue_reason_has_a_documented_v5_code() -> None:
    expected = {
        "INVALID_PASSWORD": 401,
        "INVALID_LOGIN": 403,
        "IP_NOT_ALLOWED": 403,
        "INVALID_DESTINATION": 406,
        "THROTTLED": 408,
        "DUPLICATE_MESSAGE": 409,
        "INVALID_TEXT": 400,
        "INVALID_SENDER": 400,
        "INVALID_TTL": 400,
        "INTERNAL": 500,
        "SERVICE_UNAVAILABLE": 500,
    }
    for reason, entry in CATALOGUE.items():
        assert entry.http_v5 in SHORT_TEXTS, reason
        assert entry.http_v5 != 200, reason
        if reason in expected:
            assert entry.http_v5 == expected[reason], reason


def test_text_answers_are_as_documented() -> None:
    ok = render_ok("4095284974", xml=False)
    assert (ok.status, ok.content_type, ok.body) == (200, "text/plain", "OK\n4095284974")
    bad = render_error(V5Error(401, "wrong password for this login"), xml=False)
    assert (bad.status, bad.content_type, bad.body) == (401, "text/plain", "Invalid password")
    missing = render_error(V5Error(400, "clientId is required"), xml=False)
    assert (missing.status, missing.body) == (400, "Invalid request, clientId is required")
    assert error_text(500, "") == "Internal error"


def test_xml_answers_are_as_documented() -> None:
    ok = render_ok("4095284976", xml=True)
    assert (ok.status, ok.content_type) == (200, "application/xml")
    assert ok.body == (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<response>\n"
        "    <code>200</code>\n"
        "    <text>OK</text>\n"
        "    <payload>\n"
        "        <id>4095284976</id>\n"
        "    </payload>\n"
        "</response>\n"
    )
    bad = render_error(V5Error(401), xml=True)
    assert bad.status == 200  # "200 – запрос успешно обработан": the code is in <code>
    assert bad.body == (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        "<response>\n"
        "    <code>401</code>\n"
        "    <text>Invalid password</text>\n"
        "</response>\n"
    )
    assert render_error(V5Error(500), xml=True).status == 500
    escaped = render_error(V5Error(400, "a <b> & c"), xml=True)
    assert "<text>Invalid request, a &lt;b&gt; &amp; c</text>" in escaped.body


def test_v5_error_accepts_only_documented_codes() -> None:
    with pytest.raises(ValueError, match="not an HTTP v5 error code"):
        V5Error(404)


# --- over HTTP against the fake core --------------------------------------------------------


async def get(client: Client, query: dict[str, str] | str) -> tuple[int, str, str]:
    raw = query if isinstance(query, str) else urlencode(query)
    resp = await client.get(f"{PATH}?{raw}")
    return resp.status, resp.content_type, await resp.text()


async def post(
    client: Client, body: dict[str, str] | bytes, *, content_type: str = f"{FORM};charset=utf-8"
) -> tuple[int, str, str]:
    raw = body if isinstance(body, bytes) else urlencode(body).encode()
    resp = await client.post(PATH, data=raw, headers={"Content-Type": content_type})
    return resp.status, resp.content_type, await resp.text()


async def test_get_sends_and_answers_ok_with_the_id(client: Client, core: FakeCore) -> None:
    query = "clientId=79161234567&message=%D1%82%D0%B5%D1%81%D1%82&pass=s3cret&serviceId=acme"
    assert await get(client, query) == (200, "text/plain", f"OK\n{FIRST_ID}")
    (request,) = core.messages.submits
    assert request.partner == "acme"
    (sub,) = request.messages
    assert (sub.destination, sub.sms.text, sub.sms.sender) == ("79161234567", "тест", "")


async def test_post_form_sends_with_every_carried_parameter(client: Client, core: FakeCore) -> None:
    body = params(source="SHOP", partnerMsgId="p-1", smsPriority="1", message="Привет")
    status, content_type, text = await post(client, body)
    assert (status, content_type, text) == (200, "text/plain", f"OK\n{FIRST_ID}")
    (sub,) = core.messages.received
    assert (sub.sms.text, sub.sms.sender, sub.client_ref, sub.priority) == (
        "Привет",
        "SHOP",
        "p-1",
        1,
    )


async def test_ptag_report_format_and_schedule_reach_core(client: Client, core: FakeCore) -> None:
    now = dt.datetime.now(dt.UTC)
    hour = (now.hour + 1) % 24  # opens within the hour, before the fake's 1 h validity ends
    query = params(ptag="dep-7", sending_time=f"{hour}_{(hour + 2) % 24}", time_zone="+00:00")
    status, _, _ = await get(client, query)
    assert status == 200
    (sub,) = core.messages.received
    assert (sub.ptag, sub.report_format) == ("dep-7", message_service_pb2.REPORT_FORMAT_HTTP_V5)
    opens = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    if dt.datetime.now(dt.UTC) < opens:  # else the hour turned during the request: at once
        assert sub.send_after.ToDatetime(dt.UTC) == opens


async def test_post_form_in_windows_1251(client: Client, core: FakeCore) -> None:
    body = urlencode(params(message="тест"), encoding="cp1251").encode()
    status, _, _ = await post(client, body, content_type=f"{FORM}; charset=windows-1251")
    assert status == 200
    assert core.messages.received[0].sms.text == "тест"


async def test_repeated_partner_msg_id_returns_the_first_id(client: Client, core: FakeCore) -> None:
    first = await post(client, params(partnerMsgId="order-42"))
    again = await get(client, params(partnerMsgId="order-42", message="changed"))
    other = await post(client, params(partnerMsgId="order-43"))
    assert first == again == (200, "text/plain", f"OK\n{FIRST_ID}")
    assert other[2] != first[2]
    assert len(core.messages.stored) == 2


async def test_xml_output(client: Client) -> None:
    status, content_type, body = await post(client, params(output="xml"))
    assert (status, content_type) == (200, "application/xml")
    assert (
        f"<code>200</code>\n    <text>OK</text>\n    <payload>\n        <id>{FIRST_ID}</id>" in body
    )
    status, _, body = await get(client, params(output="xml", **{"pass": "wrong"}))
    assert status == 200
    assert "<code>401</code>\n    <text>Invalid password</text>\n</response>" in body


async def test_wrong_password_is_401_invalid_password(client: Client, core: FakeCore) -> None:
    assert await get(client, params(**{"pass": "nope"})) == (401, "text/plain", "Invalid password")
    assert core.messages.submits == []


async def test_unknown_service_id_is_403(client: Client) -> None:
    status, _, text = await get(client, params(serviceId="ghost"))
    assert status == 403
    assert text.startswith("Service is absent or not active")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"clientId": None}, 400),
        ({"clientId": "12"}, 406),
        ({"message": "x" * 2001}, 414),
        ({"smpp_encoding": "245", "message": HEX + "0"}, 400),
    ],
)
async def test_refusals_before_core_have_their_codes(
    client: Client, core: FakeCore, overrides: dict[str, Any], code: int
) -> None:
    status, content_type, _ = await get(client, params(**overrides))
    assert (status, content_type) == (code, "text/plain")
    assert core.messages.submits == []


@pytest.mark.parametrize(
    ("reason", "code", "short"),
    [
        ("INVALID_DESTINATION", 406, "Invalid clientId"),
        ("INVALID_TEXT", 400, "Invalid request"),
        ("INVALID_SENDER", 400, "Invalid request"),
        ("DUPLICATE_MESSAGE", 409, "Prohibited sending duplicates"),
        ("INVALID_TTL", 400, "Invalid request"),
        ("THROTTLED", 408, "Too many requests"),
        ("QUEUE_FULL", 500, "Internal error"),
        ("SOMETHING_NEW", 500, "Internal error"),
    ],
)
async def test_core_refusals_map_to_v5_codes(
    client: Client, core: FakeCore, reason: str, code: int, short: str
) -> None:
    core.messages.refuse = message_service_pb2.SubmitError(
        reason=reason, message="what to change", field="destination"
    )
    status, _, text = await post(client, params())
    assert status == code
    assert text.startswith(short)
    status, _, body = await post(client, params(output="xml"))
    assert status == (500 if code == 500 else 200)
    assert f"<code>{code}</code>" in body


async def test_core_down_is_500(client: Client, core: FakeCore) -> None:
    await core.server.stop(0)
    status, _, text = await get(client, params())
    assert status == 500
    assert text.startswith("Internal error")


async def test_bad_requests_are_answered_in_the_requested_format(client: Client) -> None:
    assert await post(client, b"message=%FF") == (
        400,
        "text/plain",
        "Invalid request, a parameter is not valid utf-8 after %-decoding; send UTF-8",
    )
    status, content_type, body = await post(client, b"message=%FF&output=xml")
    assert (status, content_type) == (200, "application/xml")
    assert "<code>400</code>" in body
    status, content_type, body = await post(client, b"clientId=1&clientId=2&output=xml")
    assert (status, content_type) == (200, "application/xml")
    assert "<code>400</code>" in body
    status, _, text = await post(client, urlencode(params()).encode(), content_type="text/plain")
    assert status == 400
    assert "application/x-www-form-urlencoded" in text


async def test_post_also_reads_the_query(client: Client) -> None:
    resp = await client.post(
        f"{PATH}?output=xml", data=urlencode(params()).encode(), headers={"Content-Type": FORM}
    )
    assert resp.status == 200
    assert "<id>" in await resp.text()


async def test_other_methods_are_405(client: Client) -> None:
    resp = await client.put(PATH, data=b"")
    assert resp.status == 405


async def test_keep_alive_reuses_one_connection(client: Client) -> None:
    for _ in range(3):
        resp = await client.get(f"{PATH}?{urlencode(params())}")
        assert resp.status == 200
        await resp.read()
    connector = client.session.connector
    assert connector is not None
    assert sum(len(c) for c in connector._conns.values()) == 1
