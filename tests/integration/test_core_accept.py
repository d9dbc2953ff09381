"""Accept path of rcs_core over a real gRPC server and real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from gateways.rest.parsing import parse_send
from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.auth import partners_store as partners
from rcs_core.messages import ids
from rcs_core.messages import servicer as servicer_module
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.core_services import CoreServices, CoreStubs
from tests.support import accept_uncommitted, start_server

pytestmark = pytest.mark.integration


def sms(dest: str = "79161234567", text: str = "hi", ref: str = "", **kw: Any) -> Any:
    return ms.MessageSubmission(
        client_ref=ref,
        destination=dest,
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text=text, sender=kw.pop("sender", "RCS")),
        **kw,
    )


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[Any]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "acme", "pw", senders=["RCS"])
        await conn.commit()
    servicer = CoreServices(pool, installation_id=7)
    server = await start_server(servicer.register)
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield CoreStubs(channel)
    await channel.close()
    await server.stop(0)
    await servicer.close()


async def count(dsn: str, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(f"SELECT count(*) FROM {table}")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_accepted_message_is_stored_with_event_and_queue_entry(
    core: Any, database_url: str
) -> None:
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[sms()])
    )
    (result,) = resp.results
    assert not result.HasField("error")
    message_id = int(result.message_id)
    assert ids.installation_of(message_id) == 7
    got = await core.messages.GetMessage(ms.GetMessageRequest(message_id=result.message_id))
    assert got.message.status == status_pb2.MESSAGE_STATUS_ACCEPTED
    assert got.message.destination == "79161234567"
    assert [h.status for h in got.message.history] == [status_pb2.MESSAGE_STATUS_ACCEPTED]
    assert await count(database_url, "dispatch_queue") == 1


async def test_repeated_client_ref_returns_first_id_and_stores_once(
    core: Any, database_url: str
) -> None:
    first = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[sms(ref="p-1")])
    )
    again = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[sms(ref="p-1"), sms(ref="p-1")])
    )
    assert [r.message_id for r in again.results] == [first.results[0].message_id] * 2
    assert all(r.duplicate for r in again.results)
    assert await count(database_url, "messages") == 1


async def test_a_ref_still_being_stored_is_refused_when_the_api_asks(
    core: Any, database_url: str
) -> None:
    """HTTP API v5's 503: a repeat of a partnerMsgId while the first is being stored."""
    async with await psycopg.AsyncConnection.connect(database_url) as first:
        stored = await accept_uncommitted(
            first, "acme", sms(ref="p-9", refuse_ref_in_progress=True), default_sender="RCS"
        )
        busy = await core.messages.SubmitMessages(
            ms.SubmitMessagesRequest(
                partner="acme", messages=[sms(ref="p-9", refuse_ref_in_progress=True)]
            ),
            timeout=10,  # without the refusal it would wait for this test's commit
        )
        (refused,) = busy.results
        assert (refused.error.reason, refused.message_id) == ("REQUEST_IN_PROGRESS", "")
        await first.commit()
    after = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(
            partner="acme", messages=[sms(ref="p-9", refuse_ref_in_progress=True)]
        )
    )
    assert (after.results[0].message_id, after.results[0].duplicate) == (
        str(stored.message_id),
        True,
    )
    # Twice in one batch: the first is being stored while the second is looked at.
    twice = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(
            partner="acme",
            messages=[sms(ref="p-8", refuse_ref_in_progress=True, text=t) for t in ("a", "b")],
        )
    )
    assert [r.error.reason for r in twice.results] == ["", "REQUEST_IN_PROGRESS"]
    assert await count(database_url, "messages") == 2


async def test_repeated_request_id_replays_first_response(core: Any, database_url: str) -> None:
    req = ms.SubmitMessagesRequest(request_id="req-1", partner="acme", messages=[sms(), sms()])
    first = await core.messages.SubmitMessages(req)
    second = await core.messages.SubmitMessages(req)
    assert first == second
    assert await count(database_url, "messages") == 2


