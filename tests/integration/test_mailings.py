"""MailingService over a real gRPC server and real PostgreSQL; the feeder's ticks driven by
the test, so that its rate and resumption are checked exactly."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import psycopg
import pytest

from rcs.core.v1 import mailing_service_pb2 as ms
from rcs.core.v1 import mailing_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.mailings.feeder import Feeder
from rcs_core.mailings.servicer import MailingServicer
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration


@pytest.fixture
async def mailings(pool: Any, database_url: str) -> AsyncIterator[Any]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        pid = await partners.upsert(conn, "acme", "pw", default_sender="ACME")
        await conn.execute(
            "INSERT INTO blacklist (partner_id, number) VALUES (%s, '79160000009')", (pid,)
        )
        await conn.commit()
    server = await start_server(
        lambda s: mailing_service_pb2_grpc.add_MailingServiceServicer_to_server(
            MailingServicer(pool, default_rate=50), s
        )
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield mailing_service_pb2_grpc.MailingServiceStub(channel)
    await channel.close()
    await server.stop(0)


def stream(spec: ms.MailingSpec, lines: list[tuple[str, str]], batch: int = 2) -> Iterator[Any]:
    yield ms.CreateMailingRequest(spec=spec)
    for i in range(0, len(lines), batch):
        yield ms.CreateMailingRequest(
            recipients=ms.MailingRecipients(
                recipients=[
                    ms.MailingRecipient(line=i + j + 1, destination=d, text=t)
                    for j, (d, t) in enumerate(lines[i : i + batch])
                ]
            )
        )


LINES = [
    ("79161000001", "one"),
    ("79161000002", "two"),
    ("12", "bad number"),
    ("79160000009", "black-listed"),
    ("79161000001", "repeat"),
    ("+7 916 100-00-03", "three"),
]


async def scalar(dsn: str, sql: str, *args: Any) -> Any:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(sql, args)
        row = await cur.fetchone()
        assert row is not None
        return row[0]


async def test_create_refuses_bad_blacklisted_and_repeated_lines_and_loads_the_rest(
    mailings: Any, database_url: str
) -> None:
    spec = ms.MailingSpec(partner="acme", name="nov", source_key="S1.data:abc")
    answer = await mailings.CreateMailing(stream(spec, LINES))
    assert not answer.existing
    assert answer.mailing.state == ms.MAILING_STATE_LOADED
    assert answer.mailing.spec.sender == "ACME"  # the partner's default
    assert answer.mailing.progress.total == 3
    assert [(r.line, r.destination, r.reason) for r in answer.refused] == [
        (3, "12", "INVALID_DESTINATION"),
        (4, "79160000009", "BLACKLISTED"),
        (5, "79161000001", "DUPLICATE_DESTINATION"),
    ]
    again = await mailings.CreateMailing(stream(spec, LINES))
    assert again.existing
    assert again.mailing.id == answer.mailing.id
    assert list(again.refused) == list(answer.refused)
    assert await scalar(database_url, "SELECT count(*) FROM mailings") == 1


async def test_a_bad_text_refuses_the_whole_mailing_and_stores_nothing(
    mailings: Any, database_url: str
) -> None:
    spec = ms.MailingSpec(partner="acme", name="long")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mailings.CreateMailing(
            stream(spec, [("79161000001", "ok"), ("79161000002", "x" * 2001)])
        )
    assert error_reason(err.value) == "INVALID_TEXT"
    assert "line 2" in (err.value.details() or "")
    assert await scalar(database_url, "SELECT count(*) FROM mailings") == 0


async def test_a_name_already_used_is_refused(mailings: Any) -> None:
    await mailings.CreateMailing(stream(ms.MailingSpec(partner="acme", name="a"), LINES[:1]))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mailings.CreateMailing(
            stream(ms.MailingSpec(partner="acme", name="a", source_key="other"), LINES[:1])
        )
    assert error_reason(err.value) == "MAILING_NAME_TAKEN"


async def test_feeder_sends_at_the_rate_through_the_queue_and_resumes_from_rows(
    mailings: Any, pool: Any, database_url: str
) -> None:
    lines = [(f"7916200{i:04d}", f"text {{1}} {i}") for i in range(120)]
    spec = ms.MailingSpec(partner="acme", name="big", auto_start=True, rate_per_second=100)
    created = await mailings.CreateMailing(stream(spec, lines, batch=50))
    assert created.mailing.state == ms.MAILING_STATE_RUNNING
    mid = created.mailing.id
    await pool_exec(database_url, "UPDATE mailings SET credit_at = now() - interval '10 s'")
    fed = await Feeder(pool, 7).tick()
    assert fed == 100  # a second's worth at most, however long it waited
    # A new feeder (core restarted) goes on from the stored cursor.
    await pool_exec(database_url, "UPDATE mailings SET credit_at = now() - interval '10 s'")
    assert await Feeder(pool, 7).tick() == 20
    assert await Feeder(pool, 7).tick() == 0
    got = (await mailings.GetMailing(ms.GetMailingRequest(mailing_id=mid))).mailing
    assert got.state == ms.MAILING_STATE_FINISHED
    assert got.progress.accepted == 120
    assert await scalar(database_url, "SELECT count(*) FROM dispatch_queue") == 120
    assert await scalar(database_url, "SELECT count(DISTINCT destination) FROM messages") == 120
    assert (
        await scalar(
            database_url, "SELECT count(*) FROM mailing_recipients WHERE message_id IS NULL"
        )
        == 0
    )


async def test_texts_with_substitutions(mailings: Any, pool: Any, database_url: str) -> None:
    spec = ms.MailingSpec(
        partner="acme", name="subst", auto_start=True, text="Hello {1}, you owe {2}"
    )

    def requests() -> Iterator[Any]:
        yield ms.CreateMailingRequest(spec=spec)
        yield ms.CreateMailingRequest(
            recipients=ms.MailingRecipients(
                recipients=[
                    ms.MailingRecipient(destination="79161000001", params=["Ann", "10"]),
                    ms.MailingRecipient(destination="79161000002", text="own text"),
                ]
            )
        )

    await mailings.CreateMailing(requests())
    await pool_exec(database_url, "UPDATE mailings SET credit_at = now() - interval '1 s'")
    assert await Feeder(pool, 7).tick() == 2
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT body FROM messages ORDER BY destination")
        assert [r[0] for r in await cur.fetchall()] == ["Hello Ann, you owe 10", "own text"]


def id_stream(spec: ms.MailingSpec, lines: list[tuple[str, str, str]]) -> Iterator[Any]:
    yield ms.CreateMailingRequest(spec=spec)
    yield ms.CreateMailingRequest(
        recipients=ms.MailingRecipients(
            recipients=[
                ms.MailingRecipient(line=i + 1, external_id=x, destination=d, text=t)
                for i, (x, d, t) in enumerate(lines)
            ]
        )
    )


async def test_sid_ids_key_the_messages_so_a_file_loaded_again_sends_nothing_twice(
    mailings: Any, pool: Any, database_url: str
) -> None:
    lines = [
        ("272344713", "79161000001", "one"),
        ("435235262", "79161000002", "two"),
        ("272344713", "79161000003", "same id again"),
    ]
    spec = ms.MailingSpec(partner="acme", name="sid-a", auto_start=True, source_key="a")
    created = await mailings.CreateMailing(id_stream(spec, lines))
    assert [(r.line, r.destination, r.reason) for r in created.refused] == [
        (3, "79161000003", "DUPLICATE_ID")
    ]
    assert created.mailing.progress.total == 2
    await pool_exec(database_url, "UPDATE mailings SET credit_at = now() - interval '1 s'")
    assert await Feeder(pool, 7).tick() == 2
    # The same lines uploaded again as another file: a new mailing whose messages are the
    # ones the ids already name.
    again = ms.MailingSpec(partner="acme", name="sid-b", auto_start=True, source_key="b")
    await mailings.CreateMailing(id_stream(again, lines[:2]))
    await pool_exec(database_url, "UPDATE mailings SET credit_at = now() - interval '1 s'")
    assert await Feeder(pool, 7).tick() == 2
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT client_ref, destination FROM messages ORDER BY 1")
        assert await cur.fetchall() == [("272344713", "79161000001"), ("435235262", "79161000002")]
        cur = await conn.execute(
            "SELECT count(DISTINCT message_id), count(*) FROM mailing_recipients"
        )
        assert await cur.fetchone() == (2, 4)


async def test_start_pause_resume_cancel(mailings: Any, pool: Any, database_url: str) -> None:
    created = await mailings.CreateMailing(
        stream(ms.MailingSpec(partner="acme", name="manual"), LINES)
    )
    mid = created.mailing.id
    assert await Feeder(pool, 7).tick() == 0  # LOADED: waits for a start
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mailings.ResumeMailing(ms.ResumeMailingRequest(mailing_id=mid))
    assert error_reason(err.value) == "MAILING_STATE_CONFLICT"
    started = await mailings.StartMailing(ms.StartMailingRequest(mailing_id=mid, partner="acme"))
    assert started.mailing.state == ms.MAILING_STATE_RUNNING
    paused = await mailings.PauseMailing(ms.PauseMailingRequest(mailing_id=mid))
    assert paused.mailing.state == ms.MAILING_STATE_PAUSED
    await pool_exec(database_url, "UPDATE mailings SET credit_at = now() - interval '1 s'")
    assert await Feeder(pool, 7).tick() == 0
    resumed = await mailings.ResumeMailing(ms.ResumeMailingRequest(mailing_id=mid))
    assert resumed.mailing.state == ms.MAILING_STATE_RUNNING
    cancelled = await mailings.CancelMailing(ms.CancelMailingRequest(mailing_id=mid))
    assert cancelled.mailing.state == ms.MAILING_STATE_CANCELLED
    assert cancelled.mailing.HasField("end_time")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await mailings.GetMailing(ms.GetMailingRequest(mailing_id=mid, partner="other"))
    assert error_reason(err.value) == "MAILING_NOT_FOUND"
    listed = await mailings.ListMailings(ms.ListMailingsRequest(partner="acme"))
    assert [m.id for m in listed.mailings] == [mid]


async def test_scheduled_mailing_waits_for_its_start_time(
    mailings: Any, pool: Any, database_url: str
) -> None:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    spec = ms.MailingSpec(partner="acme", name="later", auto_start=True)
    spec.start_time.FromDatetime(start)
    created = await mailings.CreateMailing(stream(spec, LINES))
    assert created.mailing.state == ms.MAILING_STATE_SCHEDULED
    assert await Feeder(pool, 7).tick() == 0
    await pool_exec(database_url, "UPDATE mailings SET start_at = now() - interval '1 s'")
    await Feeder(pool, 7).tick()  # becomes RUNNING; the rate counts from now
    got = await mailings.GetMailing(ms.GetMailingRequest(mailing_id=created.mailing.id))
    assert got.mailing.state == ms.MAILING_STATE_RUNNING


async def pool_exec(dsn: str, sql: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute(sql)
        await conn.commit()
