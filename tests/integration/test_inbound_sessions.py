"""MO SMS sessions (http_mo.rst, "Сессии для SMS-сообщений") over core's gRPC and real
PostgreSQL: the session keyword opens a session (the open text goes to the subscriber),
whatever the subscriber then sends to the number goes to the session's partner and extends
it, the close keyword ends it (the close text, not passed on), maintenance ends it when it
expires (the expired text, once), and then keywords route again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.config import CoreSettings
from rcs_core.db import maintenance
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.core_services import CoreServices, CoreStubs
from tests.support import start_server

pytestmark = pytest.mark.integration
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")
SUBSCRIBER = "79161234567"
SMPP, REST_V6 = ms.REPORT_FORMAT_SMPP, ms.REPORT_FORMAT_REST_V6
OPEN, CLOSE, EXPIRED = "Вы в викторине", "Викторина закрыта", "Время викторины истекло"
QUIZ = ss.InboundRoute(
    name="quiz",
    number="4444",
    keyword="quiz",
    partner="quiz",
    format=REST_V6,
    session_keyword="play|игра",
    session_close_keyword="stop|стоп",
    session_seconds=600,
    session_open_text=OPEN,
    session_close_text=CLOSE,
    session_expired_text=EXPIRED,
)


@dataclass
class Rig:
    core: Any
    settings: Any
    pool: Any
    dsn: str

    async def send(self, *texts: str, source: str = SUBSCRIBER, dest: str = "4444") -> list[Any]:
        """The texts as one RecordInbound call; the results, in order."""
        parts = [part(t, source, dest) for t in texts]
        return list(
            (await self.core.delivery.RecordInbound(ms.RecordInboundRequest(parts=parts))).results
        )

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with await psycopg.AsyncConnection.connect(self.dsn) as conn:
            cur = await conn.execute(sql, args)
            return await cur.fetchall()

    async def told(self) -> list[tuple[Any, ...]]:
        """What the platform sent the subscriber: (client_ref, partner, sender, to, text)."""
        return await self.rows(
            "SELECT m.client_ref, p.login, m.sender, m.destination, m.body FROM messages m"
            " JOIN partners p ON p.id = m.partner_id JOIN dispatch_queue q ON q.message_id = m.id"
            " ORDER BY m.id"
        )

    async def forwarded(self) -> list[tuple[Any, ...]]:
        """The MO owed to partners: (partner, text)."""
        return await self.rows(
            "SELECT p.login, o.body->>'text' FROM report_outbox o"
            " JOIN partners p ON p.id = o.partner_id WHERE o.kind = 2 ORDER BY o.id"
        )

    async def sessions(self) -> list[tuple[Any, ...]]:
        """(number, subscriber, route, seconds left rounded up to tens, last message id)."""
        return await self.rows(
            "SELECT number, subscriber, route,"
            " ceil(extract(epoch FROM expires_at - now()) / 10) * 10, last_message_id"
            " FROM inbound_sessions ORDER BY number, subscriber"
        )

    async def expire(self) -> None:
        await self.rows(
            "UPDATE inbound_sessions SET expires_at = now() - interval '1 second' RETURNING 1"
        )


def part(text: str, source: str, dest: str) -> ms.InboundPart:
    return ms.InboundPart(
        interface_id="smsc-a",
        source=source,
        destination=dest,
        data_coding=8,
        payload=text.encode("utf-16-be"),
    )


@pytest.fixture
async def rig(pool: Any, database_url: str) -> AsyncIterator[Rig]:
    servicer = CoreServices(pool, installation_id=7)
    server = await start_server(
        servicer.register,
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    settings = settings_service_pb2_grpc.SettingsServiceStub(channel)
    for login, url in (("shop", ""), ("bank", "https://bank.test/mo"), ("quiz", "https://q.test")):
        await settings.CreatePartner(
            ss.CreatePartnerRequest(
                actor=ADMIN, partner=ss.Partner(login=login, inbound_url=url), password="pw"
            )
        )
    for route in (
        ss.InboundRoute(name="shop-all", number="4444", partner="shop", format=SMPP),
        ss.InboundRoute(
            name="bank", number="4444", keyword="balance", partner="bank", format=REST_V6
        ),
        ss.InboundRoute(name="shop-5555", number="5555", partner="shop", format=SMPP),
        QUIZ,
    ):
        await settings.PutInboundRoute(ss.PutInboundRouteRequest(actor=ADMIN, route=route))
    yield Rig(CoreStubs(channel), settings, pool, database_url)
    await channel.close()
    await server.stop(0)
    await servicer.close()


async def test_the_session_keyword_opens_a_session_and_the_subscriber_is_told(rig: Rig) -> None:
    (opened,) = await rig.send("  ИГРА, please")
    assert opened.partner == "quiz"
    assert await rig.forwarded() == [("quiz", "  ИГРА, please")]
    # The open text: an accepted MT of the session's partner, from the number written to.
    assert await rig.told() == [
        (f"mo-{opened.message_id}-session-open1", "quiz", "4444", SUBSCRIBER, OPEN)
    ]
    assert await rig.sessions() == [("4444", SUBSCRIBER, "quiz", 600, int(opened.message_id))]


async def test_in_a_session_every_message_goes_to_its_partner_and_extends_it(rig: Rig) -> None:
    await rig.send("play")
    await rig.rows("UPDATE inbound_sessions SET expires_at = now() + interval '5 s' RETURNING 1")
    # "balance" is the bank's keyword and "hello" the shop's catch-all: the session wins.
    balance, hello, again = await rig.send("balance", "hello", "play")
    assert [r.partner for r in (balance, hello, again)] == ["quiz"] * 3
    assert await rig.forwarded() == [
        ("quiz", "play"),
        ("quiz", "balance"),
        ("quiz", "hello"),
        ("quiz", "play"),  # the open keyword inside the session opens nothing new
    ]
    assert len(await rig.told()) == 1  # the open text, once
    assert await rig.sessions() == [("4444", SUBSCRIBER, "quiz", 600, int(again.message_id))]
    # Another subscriber, and the same subscriber on another number, are not in it.
    (other,) = await rig.send("hello", source="79169999999")
    (elsewhere,) = await rig.send("hello", dest="5555")
    assert (other.partner, elsewhere.partner) == ("shop", "shop")


async def test_the_close_keyword_ends_the_session_and_is_not_passed_on(rig: Rig) -> None:
    (opened,) = await rig.send("play")
    closed, after = await rig.send("Stop it", "hello")
    assert closed.partner == "quiz"  # recorded as the session's, but answered by the platform
    assert closed.message_id
    assert after.partner == "shop"  # no session any more: keywords route again
    assert await rig.forwarded() == [("quiz", "play"), ("shop", "hello")]
    assert await rig.told() == [
        (f"mo-{opened.message_id}-session-open1", "quiz", "4444", SUBSCRIBER, OPEN),
        (f"mo-{closed.message_id}-session-close1", "quiz", "4444", SUBSCRIBER, CLOSE),
    ]
    assert await rig.sessions() == []
    stored = await rig.rows("SELECT route FROM inbound_messages WHERE id = %s", closed.message_id)
    assert stored == [("quiz",)]
    # Outside a session the close keyword is an ordinary text.
    (lone,) = await rig.send("stop")
    assert lone.partner == "shop"


async def test_an_expired_session_routes_by_keyword_and_is_told_once(rig: Rig) -> None:
    """Expired before maintenance came by: the subscriber's next message ends it (the
    expired text first), and maintenance then has nothing left to tell."""
    (opened,) = await rig.send("play")
    (inside,) = await rig.send("1")
    await rig.expire()
    late, balance = await rig.send("hello", "balance")
    assert (late.partner, balance.partner) == ("shop", "bank")
    settings = CoreSettings(database_url=rig.dsn)
    await maintenance.run_once(rig.pool, settings)
    assert await rig.sessions() == []
    assert await rig.told() == [
        (f"mo-{opened.message_id}-session-open1", "quiz", "4444", SUBSCRIBER, OPEN),
        # The expired text answers the last message of the session.
        (f"mo-{inside.message_id}-session-expired1", "quiz", "4444", SUBSCRIBER, EXPIRED),
    ]
    (again,) = await rig.send("hello")
    assert again.partner == "shop"


async def test_maintenance_ends_an_expired_session_and_tells_once(rig: Rig) -> None:
    (opened,) = await rig.send("play")
    await rig.expire()
    settings = CoreSettings(database_url=rig.dsn)
    await maintenance.run_once(rig.pool, settings)
    await maintenance.run_once(rig.pool, settings)  # again: nothing more to tell
    assert await rig.sessions() == []
    assert [t[0] for t in await rig.told()] == [
        f"mo-{opened.message_id}-session-open1",
        f"mo-{opened.message_id}-session-expired1",
    ]


async def test_a_new_session_over_an_expired_one_tells_the_old_one_ended(rig: Rig) -> None:
    (opened,) = await rig.send("play")
    await rig.expire()
    (reopened,) = await rig.send("игра")  # before maintenance came by
    assert reopened.partner == "quiz"
    await maintenance.run_once(rig.pool, CoreSettings(database_url=rig.dsn))
    assert [(t[0], t[4]) for t in await rig.told()] == [
        (f"mo-{opened.message_id}-session-open1", OPEN),
        (f"mo-{opened.message_id}-session-expired1", EXPIRED),
        (f"mo-{reopened.message_id}-session-open1", OPEN),
    ]
    assert [(s[2], s[4]) for s in await rig.sessions()] == [("quiz", int(reopened.message_id))]


async def test_maintenance_leaves_live_sessions_alone(rig: Rig) -> None:
    await rig.send("play")
    await maintenance.run_once(rig.pool, CoreSettings(database_url=rig.dsn))
    assert [s[2] for s in await rig.sessions()] == ["quiz"]
    assert len(await rig.told()) == 1


async def test_a_session_whose_route_lost_its_sessions_is_ignored(rig: Rig) -> None:
    await rig.send("play")
    plain = ss.InboundRoute(
        name="quiz", number="4444", keyword="quiz", partner="quiz", format=REST_V6
    )
    await rig.settings.PutInboundRoute(ss.PutInboundRouteRequest(actor=ADMIN, route=plain))
    hello, quiz = await rig.send("hello", "quiz")
    assert (hello.partner, quiz.partner) == ("shop", "quiz")  # by keyword again
    await rig.expire()
    await maintenance.run_once(rig.pool, CoreSettings(database_url=rig.dsn))
    assert await rig.sessions() == []
    assert [t[4] for t in await rig.told()] == [OPEN]  # no expired text for it


async def test_a_session_whose_route_was_deleted_is_ignored(rig: Rig) -> None:
    await rig.send("play")
    await rig.settings.DeleteInboundRoute(ss.DeleteInboundRouteRequest(actor=ADMIN, name="quiz"))
    (hello,) = await rig.send("hello")
    assert hello.partner == "shop"
    await rig.expire()
    await maintenance.run_once(rig.pool, CoreSettings(database_url=rig.dsn))
    assert await rig.sessions() == []
    assert [t[4] for t in await rig.told()] == [OPEN]


async def test_one_batch_sees_its_own_session_changes_in_order(rig: Rig) -> None:
    results = await rig.send("hello", "play", "hello", "стоп", "hello")
    assert [r.partner for r in results] == ["shop", "quiz", "quiz", "quiz", "shop"]
    assert [t[0] for t in await rig.told()] == [
        f"mo-{results[1].message_id}-session-open1",
        f"mo-{results[3].message_id}-session-close1",
    ]
    assert await rig.sessions() == []


async def test_a_subscribers_messages_recorded_at_once_take_turns(rig: Rig) -> None:
    """Openings at once: one opens the session, the others are messages in it; the
    subscriber is told once."""
    results = await asyncio.gather(*(rig.send("play") for _ in range(4)))
    assert [r.partner for (r,) in results] == ["quiz"] * 4
    assert [t[4] for t in await rig.told()] == [OPEN]
    assert [s[2] for s in await rig.sessions()] == ["quiz"]
    assert len(await rig.forwarded()) == 4


async def test_a_repeated_request_opens_and_tells_once(rig: Rig) -> None:
    request = ms.RecordInboundRequest(request_id="mo-1", parts=[part("play", SUBSCRIBER, "4444")])
    first = await rig.core.delivery.RecordInbound(request)
    assert await rig.core.delivery.RecordInbound(request) == first
    assert len(await rig.told()) == 1
    assert len(await rig.forwarded()) == 1