@pytest.mark.parametrize(
    ("submission", "reason"),
    [
        (sms(dest="12"), "INVALID_DESTINATION"),
        (sms(text=""), "INVALID_TEXT"),
        (sms(text="x" * 2001), "INVALID_TEXT"),
        (sms(ttl=duration_pb2.Duration(seconds=3 * 86400 + 1)), "INVALID_TTL"),  # over 3 days
        (sms(priority=3), "INVALID_REQUEST"),
        (
            ms.MessageSubmission(destination="79161234567", channel=channel_pb2.CHANNEL_IVR),
            "INVALID_MESSAGE_TYPE",
        ),
    ],
)
async def test_invalid_submission_is_refused_and_nothing_is_stored(
    core: Any, database_url: str, submission: Any, reason: str
) -> None:
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[submission])
    )
    assert resp.results[0].error.reason == reason
    assert resp.results[0].message_id == ""
    assert await count(database_url, "messages") == 0
    assert await count(database_url, "dispatch_queue") == 0


async def test_unknown_partner_is_refused_with_reason(core: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await core.messages.SubmitMessages(
            ms.SubmitMessagesRequest(partner="nobody", messages=[sms()])
        )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(err.value) == "INVALID_LOGIN"


async def test_get_of_unknown_or_foreign_message_is_not_found(core: Any) -> None:
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[sms()])
    )
    for request in (
        ms.GetMessageRequest(message_id="99999999"),
        ms.GetMessageRequest(message_id="abc"),
        ms.GetMessageRequest(message_id=resp.results[0].message_id, partner="other"),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await core.messages.GetMessage(request)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_list_pages_through_messages_newest_first(core: Any) -> None:
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[sms() for _ in range(5)])
    )
    sent = sorted((int(r.message_id) for r in resp.results), reverse=True)
    page1 = await core.messages.ListMessages(ms.ListMessagesRequest(partner="acme", page_size=3))
    page2 = await core.messages.ListMessages(
        ms.ListMessagesRequest(partner="acme", page_size=3, page_token=page1.next_page_token)
    )
    assert [int(m.id) for m in page1.messages] + [int(m.id) for m in page2.messages] == sent
    assert page2.next_page_token == ""


async def test_repeated_receipt_request_is_applied_once(core: Any, database_url: str) -> None:
    req = ms.RecordReceiptsRequest(
        request_id="rr-1",
        receipts=[
            ms.Receipt(
                interface_id="if-1",
                operator_message_id="00FF",
                status=status_pb2.MESSAGE_STATUS_DELIVERED,
            )
        ],
    )
    assert (await core.delivery.RecordReceipts(req)).matched_count == 0
    await core.delivery.RecordReceipts(req)
    assert await count(database_url, "pending_receipts") == 1


async def test_receipt_with_non_final_status_is_refused(core: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await core.delivery.RecordReceipts(
            ms.RecordReceiptsRequest(
                receipts=[
                    ms.Receipt(
                        interface_id="if-1",
                        operator_message_id="1",
                        status=status_pb2.MESSAGE_STATUS_SENT,
                    )
                ]
            )
        )
    assert error_reason(err.value) == "INVALID_REQUEST"


async def test_status_stream_delivers_new_events(core: Any) -> None:
    stream = core.messages.StreamStatusEvents(ms.StreamStatusEventsRequest(partner="acme"))
    first = asyncio.ensure_future(stream.read())
    await asyncio.sleep(0.5)  # the stream has taken its cursor
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[sms()])
    )
    event = await asyncio.wait_for(first, 5)
    stream.cancel()
    assert event.event.message_id == resp.results[0].message_id
    assert event.event.status == status_pb2.MESSAGE_STATUS_ACCEPTED
    assert event.event_id > 0


