"""Messages partners split themselves, over core's gRPC and real PostgreSQL: the first part
reserves the id, every part is answered with it at once, the last accepts the message, and
parts that stop coming end REJECTED (with their report): no id is left without a status."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from rcs.common.v1 import channel_pb2, message_pb2, status_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.auth import partners_store as partners
from rcs_core.messages import concatenated
from rcs_core.messages.idalloc import IdAllocator
from rcs_runtime.grpc_client import open_channel
from tests.core_services import CoreServices, CoreStubs
from tests.support import start_server

pytestmark = pytest.mark.integration
TEXT = "Сообщение, которое партнёр разбил на части сам. " * 3


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[Any]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "acme", "pw", senders=["ACME"])
        await conn.commit()
    servicer = CoreServices(pool, installation_id=7)
    server = await start_server(servicer.register)
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield CoreStubs(channel)
    await channel.close()
    await server.stop(0)
    await servicer.close()


def chunks(text: str, size: int = 67) -> list[bytes]:
    return [text[i : i + size].encode("utf-16-be") for i in range(0, len(text), size)]


def part(
    n: int,
    payloads: list[bytes],
    dest: str = "79161234567",
    receipts: message_pb2.ReceiptRequest.ValueType = message_pb2.RECEIPT_REQUEST_ALL,
) -> ms.SubmitPartRequest:
    return ms.SubmitPartRequest(
        partner="acme",
        submission=ms.MessageSubmission(
            destination=dest,
            channel=channel_pb2.CHANNEL_SMS,
            sms=message_pb2.SmsContent(sender="ACME"),
            report_format=ms.REPORT_FORMAT_SMPP,
            receipt_request=receipts,
        ),
        reference=7,
        part_number=n,
        part_total=len(payloads),
        data_coding=8,
        payload=payloads[n - 1],
    )


async def count(dsn: str, table: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(f"SELECT count(*) FROM {table}")
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def test_every_part_gets_the_id_at_once_and_the_last_accepts(
    core: Any, database_url: str
) -> None:
    payloads = chunks(TEXT)
    assert len(payloads) == 3
    answers = [await core.messages.SubmitPart(part(n, payloads)) for n in (2, 1, 3)]
    ids = {a.result.message_id for a in answers}
    assert len(ids) == 1
    assert "" not in ids
    assert [a.complete for a in answers] == [False, False, True]
    (mid,) = ids
    got = (await core.messages.GetMessage(ms.GetMessageRequest(message_id=mid))).message
    assert got.sms.text == TEXT
    assert got.status == status_pb2.MESSAGE_STATUS_ACCEPTED
    assert await count(database_url, "dispatch_queue") == 1
    assert await count(database_url, "submit_parts") == 0
    assert await count(database_url, "pending_submissions") == 0
    again = await core.messages.SubmitPart(part(1, payloads))  # the reference used afresh
    assert again.result.message_id not in ("", mid)


async def test_a_bad_first_part_is_refused_and_nothing_is_kept(
    core: Any, database_url: str
) -> None:
    answer = await core.messages.SubmitPart(part(1, chunks(TEXT), dest="not-a-number"))
    assert answer.result.error.reason == "INVALID_DESTINATION"
    assert not answer.result.message_id
    assert await count(database_url, "pending_submissions") == 0
    assert await count(database_url, "submit_parts") == 0


async def test_parts_that_stop_coming_end_rejected_with_a_report(
    core: Any, pool: Any, database_url: str
) -> None:
    payloads = chunks(TEXT)
    first = await core.messages.SubmitPart(part(1, payloads))
    mid = first.result.message_id
    async with pool.connection() as conn, conn.transaction():
        assert await concatenated.give_up_overdue(conn, IdAllocator(7), dt.timedelta(hours=1)) == 0
    async with pool.connection() as conn, conn.transaction():
        assert await concatenated.give_up_overdue(conn, IdAllocator(7), dt.timedelta(0)) == 1
    got = (await core.messages.GetMessage(ms.GetMessageRequest(message_id=mid))).message
    assert got.status == status_pb2.MESSAGE_STATUS_REJECTED
    assert got.sms.text == TEXT[:67]  # what arrived
    assert got.history[-1].detail == "parts_missing"
    assert await count(database_url, "dispatch_queue") == 0
    (report,) = (
        await core.leases.LeaseReports(
            ms.LeaseReportsRequest(partner="acme", format=ms.REPORT_FORMAT_SMPP)
        )
    ).reports
    assert report.message_id == mid
    assert report.status == status_pb2.MESSAGE_STATUS_REJECTED
    late = await core.messages.SubmitPart(part(2, payloads))  # too late: a new message, not the old
    assert late.result.message_id != mid


async def test_a_joined_text_too_long_is_rejected_under_its_id(core: Any) -> None:
    payloads = chunks("Ж" * 2100)
    answers = [
        await core.messages.SubmitPart(part(n, payloads)) for n in range(1, len(payloads) + 1)
    ]
    (mid,) = {a.result.message_id for a in answers}
    got = (await core.messages.GetMessage(ms.GetMessageRequest(message_id=mid))).message
    assert got.status == status_pb2.MESSAGE_STATUS_REJECTED
    assert got.history[-1].detail == "invalid_text"


async def test_a_receipt_asked_for_on_any_part_is_kept(core: Any) -> None:
    """Kannel asks on the first part only; the parts may reach core in another order."""
    payloads = chunks(TEXT)
    none = message_pb2.RECEIPT_REQUEST_NONE
    await core.messages.SubmitPart(part(3, payloads, receipts=none))
    await core.messages.SubmitPart(part(1, payloads))
    last = await core.messages.SubmitPart(part(2, payloads, receipts=none))
    mid = last.result.message_id
    got = (await core.messages.GetMessage(ms.GetMessageRequest(message_id=mid))).message
    assert got.receipt_request == message_pb2.RECEIPT_REQUEST_ALL


async def test_each_part_that_asked_gets_its_receipt(core: Any, pool: Any) -> None:
    """Rapporto sends one deliver_sm per submit_sm: the report of a message the partner
    split itself counts the parts that asked, also when it ends with parts missing."""
    none = message_pb2.RECEIPT_REQUEST_NONE
    payloads = chunks(TEXT)  # three parts
    await core.messages.SubmitPart(part(1, payloads))
    await core.messages.SubmitPart(part(2, payloads, receipts=none))
    last = await core.messages.SubmitPart(part(3, payloads))
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT receipt_copies FROM messages WHERE id = %s", (int(last.result.message_id),)
        )
        assert await cur.fetchone() == (2,)

    payloads = chunks(TEXT.upper())  # two of three arrive, both asking; then given up
    await core.messages.SubmitPart(part(1, payloads, dest="79161234568"))
    first = await core.messages.SubmitPart(part(2, payloads, dest="79161234568"))
    async with pool.connection() as conn, conn.transaction():
        assert await concatenated.give_up_overdue(conn, IdAllocator(7), dt.timedelta(0)) == 1
    (report,) = (
        await core.leases.LeaseReports(
            ms.LeaseReportsRequest(partner="acme", format=ms.REPORT_FORMAT_SMPP)
        )
    ).reports
    assert (report.message_id, report.receipt_copies) == (first.result.message_id, 2)
