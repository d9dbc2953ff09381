"""The wire forms of reports, checked against the examples of Rapporto's documents."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rcs_core.messages.statuses import Status
from rcs_core.reports.formats import (
    FORMAT_BATCH_V3,
    FORMAT_HTTP_V5,
    FORMAT_REST_V6,
    Outgoing,
    inbound_replies,
    request_of,
    with_query,
)
from rcs_core.reports.store import KIND_INBOUND, KIND_STATUS, LeasedReport

MOSCOW = ZoneInfo("Europe/Moscow")


def report(fmt: int, url: str = "http://partner.url", kind: int = KIND_STATUS, **body: Any) -> Any:
    base: dict[str, Any] = {
        "client_ref": None,
        "ptag": None,
        "destination": "72101234567",
        "sender": "SOURCE",
        "text": "message_text",
        "part_count": 1,
        "status": int(Status.DELIVERED),
        "error_code": 0,
        # As jsonb_build_object writes timestamptz values.
        "submit_time": "2019-05-05T07:19:55.123456+00:00",
        "done_time": "2019-05-05T07:20:35.977+00:00",
        "traffic_type": None,
        "channel": 1,
    }
    return LeasedReport(
        id=1,
        partner_id=1,
        format=fmt,
        kind=kind,
        url=url,
        message_id=7986985,
        body=base | body,
        attempts=1,
    )


def doc(out: Outgoing) -> Any:
    assert out.method == "POST"
    return json.loads(out.body.decode("utf-8"))


def test_http_v5_status_is_the_documented_get() -> None:
    out = request_of(report(FORMAT_HTTP_V5, ptag="test"), dt.UTC)
    assert out == Outgoing(
        "http://partner.url?msgType=SMS&transactionId=7986985&ptag=test&status=2"
    )
    assert out.method == "GET"


def test_http_v5_failure_carries_partner_id_and_extended_status() -> None:
    r = report(
        FORMAT_HTTP_V5,
        url="https://p.example/dlr?key=a%20b&x=1#frag",
        status=int(Status.EXPIRED),
        error_code=2,
        client_ref="order 1/ä",
    )
    assert request_of(r, dt.UTC).url == (
        "https://p.example/dlr?key=a%20b&x=1&msgType=SMS&transactionId=7986985&status=5"
        "&partnerMsgId=order%201%2F%C3%A4&unifiedExtStatus=2"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h/cb", "http://h/cb?a=1"),
        ("http://h/cb?", "http://h/cb?a=1"),
        ("http://h/cb?t=x&", "http://h/cb?t=x&a=1"),
        ("http://h/cb?t=x", "http://h/cb?t=x&a=1"),
        ("http://h/cb#top", "http://h/cb?a=1"),
    ],
)
def test_parameters_are_appended_to_any_query(url: str, expected: str) -> None:
    assert with_query(url, [("a", "1")]) == expected


def test_rest_v6_status_is_the_documented_json() -> None:
    r = replace(report(FORMAT_REST_V6, client_ref="8770599", traffic_type=0), message_id=107930572)
    out = request_of(r, MOSCOW)
    assert out.url == "http://partner.url"
    # rest_status.rst's example, in its order, without the optional mccMnc.
    assert doc(out) == {
        "id": "8770599",
        "mtNum": "107930572",
        "status": 2,
        "type": "SMS",
        "doneDate": "2019-05-05T10:20:35+0300",
        "submitDate": "2019-05-05T10:19:55+0300",
        "sourceAddr": "SOURCE",
        "destAddr": "72101234567",
        "text": "message_text",
        "partCount": "001",
        "errorCode": "0",
        "trafficType": 0,
    }
    assert out.body.startswith(b'{"id":"8770599","mtNum":"107930572","status":2,')


def test_rest_v6_undelivered_has_no_done_date_and_no_absent_fields() -> None:
    r = report(
        FORMAT_REST_V6, status=int(Status.UNDELIVERED), error_code=8, part_count=12, text="Привет"
    )
    body = doc(request_of(r, dt.UTC))
    assert body["doneDate"] == ""
    assert body["submitDate"] == "2019-05-05T07:19:55+0000"
    assert (body["status"], body["errorCode"], body["partCount"]) == (5, "8", "012")
    assert body["text"] == "Привет"
    assert "id" not in body
    assert "trafficType" not in body
    assert "Привет".encode() in request_of(r, dt.UTC).body  # UTF-8, not \u escapes


@pytest.mark.parametrize(
    ("status", "name", "error"),
    [
        (Status.DELIVERED, "DELIVERED", None),
        (Status.UNDELIVERED, "UNDELIVERABLE", 0),
        (Status.REJECTED, "REJECTED", 0),
        (Status.EXPIRED, "EXPIRED", None),
    ],
)
def test_batch_v3_status_is_the_documented_json(
    status: Status, name: str, error: int | None
) -> None:
    r = replace(
        report(FORMAT_BATCH_V3, status=int(status), error_code=11), message_id=3597944866766620289
    )
    expected: dict[str, Any] = {
        "messageId": "3597944866766620289",
        "ts": 1557040835977,
        "status": name,
    }
    if error is not None:
        expected["errorCode"] = error  # rest_batch_status.rst: errorCode=0 for these two
    assert doc(request_of(r, dt.UTC)) == expected


def test_batch_v3_returns_the_partner_id() -> None:
    r = report(FORMAT_BATCH_V3, status=int(Status.REJECTED), client_ref="super_id_1")
    assert list(doc(request_of(r, dt.UTC)).items())[-2:] == [("errorCode", 0), ("id", "super_id_1")]


def inbound(fmt: int, **body: Any) -> Any:
    mo = {
        "sender": "79161234567",
        "destination": "0000",
        "text": "testText",
        "part_count": 1,
        "submit_time": "2009-10-02T08:00:00+00:00",  # Moscow was UTC+4 then
        "done_time": "2009-10-02T08:00:00+00:00",
        "channel": 1,
        "interface_id": "smsc-1",
    }
    return LeasedReport(1, 1, fmt, KIND_INBOUND, "http://partner.ru/service", 50, mo | body, 1)


def test_mo_over_http_v5_is_the_documented_get() -> None:
    out = request_of(inbound(FORMAT_HTTP_V5), MOSCOW, login="login")
    # http_mo.rst's example, then the parameters it lists after it.
    assert out.url == (
        "http://partner.ru/service?clientId=79161234567&message=testText&connectorId=0"
        "&serviceId=login&receivedDate=2009-10-02%2012:00:00&shortNumber=0000"
        "&mtSent=0&messageId=50&clientPhone=79161234567&sum_sms=1"
    )


def test_mo_over_rest_v6_is_the_documented_json() -> None:
    r = inbound(
        FORMAT_REST_V6,
        sender="72101234567",
        text="Сообщение для партнёра",
        submit_time="2022-06-22T07:22:45+00:00",
    )
    r = replace(r, message_id=20190418175651967013)
    assert doc(request_of(r, MOSCOW)) == {
        "transactionId": "20190418175651967013",
        "destAddr": "0000",
        "sourceAddr": "72101234567",
        "type": "SMS",
        "message": "Сообщение для партнёра",
        "partCount": 1,
        "receivedDate": "2022-06-22T10:22:45+0300",
    }


def test_a_format_without_an_http_form_is_refused() -> None:
    with pytest.raises(ValueError, match="no HTTP form"):
        request_of(inbound(FORMAT_BATCH_V3), dt.UTC)
    with pytest.raises(ValueError, match="no HTTP form"):
        request_of(report(1), dt.UTC)


def test_an_http_v5_mo_answer_is_one_reply_per_crlf_line_in_its_charset() -> None:
    assert inbound_replies("Да\r\nНет\rпотом\r\n\r\n".encode("cp1251"), "cp1251") == [
        "Да",
        "Нет\nпотом",
    ]
    assert inbound_replies("Ответ".encode(), "utf-8") == ["Ответ"]
    assert inbound_replies("Ответ".encode(), None) == ["Ответ"]
    assert inbound_replies(b"", "utf-8") == []
    assert inbound_replies(b"  \r\n", None) == []


def test_a_messenger_reply_over_rest_v6_has_its_media_and_the_answered_message() -> None:
    r = inbound(
        FORMAT_REST_V6,
        channel=4,
        text="",
        media_url="https://image.service/W/1.jpg",
        reply_to="1024000001",
        reply_to_ref="order-7",
    )
    got = doc(request_of(r, MOSCOW))
    assert got["type"] == "WHATSAPP"
    assert "message" not in got  # rest_mo.rst: no text, no "message"
    assert (got["mediaURL"], got["mtNum"], got["id"]) == (
        "https://image.service/W/1.jpg",
        "1024000001",
        "order-7",
    )


def test_a_messenger_reply_over_http_v5_adds_its_type_media_and_answered_message() -> None:
    r = inbound(FORMAT_HTTP_V5, channel=3, media_url="https://m/1.jpg", reply_to="77")
    out = request_of(r, MOSCOW, login="login")
    assert out.url.endswith(
        "&sum_sms=1&msgType=VIBER&mediaURL=https:%2F%2Fm%2F1.jpg&transactionId=77"
    ), out.url
    # An SMS MO is as documented, without them.
    assert "msgType" not in request_of(inbound(FORMAT_HTTP_V5), MOSCOW, login="login").url
