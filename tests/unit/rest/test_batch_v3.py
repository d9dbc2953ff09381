"""REST_BATCH v3 parsing (pure): per-message checks with Rapporto's keys and refs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from gateways.rest.batch_v3 import (
    BatchRefusedError,
    Rejection,
    _core_rejection,
    parse_batch,
    parse_key,
)
from rcs.core.v1 import message_service_pb2

OK = {"from": "ACME", "to": "79034567890", "text": "Code: 1234"}
NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)  # Thursday, 09:00 in Moscow
MSK = dt.timezone(dt.timedelta(hours=3))


def one(**changes: Any) -> Any:
    message = {**OK, **changes}
    for key in [k for k, v in changes.items() if v is None]:
        del message[key]
    return parse_batch({"messages": [message]}, NOW)[0]


def scheduled(info: dict[str, Any], *messages: dict[str, Any], **packet: Any) -> list[Any]:
    return parse_batch({"scheduleInfo": info, "messages": list(messages), **packet}, NOW)


def test_a_plain_message_becomes_a_submission() -> None:
    sub = one(id="x-1", validity=60, priority=3)
    assert not isinstance(sub, Rejection)
    assert (sub.destination, sub.sms.sender, sub.sms.text, sub.client_ref) == (
        "79034567890",
        "ACME",
        "Code: 1234",
        "x-1",
    )
    assert sub.ttl.seconds == 60
    assert sub.priority == 2  # 0-3 onto 0-2
    assert one().ttl.seconds == 172_800  # Rapporto's default: 2 days
    # REST_BATCH status reports, to the partner's configured URL; sent at once.
    assert (sub.report_format, sub.report_url) == (message_service_pb2.REPORT_FORMAT_BATCH_V3, "")
    assert not sub.HasField("send_after")


@pytest.mark.parametrize(
    "url",
    ["http://url_Partner.ru", "https://url_Partner.ru", "https://p.example:8443/cb?x=1&y=%20"],
)
def test_callback_url_receives_the_reports(url: str) -> None:
    sub = one(callbackUrl=url)
    assert not isinstance(sub, Rejection)
    assert (sub.report_url, sub.report_format) == (url, message_service_pb2.REPORT_FORMAT_BATCH_V3)


@pytest.mark.parametrize(
    ("changes", "key", "ref"),
    [
        ({"from": None}, "not.available", "messages[0].from"),
        ({"from": "x" * 22}, "not.available", "messages[0].from"),
        ({"to": None}, "invalid", "messages[0].to"),
        ({"to": 79034567890}, "invalid", "messages[0].to"),
        ({"text": ""}, "invalid", "messages[0].text"),
        ({"text": "x" * 2001}, "length.too.long", "messages[0].text"),
        ({"id": "x" * 51}, "invalid", "messages[0].id"),
        ({"validity": 59}, "invalid", "messages[0].validity"),
        ({"validity": 259_201}, "invalid", "messages[0].validity"),
        ({"validity": True}, "invalid", "messages[0].validity"),
        ({"priority": 4}, "invalid", "messages[0].priority"),
        ({"callbackUrl": "ftp://x"}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": ""}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": "url_Partner.ru"}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": "https://"}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": "https://p.example/a b"}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": "https://p.example:0x50/"}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": "https://p.ex/" + "x" * 2036}, "invalid", "messages[0].callbackUrl"),
        ({"callbackUrl": 42}, "invalid", "messages[0].callbackUrl"),
    ],
)
def test_each_field_is_refused_with_its_key_and_ref(
    changes: dict[str, Any], key: str, ref: str
) -> None:
    got = one(**changes)
    assert isinstance(got, Rejection)
    assert (got.key, got.ref) == (key, ref)
    assert got.description


@pytest.mark.parametrize(
    ("doc", "key"),
    [
        ([], "invalid"),
        ({}, "must.be.not.null"),
        ({"messages": []}, "must.be.not.null"),
        ({"messages": [OK] * 3001}, "too.many.messages"),
        ({"messages": [OK], "shortenUrl": True}, "forbidden"),
    ],
)
def test_packet_refusals(doc: Any, key: str) -> None:
    with pytest.raises(BatchRefusedError) as caught:
        parse_batch(doc, NOW)
    assert caught.value.rejection.key == key


def test_flags_set_to_false_are_fine() -> None:
    assert len(parse_batch({"messages": [OK], "useTimeDiff": False, "shortenUrl": False})) == 1
    # useTimeDiff without sending hours has nothing to shift.
    assert len(parse_batch({"messages": [OK], "useTimeDiff": True})) == 1
    # With hours, each message carries its window in the subscriber's zone (routing applies).
    (sub,) = parse_batch(
        {"messages": [OK], "useTimeDiff": True, "scheduleInfo": {"timeBegin": "10:00"}}
    )
    assert isinstance(sub, message_service_pb2.MessageSubmission)
    assert sub.send_window.subscriber_zone
    assert (sub.send_window.begin_minute, sub.send_window.end_minute) == (600, 1440)
    assert not sub.HasField("send_after")


# --- scheduleInfo (for the whole packet) -----------------------------------------------------


def test_schedule_info_gives_every_message_its_earliest_send_time() -> None:
    info = {"timeBegin": "10:00", "timeEnd": "21:00", "weekdaysSchedule": "12345"}
    subs = scheduled(info, OK, {**OK, "validity": 7200})
    opens = dt.datetime(2026, 11, 26, 10, tzinfo=MSK)
    for sub in subs:
        assert not isinstance(sub, Rejection)
        assert sub.send_after.ToDatetime(dt.UTC) == opens
    assert [s.ttl.seconds for s in subs] == [172_800, 7200]  # counted from acceptance
    inside = scheduled({"timeBegin": "09:00", "timeEnd": "10:00"}, OK)[0]
    assert not inside.HasField("send_after")


def test_a_deadline_ends_each_message_validity_sooner() -> None:
    subs = scheduled({"deadline": "2026-11-26T10:30:00+0300"}, OK, {**OK, "validity": 600})
    assert [s.ttl.seconds for s in subs] == [5400, 600]  # expires at the deadline, or sooner
    assert not any(s.HasField("send_after") for s in subs)


def test_a_message_whose_validity_ends_before_the_window_opens_is_rejected() -> None:
    info = {"timeBegin": "10:00", "timeEnd": "21:00"}
    short, fine = scheduled(info, {**OK, "validity": 3600, "id": "a"}, {**OK, "validity": 3601})
    assert isinstance(short, Rejection)
    assert (short.key, short.ref) == ("invalid", "messages[0].validity")
    assert "2026-11-26T10:00:00+0300" in short.description
    assert not isinstance(fine, Rejection)


@pytest.mark.parametrize(
    ("packet", "key", "ref"),
    [
        ({"scheduleInfo": "10:00"}, "invalid", "scheduleInfo"),
        ({"scheduleInfo": {"timeBegin": "10.00"}}, "invalid", "scheduleInfo.timeBegin"),
        ({"scheduleInfo": {"timeEnd": 21}}, "invalid", "scheduleInfo.timeEnd"),
        ({"scheduleInfo": {"weekdaysSchedule": "1-5"}}, "invalid", "scheduleInfo.weekdaysSchedule"),
        ({"scheduleInfo": {"deadline": "2024-08-30"}}, "invalid", "scheduleInfo.deadline"),
        (
            {"scheduleInfo": {"deadline": "2024-08-30T16:29:30+0300"}},  # passed
            "invalid",
            "scheduleInfo.deadline",
        ),
        ({"useTimeDiff": "yes"}, "invalid", "useTimeDiff"),
        ({"shortenUrl": True}, "forbidden", "shortenUrl"),
    ],
)
def test_a_schedule_that_cannot_be_followed_refuses_the_packet(
    packet: dict[str, Any], key: str, ref: str
) -> None:
    with pytest.raises(BatchRefusedError) as caught:
        parse_batch({**packet, "messages": [OK]}, NOW)
    assert (caught.value.status, caught.value.rejection.key) == (400, key)
    assert caught.value.rejection.ref == ref
    assert caught.value.rejection.description


@pytest.mark.parametrize("header", [None, "", "Key", "Key a-b", "Basic abc", "Key " + "a" * 31])
def test_key_header_must_be_key_and_alphanumeric(header: str | None) -> None:
    with pytest.raises(BatchRefusedError) as caught:
        parse_key(header)
    assert caught.value.status == 401


def test_key_header() -> None:
    assert parse_key("Key YWxhZGRpbjpvcGVuc2VzYW1l") == "YWxhZGRpbjpvcGVuc2VzYW1l"
    assert parse_key("key abc123") == "abc123"


def test_core_refusals_name_the_field() -> None:
    assert _core_rejection(4, "INVALID_DESTINATION", "bad").ref == "messages[4].to"
    assert _core_rejection(0, "DUPLICATE_MESSAGE", "dup") == Rejection(
        "forbidden", "messages[0]", "dup"
    )
    assert _core_rejection(0, "SOMETHING_NEW", "") == Rejection(
        "unknown", "messages[0]", "SOMETHING_NEW"
    )
    assert _core_rejection(2, "INVALID_REQUEST", "late", "send_after") == Rejection(
        "invalid", "messages[2].validity", "late"
    )
    assert _core_rejection(1, "INVALID_REQUEST", "bad url", "report_url").ref == (
        "messages[1].callbackUrl"
    )
