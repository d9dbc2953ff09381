"""Traffic verification (F13): black lists, inactive numbers, duplicate blocking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import psycopg
import pytest

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.config import CoreSettings
from rcs_core.db import maintenance
from rcs_core.messages.servicer import MessageServicer
from rcs_core.messages.statuses import Status
from rcs_runtime.grpc_client import open_channel
from tests.integration.test_dispatch_and_receipts import Rig, rig  # noqa: F401 (fixture)
from tests.support import start_server

pytestmark = pytest.mark.integration


async def test_global_and_partner_blacklists_reject_with_code_10(rig: Rig) -> None:  # noqa: F811
    other = await rig.scalar(
        "INSERT INTO partners (login, password_hash) VALUES ('other', 'x') RETURNING id"
    )
    await rig.scalar(
        "INSERT INTO blacklist (partner_id, number) VALUES (NULL, '79160000001'),"
        " (%s, '79160000002') RETURNING id",
        other,
    )
    everyone, not_ours, fine = await rig.accept("79160000001", "79160000002", "79160000003")
    await rig.dispatcher.dispatch_once()
    assert await rig.status(everyone) == (Status.REJECTED, 10)
    assert await rig.status(not_ours) == (Status.SENT, 0)  # listed for another partner only
    assert await rig.status(fine) == (Status.SENT, 0)
    assert [m.destination for m in rig.connector.received] == ["79160000002", "79160000003"]


async def test_repeated_unknown_subscriber_marks_number_inactive_until_expiry(
    rig: Rig,  # noqa: F811
    pool: Any,
) -> None:
    for _ in range(3):
        (mid,) = await rig.accept("79160000009")
        await rig.dispatcher.dispatch_once()
        await rig.receipt(format(mid, "x"), Status.UNDELIVERED, 8)
    assert await rig.scalar("SELECT failures FROM inactive_numbers") == 3
    (filtered,) = await rig.accept("79160000009")
    await rig.dispatcher.dispatch_once()
    assert await rig.status(filtered) == (Status.REJECTED, 8)
    # The mark expires: numbers come back, and housekeeping forgets the mark.
    await rig.scalar("UPDATE inactive_numbers SET expires_at = now() RETURNING 1")
    (again,) = await rig.accept("79160000009")
    await rig.dispatcher.dispatch_once()
    assert await rig.status(again) == (Status.SENT, 0)
    await maintenance.run_once(pool, CoreSettings(database_url=rig.dsn))
    assert await rig.scalar("SELECT count(*) FROM inactive_numbers") == 0


async def test_absent_subscriber_below_threshold_does_not_mark(rig: Rig) -> None:  # noqa: F811
    for _ in range(2):
        (mid,) = await rig.accept("79160000008")
        await rig.dispatcher.dispatch_once()
        await rig.receipt(format(mid, "x"), Status.UNDELIVERED, 2)
    assert await rig.scalar("SELECT count(*) FROM inactive_numbers") == 0


def sms(text: str, ref: str = "") -> ms.MessageSubmission:
    return ms.MessageSubmission(
        client_ref=ref,
        destination="79161234567",
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text=text, sender="RCS"),
    )


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[Any]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "strict", "pw", senders=["RCS"])
        await partners.upsert(conn, "lax", "pw", senders=["RCS"])
        await conn.execute("UPDATE partners SET block_duplicates = true WHERE login = 'strict'")
        await conn.commit()
    servicer = MessageServicer(pool, installation_id=7)
    server = await start_server(
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(servicer, s)
    )
    channel: grpc.aio.Channel = open_channel(f"127.0.0.1:{server.port}")
    yield message_service_pb2_grpc.MessageServiceStub(channel)
    await channel.close()
    await server.stop(0)
    await servicer.close()


async def test_duplicate_number_and_text_is_refused_when_blocking_is_on(core: Any) -> None:
    first = await core.SubmitMessages(
        ms.SubmitMessagesRequest(partner="strict", messages=[sms("code 1234", ref="a")])
    )
    assert first.results[0].message_id
    again = await core.SubmitMessages(
        ms.SubmitMessagesRequest(
            partner="strict",
            messages=[
                sms("code 1234", ref="b"),  # same number and text: refused
                sms("code 1234", ref="a"),  # a retry of the first: its id, not an error
                sms("code 5678"),
                sms("code 5678"),  # repeated inside the batch: refused
            ],
        )
    )
    reasons = [r.error.reason for r in again.results]
    assert reasons == ["DUPLICATE_MESSAGE", "", "", "DUPLICATE_MESSAGE"]
    assert again.results[1].message_id == first.results[0].message_id
    # The refused message did not keep its ref: a corrected retry may use it.
    fixed = await core.SubmitMessages(
        ms.SubmitMessagesRequest(partner="strict", messages=[sms("code 9999", ref="b")])
    )
    assert fixed.results[0].message_id
    assert not fixed.results[0].duplicate


async def test_duplicates_pass_when_blocking_is_off(core: Any) -> None:
    resp = await core.SubmitMessages(
        ms.SubmitMessagesRequest(partner="lax", messages=[sms("same"), sms("same")])
    )
    assert all(r.message_id for r in resp.results)


async def test_mailing_whitelist_lets_only_listed_numbers_through(rig: Rig) -> None:  # noqa: F811
    await rig.scalar(
        "INSERT INTO partners (login, password_hash) VALUES ('other', 'x') RETURNING id"
    )
    await rig.scalar(
        "INSERT INTO whitelist (partner, mailing, number) VALUES"
        " ('acme', 'promo-nov', '79160000001'), ('other', 'promo-dec', '79160000009')"
        " RETURNING 1"
    )
    listed, unlisted, no_list, others_list, plain = await rig.accept(
        "79160000001", "79160000002", "79160000003", "79160000004", "79160000005"
    )
    for mid, mailing in (
        (listed, "promo-nov"),
        (unlisted, "promo-nov"),
        (no_list, "no-such-list"),  # a mailing without a white list is not restricted
        (others_list, "promo-dec"),  # another partner's list of that name does not apply
    ):
        await rig.scalar("UPDATE messages SET mailing = %s WHERE id = %s RETURNING 1", mailing, mid)
    await rig.dispatcher.dispatch_once()
    assert await rig.status(unlisted) == (Status.REJECTED, 10)
    assert (
        await rig.scalar(
            "SELECT detail FROM status_events WHERE message_id = %s AND status = %s",
            unlisted,
            int(Status.REJECTED),
        )
        == "not_on_mailing_whitelist"
    )
    for sent in (listed, no_list, others_list, plain):
        assert await rig.status(sent) == (Status.SENT, 0)


async def test_traffic_type_and_mailing_are_accepted_stored_and_returned(core: Any) -> None:
    async def submit(msg: ms.MessageSubmission) -> Any:
        (result,) = (
            await core.SubmitMessages(ms.SubmitMessagesRequest(partner="lax", messages=[msg]))
        ).results
        return result

    async def stored(message_id: str) -> Any:
        return (await core.GetMessage(ms.GetMessageRequest(message_id=message_id))).message

    ads = sms("sale!")
    ads.traffic_type = 0
    ads.mailing = "promo-nov"
    got = await stored((await submit(ads)).message_id)
    assert got.HasField("traffic_type")
    assert (got.traffic_type, got.mailing) == (0, "promo-nov")
    got = await stored((await submit(sms("hello"))).message_id)
    assert not got.HasField("traffic_type")
    bad = sms("x")
    bad.traffic_type = 3
    refused = await submit(bad)
    assert (refused.error.reason, refused.error.field) == ("INVALID_REQUEST", "traffic_type")
