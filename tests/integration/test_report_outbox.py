"""The report outbox over core's gRPC and real PostgreSQL: a final status makes the report
its partner asked for in the same transaction; leases hand it out, wait for new ones, and
hand it out again when they run out; settlements remove, retry or release."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.auth import partners_store as partners
from rcs_core.delivery.finalize import finalize
from rcs_core.messages.statuses import Status
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.core_services import CoreServices, CoreStubs
from tests.support import start_server

pytestmark = pytest.mark.integration
SMPP = ms.REPORT_FORMAT_SMPP


def sms(dest: str = "79161234567", **kw: Any) -> ms.MessageSubmission:
    return ms.MessageSubmission(
        destination=dest,
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text=kw.pop("text", "hello"), sender="RCS"),
        **kw,
    )


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[Any]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "acme", "pw", senders=["RCS"])
        await partners.upsert(conn, "other", "pw", senders=["RCS"])
        await conn.execute("UPDATE partners SET report_url = 'http://partner.test/dlr'")
        await conn.commit()
    servicer = CoreServices(pool, installation_id=7)
    server = await start_server(servicer.register)
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield CoreStubs(channel)
    await channel.close()
    await server.stop(0)
    await servicer.close()


async def submit(core: Any, *subs: ms.MessageSubmission, partner: str = "acme") -> list[int]:
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner=partner, messages=subs)
    )
    assert all(not r.HasField("error") for r in resp.results), resp
    return [int(r.message_id) for r in resp.results]


async def finish(dsn: str, *items: tuple[int, Status, int]) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await conn.execute("UPDATE messages SET status = 2, part_count = 2")
        await finalize(conn, [(i, s, e, "test") for i, s, e in items])


def lease(
    partner: str = "acme", *, wait: float = 0, lease: float = 30, fmt: int = SMPP
) -> ms.LeaseReportsRequest:
    return ms.LeaseReportsRequest(
        partner=partner,
        format=fmt,  # type: ignore[arg-type]
        max_reports=100,
        wait=duration_pb2.Duration(seconds=int(wait), nanos=int(wait % 1 * 1e9)),
        lease=duration_pb2.Duration(seconds=int(lease), nanos=int(lease % 1 * 1e9)),
    )


async def test_final_status_makes_the_report_with_what_the_partner_needs(
    core: Any, database_url: str
) -> None:
    (mid,) = await submit(
        core,
        sms(client_ref="ref-1", ptag="tag-1", report_format=SMPP, traffic_type=1),
    )
    assert (await core.leases.LeaseReports(lease())).reports == []  # nothing final yet
    await finish(database_url, (mid, Status.UNDELIVERED, 8))
    (report,) = (await core.leases.LeaseReports(lease())).reports
    assert report.kind == ms.REPORT_KIND_STATUS
    assert report.message_id == str(mid)
    assert (report.client_ref, report.ptag) == ("ref-1", "tag-1")
    assert (report.destination, report.sender, report.text) == ("79161234567", "RCS", "hello")
    assert report.status == status_pb2.MESSAGE_STATUS_UNDELIVERED
    assert report.error_code == 8
    assert report.part_count == 2
    assert report.traffic_type == 1
    assert report.attempts == 1
    assert report.done_time.ToDatetime() >= report.submit_time.ToDatetime()
    # Leased: not handed out twice, and not to another login.
    assert (await core.leases.LeaseReports(lease())).reports == []
    assert (await core.leases.LeaseReports(lease("other"))).reports == []
    settled = await core.leases.SettleReports(ms.SettleReportsRequest(delivered=[report.report_id]))
    assert settled.settled_count == 1
    assert (
        await core.leases.SettleReports(ms.SettleReportsRequest(delivered=[report.report_id]))
    ) == (ms.SettleReportsResponse(settled_count=0))


async def test_reports_follow_the_receipt_request_and_the_format(
    core: Any, database_url: str
) -> None:
    ids = await submit(
        core,
        sms(report_format=SMPP),  # unspecified receipt request: every final status
        sms(report_format=SMPP, receipt_request=message_pb2.RECEIPT_REQUEST_NONE),
        sms(report_format=SMPP, receipt_request=message_pb2.RECEIPT_REQUEST_FAILURES),
        sms(report_format=SMPP, receipt_request=message_pb2.RECEIPT_REQUEST_FAILURES),
        sms(),  # pull only
        sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url="https://x.test/cb"),
        sms(report_format=ms.REPORT_FORMAT_HTTP_V5),  # the partner's report_url
    )
    await finish(
        database_url,
        (ids[0], Status.DELIVERED, 0),
        (ids[1], Status.DELIVERED, 0),
        (ids[2], Status.DELIVERED, 0),
        (ids[3], Status.EXPIRED, 7),
        (ids[4], Status.DELIVERED, 0),
        (ids[5], Status.DELIVERED, 0),
        (ids[6], Status.REJECTED, 10),
    )
    smpp = (await core.leases.LeaseReports(lease())).reports
    assert sorted(int(r.message_id) for r in smpp) == [ids[0], ids[3]]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT message_id, format, url FROM report_outbox WHERE format <> 1 ORDER BY id"
        )
        assert await cur.fetchall() == [
            (ids[5], 3, "https://x.test/cb"),
            (ids[6], 2, "http://partner.test/dlr"),
        ]


async def test_a_waiting_lease_wakes_when_a_report_is_made(core: Any, database_url: str) -> None:
    (mid,) = await submit(core, sms(report_format=SMPP))
    waiting = asyncio.ensure_future(core.leases.LeaseReports(lease(wait=10)))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    started = asyncio.get_running_loop().time()
    await finish(database_url, (mid, Status.DELIVERED, 0))
    (report,) = (await waiting).reports
    assert report.message_id == str(mid)
    assert asyncio.get_running_loop().time() - started < 5


async def test_an_unsettled_lease_runs_out_and_the_report_comes_again(
    core: Any, database_url: str
) -> None:
    (mid,) = await submit(core, sms(report_format=SMPP))
    await finish(database_url, (mid, Status.DELIVERED, 0))
    (first,) = (await core.leases.LeaseReports(lease(lease=0.5))).reports
    (again,) = (await core.leases.LeaseReports(lease(wait=5))).reports  # the taker "died"
    assert again.report_id == first.report_id
    assert again.attempts == 2


async def test_failed_reports_back_off_and_released_ones_come_back_at_once(
    core: Any, database_url: str
) -> None:
    a, b = await submit(core, sms(report_format=SMPP), sms(report_format=SMPP))
    await finish(database_url, (a, Status.DELIVERED, 0), (b, Status.DELIVERED, 0))
    ra, rb = (await core.leases.LeaseReports(lease())).reports
    await core.leases.SettleReports(
        ms.SettleReportsRequest(failed=[ra.report_id], released=[rb.report_id], error="0x08")
    )
    (back,) = (await core.leases.LeaseReports(lease())).reports
    assert back.report_id == rb.report_id
    assert back.attempts == 1  # a released lease does not count as an attempt
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT next_attempt_at - now(), last_error FROM report_outbox WHERE id = %s",
            (ra.report_id,),
        )
        row = await cur.fetchone()
    assert row is not None
    assert dt.timedelta(seconds=2) <= row[0] <= dt.timedelta(seconds=5)  # base 5 s, jittered
    assert row[1] == "0x08"


async def test_a_report_is_made_only_if_the_status_commits(core: Any, database_url: str) -> None:
    (mid,) = await submit(core, sms(report_format=SMPP))
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await finalize(conn, [(mid, Status.DELIVERED, 0, "")])
        await conn.rollback()
    assert (await core.leases.LeaseReports(lease())).reports == []


async def test_bad_lease_requests_are_refused(core: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await core.leases.LeaseReports(lease(fmt=0))
    assert error_reason(err.value) == "INVALID_REQUEST"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await core.leases.LeaseReports(lease("nobody"))
    assert error_reason(err.value) == "INVALID_LOGIN"


async def test_scheduled_message_waits_in_the_queue_and_bad_fields_are_refused(
    core: Any, database_url: str
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    when = timestamp_pb2.Timestamp()
    when.FromDatetime(later)
    (mid,) = await submit(core, sms(send_after=when))
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute(
            "SELECT not_before FROM dispatch_queue WHERE message_id = %s", (mid,)
        )
        row = await cur.fetchone()
    assert row is not None
    assert abs((row[0] - later).total_seconds()) < 1
    got = await core.messages.GetMessage(ms.GetMessageRequest(message_id=str(mid)))
    assert abs((got.message.send_after.ToDatetime(dt.UTC) - later).total_seconds()) < 1
    too_late = timestamp_pb2.Timestamp()
    too_late.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(days=4))
    for bad, field in (
        (sms(send_after=too_late), "send_after"),
        (sms(ptag="no spaces"), "ptag"),
        (sms(report_url="ftp://x.test/"), "report_url"),
        (sms(report_url="/relative"), "report_url"),
    ):
        resp = await core.messages.SubmitMessages(
            ms.SubmitMessagesRequest(partner="acme", messages=[bad])
        )
        assert resp.results[0].error.reason == "INVALID_REQUEST"
        assert resp.results[0].error.field == field
