"""REST v6 /api/v6/send: delivery reports (registeredDelivery, notifyUrl) and scheduled
sending (scheduleInfo, useTimeDiff) — parsed on a fixed clock, then over real HTTP against
the fake core (whose partners' default validity is 1 hour)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from gateways.rest.parsing import parse_send
from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2
from rcs_runtime.errors import RcsError
from tests.unit.rest.conftest import Client, post_send, sms_body
from tests.unit.rest.fakes import FakeCore

NOW = dt.datetime(2026, 11, 26, 6, 0, tzinfo=dt.UTC)  # Thursday, 09:00 in Moscow
MSK = dt.timezone(dt.timedelta(hours=3))
DAY = 86_400


def submission(default_ttl: int = DAY, **overrides: Any) -> Any:
    return parse_send(sms_body(**overrides)).submission(NOW, default_ttl)


def refusal(**overrides: Any) -> RcsError:
    with pytest.raises(RcsError) as caught:
        submission(**overrides)
    assert caught.value.entry.rest_code == 4
    return caught.value


# --- registeredDelivery and notifyUrl -------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "receipt"),
    [
        (0, message_pb2.RECEIPT_REQUEST_NONE),  # "статусы не нужны"
        (1, message_pb2.RECEIPT_REQUEST_ALL),  # "нужны статусы (по умолчанию)"
        (2, message_pb2.RECEIPT_REQUEST_FAILURES),  # "нужны только не доставлено"
        (None, message_pb2.RECEIPT_REQUEST_ALL),
    ],
)
def test_every_message_asks_for_rest_v6_reports_as_registered_delivery_says(
    registered: int | None, receipt: int
) -> None:
    sub = submission(registeredDelivery=registered)
    assert sub.report_format == message_service_pb2.REPORT_FORMAT_REST_V6
    assert sub.receipt_request == receipt
    assert sub.report_url == ""  # the partner's configured URL


@pytest.mark.parametrize(
    "url",
    [
        "https://partner.example/dlr",
        "http://10.0.0.1:8080/status?token=a%20b&x=1",
        "HTTPS://Partner.Example/dlr",
        "https://p.example/" + "x" * (2048 - 18),  # rest_sms.rst: at most 2048
    ],
)
def test_a_correct_notify_url_receives_the_reports(url: str) -> None:
    req = parse_send(sms_body(notifyUrl=url))
    assert not req.notify_url_ignored
    assert req.submission(NOW, DAY).report_url == url


@pytest.mark.parametrize(
    "url",
    [
        "partner.example/dlr",  # "hostname" without a scheme
        "partner.example",
        "ftp://partner.example/dlr",
        "https://",
        "https:///path",
        "http://partner example/dlr",
        "http://partner.example:99999/dlr",
        "http://[::1/dlr",
        "https://p.example/\u0007",
        "//partner.example/dlr",
    ],
)
def test_an_incorrect_notify_url_falls_back_to_the_configured_one(url: str) -> None:
    """rest_status.rst, "Подключение сервиса": "в случае, если параметр не передан или
    передан некорректный адрес, то отчет ... передается на заданный при настройке"."""
    req = parse_send(sms_body(notifyUrl=url))
    assert req.notify_url_ignored
    sub = req.submission(NOW, DAY)
    assert sub.report_url == ""
    assert sub.report_format == message_service_pb2.REPORT_FORMAT_REST_V6


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("", "empty"),  # rest_sms.rst: given, it cannot be empty
        ("   ", "empty"),
        ("https://p.example/" + "x" * (2049 - 18), "2048"),  # nor longer than 2048
        (["https://p.example/"], "string"),
    ],
)
def test_a_notify_url_that_breaks_the_documented_rules_is_refused(url: Any, words: str) -> None:
    with pytest.raises(RcsError) as caught:
        parse_send(sms_body(notifyUrl=url))
    assert (caught.value.reason, caught.value.field) == ("INVALID_REQUEST", "notifyUrl")
    assert words in caught.value.message


def test_a_null_notify_url_is_not_given() -> None:
    body = sms_body()
    body["notifyUrl"] = None
    req = parse_send(body)
    assert (req.notify_url, req.notify_url_ignored) == ("", False)


# --- scheduleInfo and useTimeDiff -------------------------------------------------------------


@pytest.mark.parametrize(
    ("info", "send_after"),
    [
        ({"timeBegin": "10:00", "timeEnd": "21:00"}, dt.datetime(2026, 11, 26, 10, tzinfo=MSK)),
        ({"timeBegin": "08:00", "timeEnd": "21:00"}, None),
        ({"timeBegin": "08:00", "weekdaysSchedule": "5"}, dt.datetime(2026, 11, 27, 8, tzinfo=MSK)),
        ({"timeEnd": "08:00"}, dt.datetime(2026, 11, 27, 0, tzinfo=MSK)),
        ({"weekdaysSchedule": ""}, None),
        ({}, None),
    ],
)
def test_schedule_info_in_moscow_time_sets_the_earliest_send_time(
    info: dict[str, Any], send_after: dt.datetime | None
) -> None:
    sub = submission(scheduleInfo=info, useTimeDiff=False)
    assert sub.HasField("send_after") == (send_after is not None)
    if send_after is not None:
        assert sub.send_after.ToDatetime(dt.UTC) == send_after
    assert sub.ttl.seconds == 0  # still the partner's default


