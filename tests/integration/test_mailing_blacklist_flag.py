"""A black list entry's "remove from existing mailings" flag (ftp_blacklist.rst: Y/N) over
real gRPC servers (MailingService, SettingsService) and real PostgreSQL: the feeder's
ticks and the dispatcher's claim and filter are driven by the test."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest

from rcs.core.v1 import mailing_service_pb2 as ms
from rcs.core.v1 import mailing_service_pb2_grpc, settings_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.auth import partners_store as partners
from rcs_core.delivery import queue_store as dispatch
from rcs_core.mailings.feeder import Feeder
from rcs_core.mailings.servicer import MailingServicer
from rcs_core.messages import model
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.statuses import Status
from rcs_core.messages.validation import CHANNEL_SMS, RECEIPT_ALL
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.support import start_server

pytestmark = pytest.mark.integration

ACTOR = ss.Actor(login="ftp:acme")
KEPT, REMOVED, KEPT_THEN_REMOVED, CLEAN = "79163000001", "79163000002", "79163000003", "79163000004"
NUMBERS = [KEPT, REMOVED, KEPT_THEN_REMOVED, CLEAN]


@pytest.fixture
async def stubs(pool: Any, database_url: str) -> AsyncIterator[tuple[Any, Any]]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "acme", "pw", default_sender="ACME")
        await conn.commit()

    server = await start_server(
        lambda s: mailing_service_pb2_grpc.add_MailingServiceServicer_to_server(
            MailingServicer(pool, default_rate=50), s
        ),
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield (
        mailing_service_pb2_grpc.MailingServiceStub(channel),
        settings_service_pb2_grpc.SettingsServiceStub(channel),
    )
    await channel.close()
    await server.stop(0)


def stream(spec: ms.MailingSpec) -> Iterator[Any]:
    yield ms.CreateMailingRequest(spec=spec)
    yield ms.CreateMailingRequest(
        recipients=ms.MailingRecipients(
            recipients=[
                ms.MailingRecipient(line=i + 1, destination=d, text=f"text {i}")
                for i, d in enumerate(NUMBERS)
            ]
        )
    )


async def black_list(settings: Any, request_id: str, *entries: tuple[str, bool]) -> None:
    await settings.AddBlacklistEntries(
        ss.AddBlacklistEntriesRequest(
            request_id=request_id,
            actor=ACTOR,
            entries=[
                ss.BlacklistEntry(partner="acme", number=n, note="B file", keep_in_mailings=keep)
                for n, keep in entries
            ],
        )
    )


async def execute(dsn: str, sql: str) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute(sql)
        await conn.commit()


async def dispatch_filter(pool: Any) -> dict[tuple[int | None, str], str]:
    """What the dispatcher's filter does with everything queued: (mailing id, number) →
    why blocked or "send"; the blocked ones are finalised as the dispatcher does."""
    async with pool.connection() as conn, conn.transaction():
        claimed = await dispatch.claim(conn, 100)
        blocked = await dispatch.filtered(conn, claimed)
        await dispatch.record_final(
            conn,
            [
                (c, Status.REJECTED, blocked[c.message_id][0], blocked[c.message_id][1])
                for c in claimed
                if c.message_id in blocked
            ],
        )
    return {
        (c.mailing_id, c.destination): blocked.get(c.message_id, (0, "send"))[1] for c in claimed
    }


async def test_n_keeps_the_number_in_existing_mailings_and_y_blocks_their_unsent_messages(
    stubs: tuple[Any, Any], pool: Any, database_url: str
) -> None:
    mailings, settings = stubs
    # Running, all four fed and queued, none sent yet.
    running = await mailings.CreateMailing(
        stream(ms.MailingSpec(partner="acme", name="running", auto_start=True))
    )
    await execute(database_url, "UPDATE mailings SET credit_at = now() - interval '1 s'")
    assert await Feeder(pool, 7).tick() == 4
    # Scheduled for later: nothing fed before the black list changes.
    spec = ms.MailingSpec(partner="acme", name="scheduled", auto_start=True)
    spec.start_time.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    scheduled = await mailings.CreateMailing(stream(spec))
    assert scheduled.mailing.state == ms.MAILING_STATE_SCHEDULED

    await black_list(settings, "b-1", (KEPT, True), (REMOVED, False), (KEPT_THEN_REMOVED, True))
    # Listed again with Y: the removal applies (an N again would not undo it).
    await black_list(settings, "b-2", (KEPT_THEN_REMOVED, False), (REMOVED, True))
    listed = await settings.ListBlacklistEntries(ss.ListBlacklistEntriesRequest(partner="acme"))
    assert [(e.number, e.keep_in_mailings) for e in listed.entries] == [
        (KEPT, True),
        (REMOVED, False),
        (KEPT_THEN_REMOVED, False),
    ]

    # The scheduled mailing starts and feeds its four.
    await execute(database_url, "UPDATE mailings SET start_at = now() - interval '1 s'")
    await Feeder(pool, 7).tick()  # RUNNING from now
    await execute(database_url, "UPDATE mailings SET credit_at = now() - interval '1 s'")
    assert await Feeder(pool, 7).tick() == 4
    # A single message (not a mailing's) to the kept number: the black list applies to it.
    async with pool.connection() as conn, conn.transaction():
        single = model.NewMessage(
            client_ref=None,
            channel=CHANNEL_SMS,
            destination=KEPT,
            sender="ACME",
            body="single",
            priority=0,
            ttl=dt.timedelta(hours=1),
            receipt_request=RECEIPT_ALL,
            trace_parent="",
        )
        cur = await conn.execute("SELECT id FROM partners WHERE login = 'acme'")
        (pid,) = await cur.fetchone() or (0,)
        await messages.accept(conn, ids=IdAllocator(7), partner_id=pid, messages=[single])

    outcome = await dispatch_filter(pool)
    ids = {"running": int(running.mailing.id), "scheduled": int(scheduled.mailing.id)}
    for name in ("running", "scheduled"):
        mid = ids[name]
        assert {n: outcome[(mid, n)] for n in NUMBERS} == {
            KEPT: "send",
            REMOVED: "blacklisted",
            KEPT_THEN_REMOVED: "blacklisted",
            CLEAN: "send",
        }, name
        got = await mailings.GetMailing(ms.GetMailingRequest(mailing_id=str(mid)))
        assert (got.mailing.progress.accepted, got.mailing.progress.blocked) == (4, 2), name
    assert outcome[(None, KEPT)] == "blacklisted"

    # A mailing created after the entries does not load any listed number, whatever flag.
    later = await mailings.CreateMailing(stream(ms.MailingSpec(partner="acme", name="later")))
    assert [(r.destination, r.reason) for r in later.refused] == [
        (KEPT, "BLACKLISTED"),
        (REMOVED, "BLACKLISTED"),
        (KEPT_THEN_REMOVED, "BLACKLISTED"),
    ]
