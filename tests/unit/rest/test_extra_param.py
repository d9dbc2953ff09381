"""extraParam over HTTP: trafficType and mailing reach core, bad ones are Rapporto's error 4,
and the status view reports trafficType when the message has one."""

from __future__ import annotations

import pytest

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from tests.unit.rest.conftest import Client, post_send, sms_body
from tests.unit.rest.fakes import FakeCore, ts
from tests.unit.rest.test_send import assert_error
from tests.unit.rest.test_status import get_status


async def test_traffic_type_and_mailing_reach_core(client: Client, core: FakeCore) -> None:
    resp, _ = await post_send(
        client, sms_body(extraParam="campaign=ноябрь,, скидки,trafficType=5,mailing=nov.2026")
    )
    assert resp.status == 200
    (sub,) = core.messages.received
    assert sub.HasField("traffic_type")
    assert (sub.traffic_type, sub.mailing) == (5, "nov.2026")


async def test_without_extra_param_core_gets_no_traffic_type(
    client: Client, core: FakeCore
) -> None:
    resp, _ = await post_send(client, sms_body())
    assert resp.status == 200
    (sub,) = core.messages.received
    assert not sub.HasField("traffic_type")
    assert sub.mailing == ""


@pytest.mark.parametrize("raw", ["trafficType=4", "mailing=a b", "trafficType", "x=1,"])
async def test_bad_extra_param_is_error_4_and_reaches_no_submit(
    client: Client, core: FakeCore, raw: str
) -> None:
    resp, answer = await post_send(client, sms_body(extraParam=raw))
    assert_error(resp.status, answer, 4, 400)
    assert "extraParam" in answer["extendedDescription"]
    assert core.messages.submits == []


def _store(core: FakeCore, traffic_type: int | None) -> None:
    message = message_pb2.Message(
        id="2048000007",
        partner="acme",
        destination="79161234567",
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text="x", sender="RCS"),
        status=status_pb2.MESSAGE_STATUS_SENT,
        create_time=ts(1_557_051_595),
        mailing="nov",
    )
    if traffic_type is not None:
        message.traffic_type = traffic_type
    core.messages.stored[message.id] = message


@pytest.mark.parametrize("traffic_type", [0, 7])
async def test_status_view_reports_the_traffic_type(
    client: Client, core: FakeCore, traffic_type: int
) -> None:
    _store(core, traffic_type)
    status, _, body = await get_status(client, "2048000007")
    assert status == 200
    assert body["trafficType"] == traffic_type
    assert "mailing" not in body  # not part of Rapporto's status body


async def test_status_view_has_no_traffic_type_when_the_message_has_none(
    client: Client, core: FakeCore
) -> None:
    _store(core, None)
    _, _, body = await get_status(client, "2048000007")
    assert "trafficType" not in body