def test_a_window_after_the_validity_is_refused_naming_the_ttl() -> None:
    # Thursday is not Monday to Wednesday: Monday 10:00 is four days away, past 48 hours.
    info = {"timeBegin": "10:00", "timeEnd": "12:00", "weekdaysSchedule": "123"}
    err = refusal(scheduleInfo=info, data={"ttl": 48, "ttlUnit": "HOURS"})
    assert err.field == "message/data/ttl"
    assert "2026-11-30T10:00:00+0300" in err.message


def test_a_deadline_shortens_the_validity() -> None:
    deadline = {"deadline": "2026-11-26T12:30:00+0300"}  # 3.5 hours from now
    assert submission(scheduleInfo=deadline).ttl.seconds == 3 * 3600 + 1800
    assert submission(scheduleInfo=deadline, data={"ttl": 60}).ttl.seconds == 3600  # sooner
    assert submission(default_ttl=3600, scheduleInfo=deadline).ttl.seconds == 0  # default
    later = {"deadline": "2026-11-28T09:00:00+0300"}
    assert submission(scheduleInfo=later).ttl.seconds == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"scheduleInfo": "10:00-21:00"}, "scheduleInfo"),
        ({"scheduleInfo": {"timeBegin": "9"}}, "scheduleInfo/timeBegin"),
        ({"scheduleInfo": {"timeEnd": "21:60"}}, "scheduleInfo/timeEnd"),
        ({"scheduleInfo": {"timeBegin": "10:00", "timeEnd": "10:00"}}, "scheduleInfo"),
        ({"scheduleInfo": {"weekdaysSchedule": "8"}}, "scheduleInfo/weekdaysSchedule"),
        ({"scheduleInfo": {"deadline": "2026-11-26 12:30"}}, "scheduleInfo/deadline"),
        ({"scheduleInfo": {"deadline": "2026-11-26T08:00:00+0300"}}, "scheduleInfo/deadline"),
        (
            {"scheduleInfo": {"timeBegin": "10:00", "deadline": "2026-11-26T10:00:00+0300"}},
            "scheduleInfo/deadline",
        ),
        ({"useTimeDiff": "false"}, "useTimeDiff"),
        ({"scheduleInfo": {"timeBegin": "10:00"}, "data": {"ttl": 60}}, "message/data/ttl"),
    ],
)
def test_a_schedule_that_cannot_be_followed_is_refused_with_its_field(
    overrides: dict[str, Any], field: str
) -> None:
    assert refusal(**overrides).field == field


def test_use_time_diff_sends_the_window_in_the_subscribers_zone() -> None:
    """The zone comes from the number plan at dispatch: no earliest time at the gateway."""
    sub = submission(useTimeDiff=True, scheduleInfo={"timeBegin": "10:00", "timeEnd": "21:00"})
    assert not sub.HasField("send_after")
    assert sub.send_window.subscriber_zone
    assert (sub.send_window.begin_minute, sub.send_window.end_minute) == (600, 1260)


def test_a_moscow_window_has_its_earliest_time_and_its_window() -> None:
    sub = submission(scheduleInfo={"timeBegin": "10:00", "timeEnd": "21:00"}, useTimeDiff=False)
    assert sub.HasField("send_after")
    assert not sub.send_window.subscriber_zone
    assert sub.send_window.utc_offset_minutes == 180


def test_use_time_diff_without_hours_changes_nothing() -> None:
    sub = submission(useTimeDiff=True, scheduleInfo={"deadline": "2026-11-26T12:30:00+0300"})
    assert not sub.HasField("send_after")
    assert sub.ttl.seconds == 3 * 3600 + 1800


# --- over HTTP ----------------------------------------------------------------------------------


async def test_notify_url_and_schedule_reach_core(client: Client, core: FakeCore) -> None:
    deadline = (dt.datetime.now(MSK) + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S%z")
    body = sms_body(
        notifyUrl="https://partner.example/dlr",
        registeredDelivery=2,
        scheduleInfo={"timeBegin": "00:00", "timeEnd": "24:00", "deadline": deadline},
    )
    resp, answer = await post_send(client, body)
    assert resp.status == 200, answer
    (sub,) = core.messages.received
    assert (sub.report_format, sub.report_url, sub.receipt_request) == (
        message_service_pb2.REPORT_FORMAT_REST_V6,
        "https://partner.example/dlr",
        message_pb2.RECEIPT_REQUEST_FAILURES,
    )
    # The fake's default validity is an hour; the deadline in 30 minutes ends it sooner.
    assert 1790 <= sub.ttl.seconds <= 1800
    assert not sub.HasField("send_after")


async def test_an_ignored_notify_url_is_logged_without_the_url(
    client: Client, core: FakeCore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="gateways.rest"):
        resp, _ = await post_send(client, sms_body(notifyUrl="partner.example/dlr?token=s3"))
    assert resp.status == 200
    assert core.messages.received[0].report_url == ""
    (line,) = [r for r in caplog.records if r.getMessage() == "rest_notify_url_ignored"]
    assert line.__dict__["partner"] == "acme"
    assert "token" not in caplog.text


async def test_a_window_after_the_default_validity_is_refused_before_core(
    client: Client, core: FakeCore
) -> None:
    # Opens at the start of the hour after next: more than the fake's 1 hour away.
    opens = dt.datetime.now(MSK) + dt.timedelta(hours=2)
    info = {"timeBegin": f"{opens.hour:02}:00", "timeEnd": f"{(opens.hour + 1) % 24:02}:00"}
    resp, answer = await post_send(client, sms_body(scheduleInfo=info))
    assert (resp.status, answer["error"]["code"]) == (400, 4), answer
    assert "validity" in answer["extendedDescription"]
    assert core.messages.submits == []