async def test_status_stream_wakes_on_notify_not_on_a_timer(
    core: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the periodic re-check an hour away, only the NOTIFY of the inserts can bring the
    # events: a stream that polled would wait out the deadline below.
    monkeypatch.setattr(servicer_module, "STREAM_RECHECK_SECONDS", 3600.0)
    stream = core.messages.StreamStatusEvents(ms.StreamStatusEventsRequest(partner="acme"))
    first = asyncio.ensure_future(stream.read())
    await asyncio.sleep(0.5)  # the stream has taken its cursor and is waiting
    ids = []
    for _ in range(2):  # the second arrives after the stream has waited again
        resp = await core.messages.SubmitMessages(
            ms.SubmitMessagesRequest(partner="acme", messages=[sms()])
        )
        ids.append(resp.results[0].message_id)
        event = await asyncio.wait_for(first if len(ids) == 1 else stream.read(), 30)
        assert event.event.message_id == ids[-1]
    stream.cancel()


def rest_sms(extra_param: str | None) -> Any:
    """A submission as the REST gateway builds it from a v6 body with this extraParam."""
    body: dict[str, Any] = {
        "login": "acme",
        "password": "pw",
        "destAddr": "+7 916 123-45-67",
        "message": {"type": "SMS", "data": {"text": "sale", "serviceNumber": "RCS"}},
    }
    if extra_param is not None:
        body["extraParam"] = extra_param
    return parse_send(body).submission()


async def test_traffic_type_and_mailing_from_rest_are_stored_and_returned(
    core: Any, database_url: str
) -> None:
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(
            partner="acme",
            messages=[
                rest_sms("trafficType=0,mailing=promo-nov,note=a,, b"),
                rest_sms("trafficType=7"),
                rest_sms(None),
            ],
        )
    )
    ads, templated, plain = (r.message_id for r in resp.results)
    assert all(not r.HasField("error") for r in resp.results)
    got = (await core.messages.GetMessage(ms.GetMessageRequest(message_id=ads))).message
    assert got.HasField("traffic_type")
    assert (got.traffic_type, got.mailing) == (0, "promo-nov")
    got = (await core.messages.GetMessage(ms.GetMessageRequest(message_id=plain))).message
    assert not got.HasField("traffic_type")
    assert got.mailing == ""
    listed = await core.messages.ListMessages(ms.ListMessagesRequest(partner="acme", page_size=10))
    assert {
        m.id: (m.traffic_type if m.HasField("traffic_type") else None, m.mailing)
        for m in listed.messages
    } == {ads: (0, "promo-nov"), templated: (7, ""), plain: (None, "")}
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT id::text, traffic_type, mailing FROM messages")
        rows = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
    assert rows == {ads: (0, "promo-nov"), templated: (7, ""), plain: (None, "")}


@pytest.mark.parametrize(
    ("traffic_type", "mailing", "field"),
    [
        (3, "", "traffic_type"),
        (8, "", "traffic_type"),
        (-1, "", "traffic_type"),
        (None, "has space", "mailing"),
        (None, "m" * 65, "mailing"),
        (0, "промо", "mailing"),
    ],
)
async def test_bad_traffic_type_or_mailing_is_refused_by_core(
    core: Any, database_url: str, traffic_type: int | None, mailing: str, field: str
) -> None:
    submission = sms(mailing=mailing)
    if traffic_type is not None:
        submission.traffic_type = traffic_type
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[submission])
    )
    (result,) = resp.results
    assert (result.error.reason, result.error.field) == ("INVALID_REQUEST", field)
    assert await count(database_url, "messages") == 0


async def test_batch_columns_stored_whether_shared_or_not(core: Any, database_url: str) -> None:
    """Values shared by the whole batch go to PostgreSQL as one parameter, the others as
    arrays: each message must be stored with its own values either way."""
    later = timestamp_pb2.Timestamp()
    later.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    uniform = [
        sms(f"7916000000{i}", text="same", ttl=duration_pb2.Duration(seconds=600)) for i in range(3)
    ]
    mixed = [
        sms("79160000010", text="a", priority=2, ptag="p-1", ttl=duration_pb2.Duration(seconds=60)),
        sms("79160000011", text="b", ref="r11", report_url="http://x.example/r"),
        sms("79160000012", text="c", send_after=later, ttl=duration_pb2.Duration(seconds=86400)),
    ]
    stored: dict[str, tuple[Any, ...]] = {}
    for batch in (uniform, mixed):
        answer = await core.messages.SubmitMessages(
            ms.SubmitMessagesRequest(partner="acme", messages=batch)
        )
        assert [r.error.message for r in answer.results] == ["", "", ""]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT m.destination, m.body, m.priority, m.ptag, m.client_ref, m.report_url,"
            " m.send_after IS NOT NULL, extract(epoch FROM m.valid_until - m.created_at)::int,"
            " q.priority, q.not_before > now() + interval '1 hour'"
            " FROM messages m JOIN dispatch_queue q ON q.message_id = m.id"
        )
        for row in await cur.fetchall():
            stored[row[0]] = tuple(row[1:])
    for i in range(3):
        assert stored[f"7916000000{i}"] == ("same", 0, None, None, None, False, 600, 0, False)
    assert stored["79160000010"] == ("a", 2, "p-1", None, None, False, 60, 2, False)
    assert stored["79160000011"][:5] == ("b", 0, None, "r11", "http://x.example/r")
    assert stored["79160000012"][5:] == (True, 86400, 0, True)


async def test_a_sending_window_is_stored_and_a_bad_one_refused(
    core: Any, database_url: str
) -> None:
    local = message_pb2.SendWindow(
        begin_minute=600, end_minute=1200, weekdays=[1, 5], subscriber_zone=True
    )
    moscow = message_pb2.SendWindow(begin_minute=1320, end_minute=360, utc_offset_minutes=180)
    bad = message_pb2.SendWindow(begin_minute=600, end_minute=600, subscriber_zone=True)
    answer = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(
            partner="acme",
            messages=[
                sms("79160000020", send_window=local),
                sms("79160000021", send_window=moscow),
                sms("79160000022", send_window=bad),
            ],
        )
    )
    ok_local, ok_moscow, refused = answer.results
    assert (refused.error.reason, refused.error.field) == ("INVALID_REQUEST", "send_window")
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT id, window_begin, window_end, window_days, window_offset FROM messages"
            " WHERE id = ANY(%s) ORDER BY destination",
            ([int(ok_local.message_id), int(ok_moscow.message_id)],),
        )
        rows = [tuple(r[1:]) for r in await cur.fetchall()]
    assert rows == [(600, 1200, 0b10001, None), (1320, 360, 0, 180)]


async def test_a_flash_sms_is_stored_as_flash(core: Any) -> None:
    flash = sms("79160000030")
    flash.sms.flash = True
    answer = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=[flash, sms("79160000031")])
    )
    got = [
        (
            await core.messages.GetMessage(ms.GetMessageRequest(message_id=r.message_id))
        ).message.sms.flash
        for r in answer.results
    ]
    assert got == [True, False]


async def test_a_binary_sms_is_stored_and_a_bad_one_refused(core: Any) -> None:
    def binary(dest: str, payload: bytes, esm_class: int = 0) -> Any:
        m = sms(dest, text="")
        m.sms.payload, m.sms.data_coding, m.sms.esm_class = payload, 245, esm_class
        return m

    wap = bytes.fromhex("0605040b8423f0dc0601ae")
    answer = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(
            partner="acme",
            messages=[
                binary("79160000040", wap, 0x40),
                binary("79160000041", b"\x05" + bytes(140), 0x40),  # header + data > one SMS
                binary("79160000042", bytes(1001)),  # more than 1,000 octets
            ],
        )
    )
    ok, too_long, too_big = answer.results
    assert (too_long.error.reason, too_long.error.field) == ("INVALID_TEXT", "payload")
    assert too_big.error.reason == "INVALID_TEXT"
    got = (
        await core.messages.GetMessage(ms.GetMessageRequest(message_id=ok.message_id))
    ).message.sms
    assert (got.payload, got.data_coding, got.esm_class, got.text) == (wap, 245, 0x40, "")
