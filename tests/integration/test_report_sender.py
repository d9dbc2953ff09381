"""The HTTP report sender against a real aiohttp receiver on 127.0.0.1 and real PostgreSQL:
each format's documented request, retries after an error or a timeout, nothing lost across
a sender restart or a dead sender's lease, and the partner URLs set over the settings API."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from aiohttp import web
from google.protobuf import field_mask_pb2
from prometheus_client import REGISTRY

from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.delivery.finalize import finalize
from rcs_core.inbound.reply import InboundReplier
from rcs_core.messages.statuses import Status
from rcs_core.reports.desk import ReportDesk
from rcs_core.reports.formats import HTTP_FORMATS
from rcs_core.reports.sender import ReportSender, SenderSettings
from rcs_core.reports.store import LeasedReport
from rcs_core.settings.servicer import SettingsServicer
from rcs_runtime.grpc_client import open_channel
from tests.core_services import CoreServices, CoreStubs
from tests.support import start_server

pytestmark = pytest.mark.integration
MOSCOW = ZoneInfo("Europe/Moscow")
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")
TIMEOUT = 0.5


@dataclass
class Receiver:
    """A partner's HTTP endpoint: records every request; answers with the next planned
    status (None: hang until the test ends), then 200."""

    url: str = ""
    got: list[web.Request] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    plan: list[int | None] = field(default_factory=list)
    unblock: asyncio.Event = field(default_factory=asyncio.Event)
    replies: dict[str, str] = field(default_factory=dict)  # path → a 200 answer's text

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.got.append(request)
        answer = self.plan.pop(0) if self.plan else 200
        if answer is None:
            await self.unblock.wait()
            answer = 200
        return web.Response(status=answer, text=self.replies.get(request.path, ""))

    def requests(self, path: str) -> list[tuple[web.Request, bytes]]:
        return [(r, b) for r, b in zip(self.got, self.bodies, strict=True) if r.path == path]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rx = Receiver()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rx.handle)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    rx.url = f"http://127.0.0.1:{port}"
    yield rx
    rx.unblock.set()
    await runner.cleanup()


@dataclass
class Core:
    messages: Any
    settings: Any
    pool: Any
    dsn: str
    delivery: Any


@pytest.fixture
async def core(pool: Any, database_url: str) -> AsyncIterator[Core]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await partners.upsert(conn, "acme", "pw", senders=["RCS"])
        await conn.commit()
    servicer = CoreServices(pool, installation_id=7)

    def add(server: Any) -> None:
        servicer.register(server)
        settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), server
        )

    server = await start_server(add)
    channel = open_channel(f"127.0.0.1:{server.port}")
    stubs = CoreStubs(channel)
    yield Core(
        stubs.messages,
        settings_service_pb2_grpc.SettingsServiceStub(channel),
        pool,
        database_url,
        stubs.delivery,
    )
    await channel.close()
    await server.stop(0)
    await servicer.close()


@pytest.fixture
async def start_sender(core: Core) -> AsyncIterator[Callable[..., asyncio.Task[None]]]:
    """Starts senders (fast retries, a 0.5 s timeout unless given); all stop at the end."""
    desk = ReportDesk(core.pool, retry_base_seconds=0.05, retry_max_seconds=0.1)
    tasks: list[asyncio.Task[None]] = []
    settings = SenderSettings(
        concurrency=4,
        timeout_seconds=TIMEOUT,
        wait_seconds=0.5,
        lease_margin_seconds=0.5,
        time_zone=MOSCOW,
    )

    def start(**changes: Any) -> asyncio.Task[None]:
        sender = ReportSender(desk, core.pool, replace(settings, **changes))
        tasks.append(asyncio.create_task(sender.run()))
        return tasks[-1]

    yield start
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await desk.close()


def sms(**kw: Any) -> ms.MessageSubmission:
    return ms.MessageSubmission(
        destination="79161234567",
        channel=channel_pb2.CHANNEL_SMS,
        sms=message_pb2.SmsContent(text=kw.pop("text", "hello"), sender="RCS"),
        **kw,
    )


async def submit(core: Core, *subs: ms.MessageSubmission) -> list[int]:
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(partner="acme", messages=subs)
    )
    assert all(not r.HasField("error") for r in resp.results), resp
    return [int(r.message_id) for r in resp.results]


async def finish(core: Core, *items: tuple[int, Status, int]) -> None:
    async with await psycopg.AsyncConnection.connect(core.dsn) as conn, conn.transaction():
        await conn.execute(
            "UPDATE messages SET status = 2 WHERE id = ANY(%s)", ([i for i, _, _ in items],)
        )
        await finalize(conn, [(i, s, e, "test") for i, s, e in items])


async def rows(core: Core, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with await psycopg.AsyncConnection.connect(core.dsn) as conn:
        cur = await conn.execute(sql, args)
        return await cur.fetchall()


async def until(check: Callable[[], Awaitable[bool] | bool], seconds: float = 8) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def outbox_empty(core: Core) -> bool:
    return not await rows(core, "SELECT 1 FROM report_outbox")


def sent(fmt: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "rcs_report_requests_total", {"format": fmt, "outcome": outcome}
    )
    return value or 0.0


async def v5_mo_route(
    core: Core, receiver: Receiver, unavailable_text: str = "", timeout_seconds: int = 0
) -> None:
    """acme takes every MO to 4444 as HTTP v5 GETs at the receiver's /mo."""
    async with await psycopg.AsyncConnection.connect(core.dsn) as conn:
        await conn.execute(
            "UPDATE partners SET inbound_url = %s WHERE login = 'acme'", (f"{receiver.url}/mo",)
        )
        await conn.execute(
            "INSERT INTO inbound_routes (name, number, keyword, partner, format,"
            " unavailable_text, timeout_seconds) VALUES ('acme-mo', '4444', '', 'acme', 2, %s, %s)",
            (unavailable_text, timeout_seconds),
        )
        await conn.commit()


async def mo(core: Core, text: bytes, data_coding: int = 0) -> str:
    """A subscriber's message to 4444, as the connector hands it to core; its id."""
    recorded = await core.delivery.RecordInbound(
        ms.RecordInboundRequest(
            parts=[
                ms.InboundPart(
                    interface_id="smsc-a",
                    source="79161234567",
                    destination="4444",
                    data_coding=data_coding,
                    payload=text,
                )
            ]
        )
    )
    return str(recorded.results[0].message_id)


def moscow(moment: dt.datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M:%S%z")


async def test_each_format_reaches_the_partner_as_documented(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    v5, v6, batch = await submit(
        core,
        sms(
            report_format=ms.REPORT_FORMAT_HTTP_V5,
            report_url=f"{receiver.url}/v5?token=a%2Fb",
            ptag="tag-1",
            client_ref="order-1",
        ),
        sms(
            report_format=ms.REPORT_FORMAT_REST_V6,
            report_url=f"{receiver.url}/v6",
            client_ref="8770599",
            traffic_type=1,
            text="Привет",
        ),
        sms(
            report_format=ms.REPORT_FORMAT_BATCH_V3,
            report_url=f"{receiver.url}/batch",
            client_ref="super_id_1",
        ),
    )
    await finish(core, (v5, Status.UNDELIVERED, 8), (v6, Status.DELIVERED, 0))
    await finish(core, (batch, Status.REJECTED, 11))
    times = {
        i: (created, done)
        for i, created, done in await rows(core, "SELECT id, created_at, status_at FROM messages")
    }
    start_sender()
    await until(lambda: len(receiver.got) == 3)
    await until(lambda: outbox_empty(core))

    ((get, body),) = receiver.requests("/v5")
    assert (get.method, body) == ("GET", b"")
    assert get.path_qs == (
        f"/v5?token=a%2Fb&msgType=SMS&transactionId={v5}&ptag=tag-1&status=5"
        "&partnerMsgId=order-1&unifiedExtStatus=8"
    )
    assert get.headers["User-Agent"] == "RCS-reports/1"

    ((post, body),) = receiver.requests("/v6")
    assert post.method == "POST"
    assert post.headers["Content-Type"] == "application/json; charset=utf-8"
    assert post.headers["User-Agent"] == "RCS-reports/1"
    assert json.loads(body) == {
        "id": "8770599",
        "mtNum": str(v6),
        "status": 2,
        "type": "SMS",
        "doneDate": moscow(times[v6][1]),
        "submitDate": moscow(times[v6][0]),
        "sourceAddr": "RCS",
        "destAddr": "79161234567",
        "text": "Привет",
        "partCount": "001",
        "errorCode": "0",
        "trafficType": 1,
    }

    ((post, body),) = receiver.requests("/batch")
    assert post.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == {
        "messageId": str(batch),
        "ts": int(times[batch][1].timestamp() * 1000),
        "status": "REJECTED",
        "errorCode": 0,
        "id": "super_id_1",
    }


async def test_an_error_answer_is_retried_until_the_partner_takes_it(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    errors, delivered = sent("rest_v6", "http_error"), sent("rest_v6", "delivered")
    receiver.plan = [500, 400]
    (mid,) = await submit(
        core, sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=f"{receiver.url}/dlr")
    )
    await finish(core, (mid, Status.DELIVERED, 0))
    start_sender()
    await until(lambda: len(receiver.got) == 3)
    await until(lambda: outbox_empty(core))
    assert len(set(receiver.bodies)) == 1  # the same report each time
    assert sent("rest_v6", "http_error") - errors == 2
    assert sent("rest_v6", "delivered") - delivered == 1


async def test_a_partner_that_does_not_answer_times_out_and_gets_it_again(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    timeouts = sent("http_v5", "timeout")
    receiver.plan = [None, None]
    (mid,) = await submit(
        core, sms(report_format=ms.REPORT_FORMAT_HTTP_V5, report_url=f"{receiver.url}/dlr")
    )
    await finish(core, (mid, Status.DELIVERED, 0))
    start_sender()
    await until(lambda: len(receiver.got) == 2)
    # Leased again after the first attempt failed (the second hangs as well).
    assert await rows(core, "SELECT attempts, last_error FROM report_outbox") == [
        (2, "timeout after 0.5 s")
    ]
    await until(lambda: len(receiver.got) == 3)
    await until(lambda: outbox_empty(core))
    assert sent("http_v5", "timeout") - timeouts == 2
    assert len({r.path_qs for r in receiver.got}) == 1


async def test_a_slow_partner_holds_no_more_than_its_share_of_the_slots(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    """acme's server hangs with six reports due first; the other partner's two still go,
    on the slots acme may not take (2 of 4)."""
    stuck, slow_got = asyncio.Event(), []

    async def hang(request: web.Request) -> web.Response:
        slow_got.append(request)
        await stuck.wait()
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    slow_url = f"http://127.0.0.1:{runner.addresses[0][1]}/dlr"
    async with await psycopg.AsyncConnection.connect(core.dsn) as conn:
        await partners.upsert(conn, "other", "pw", senders=["RCS"])
        await conn.commit()
    try:
        slow = await submit(
            core,
            *(sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=slow_url) for _ in range(6)),
        )
        await finish(core, *((i, Status.DELIVERED, 0) for i in slow))
        other = await core.messages.SubmitMessages(
            ms.SubmitMessagesRequest(
                partner="other",
                messages=[
                    sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=f"{receiver.url}/dlr")
                    for _ in range(2)
                ],
            )
        )
        await finish(core, *((int(r.message_id), Status.DELIVERED, 0) for r in other.results))
        start_sender(timeout_seconds=30, per_partner=2)
        await until(lambda: len(receiver.got) == 2)
        assert len(slow_got) == 2
        stuck.set()
        await until(lambda: outbox_empty(core))
        assert len(slow_got) == 6
    finally:
        stuck.set()
        await runner.cleanup()


async def test_a_freed_slot_is_used_again_at_once(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    """One slot for the partner and a long lease wait: each report goes the moment the one
    before is answered. A sender that looked again only every 0.5 s while the partner was
    full (as it did) needed 30 s for these 60."""
    ids = await submit(
        core,
        *(
            sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=f"{receiver.url}/dlr")
            for _ in range(60)
        ),
    )
    await finish(core, *((i, Status.DELIVERED, 0) for i in ids))
    start_sender(per_partner=1, wait_seconds=30)
    await until(lambda: len(receiver.got) == 60, seconds=15)
    await until(lambda: outbox_empty(core))
    assert sorted(int(json.loads(b)["mtNum"]) for b in receiver.bodies) == sorted(ids)


async def test_a_hanging_partner_does_not_hold_up_another_partners_callbacks(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    """acme's server never answers and its reports are due first; the other partner's 120
    still arrive one after another on the slots acme may not take, while acme's hang."""
    stuck, slow_got = asyncio.Event(), []

    async def hang(request: web.Request) -> web.Response:
        slow_got.append(request)
        await stuck.wait()
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    slow_url = f"http://127.0.0.1:{runner.addresses[0][1]}/dlr"
    async with await psycopg.AsyncConnection.connect(core.dsn) as conn:
        await partners.upsert(conn, "other", "pw", senders=["RCS"])
        await conn.commit()
    try:
        slow = await submit(
            core,
            *(sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=slow_url) for _ in range(6)),
        )
        await finish(core, *((i, Status.DELIVERED, 0) for i in slow))
        other = await core.messages.SubmitMessages(
            ms.SubmitMessagesRequest(
                partner="other",
                messages=[
                    sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=f"{receiver.url}/dlr")
                    for _ in range(120)
                ],
            )
        )
        await finish(core, *((int(r.message_id), Status.DELIVERED, 0) for r in other.results))
        start_sender(timeout_seconds=60, concurrency=8, per_partner=2, wait_seconds=30)
        await until(lambda: len(receiver.got) == 120, seconds=15)
        assert len(slow_got) == 2  # acme's share, still hanging
        assert await rows(core, "SELECT count(*) FROM report_outbox") == [(6,)]
    finally:
        stuck.set()
        await runner.cleanup()


async def test_a_stopped_sender_hands_its_reports_to_the_next(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    receiver.plan = [None] * 3  # the first sender's requests never get an answer
    ids = await submit(
        core,
        *(
            sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=f"{receiver.url}/dlr")
            for _ in range(3)
        ),
    )
    await finish(core, *((i, Status.DELIVERED, 0) for i in ids))
    first = start_sender(timeout_seconds=30)
    await until(lambda: len(receiver.got) == 3)
    first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await first
    # Released, not failed: due at once, the attempt not counted.
    assert await rows(
        core, "SELECT count(*) FROM report_outbox WHERE next_attempt_at <= now() AND attempts = 0"
    ) == [(3,)]
    start_sender()
    await until(lambda: len(receiver.got) == 6)
    await until(lambda: outbox_empty(core))
    mt_nums = sorted(int(json.loads(b)["mtNum"]) for b in receiver.bodies[3:])
    assert mt_nums == sorted(ids)


async def test_settlements_wait_while_the_outbox_is_away_and_go_once_it_is_back(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    """The partner took the reports while core's database refused the settlements (the
    outbox table renamed away: a real psycopg error): the outcomes are kept and settled
    once the table is back, and no report is sent twice (their leases are long)."""
    receiver.plan = [None] * 3  # answered only when the test says so
    ids = await submit(
        core,
        *(
            sms(report_format=ms.REPORT_FORMAT_REST_V6, report_url=f"{receiver.url}/dlr")
            for _ in range(3)
        ),
    )
    await finish(core, *((i, Status.DELIVERED, 0) for i in ids))
    start_sender(timeout_seconds=30)
    await until(lambda: len(receiver.got) == 3)
    async with await psycopg.AsyncConnection.connect(core.dsn, autocommit=True) as conn:
        await conn.execute("SET lock_timeout = '5s'")
        await conn.execute("ALTER TABLE report_outbox RENAME TO report_outbox_away")
        receiver.unblock.set()  # delivered: the sender's settlements now fail
        await asyncio.sleep(1.5)  # a failed settlement and its retry
        cur = await conn.execute("SELECT count(*) FROM report_outbox_away")
        assert await cur.fetchone() == (3,)  # nothing settled, nothing lost
        await conn.execute("ALTER TABLE report_outbox_away RENAME TO report_outbox")
    await until(lambda: outbox_empty(core))
    assert len(receiver.got) == 3


async def test_a_dead_senders_reports_come_back_when_the_lease_ends(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    (mid,) = await submit(
        core, sms(report_format=ms.REPORT_FORMAT_BATCH_V3, report_url=f"{receiver.url}/cb")
    )
    await finish(core, (mid, Status.DELIVERED, 0))
    dead = ReportDesk(core.pool)  # leases it like a sender would, then never settles
    (taken,) = await dead.lease(
        formats=HTTP_FORMATS,
        partner_id=None,
        limit=10,
        lease_for=dt.timedelta(seconds=1),
        wait=dt.timedelta(0),
    )
    await dead.close()
    start_sender()
    await asyncio.sleep(0.5)
    assert receiver.got == []  # still leased
    await until(lambda: len(receiver.got) == 1)
    await until(lambda: outbox_empty(core))
    assert json.loads(receiver.bodies[0])["messageId"] == str(mid) == str(taken.message_id)


async def test_partner_urls_set_over_the_settings_api_receive_reports_and_mo(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    created = await core.settings.CreatePartner(
        ss.CreatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(login="shop", report_url=f"{receiver.url}/old", senders=["RCS"]),
            password="s3cret-pass",
        )
    )
    assert created.partner.report_url == f"{receiver.url}/old"
    updated = await core.settings.UpdatePartner(
        ss.UpdatePartnerRequest(
            actor=ADMIN,
            partner=ss.Partner(
                login="shop", report_url=f"{receiver.url}/dlr", inbound_url=f"{receiver.url}/mo"
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["report_url", "inbound_url"]),
        )
    )
    assert (updated.partner.report_url, updated.partner.inbound_url) == (
        f"{receiver.url}/dlr",
        f"{receiver.url}/mo",
    )
    resp = await core.messages.SubmitMessages(
        ms.SubmitMessagesRequest(
            partner="shop", messages=[sms(report_format=ms.REPORT_FORMAT_HTTP_V5)]
        )
    )
    mid = int(resp.results[0].message_id)
    await finish(core, (mid, Status.DELIVERED, 0))
    async with await psycopg.AsyncConnection.connect(core.dsn) as conn:
        await conn.execute(
            "INSERT INTO inbound_routes (name, number, keyword, partner, format)"
            " VALUES ('shop-mo', '4444', '', 'shop', 2)"
        )
        await conn.commit()
    mo_id = await mo(core, "баланс".encode("utf-16-be"), data_coding=8)
    start_sender()
    await until(lambda: len(receiver.got) == 2)
    await until(lambda: outbox_empty(core))
    ((dlr, _),) = receiver.requests("/dlr")
    assert dlr.query["transactionId"] == str(mid)
    assert dlr.query["status"] == "2"
    ((got, _),) = receiver.requests("/mo")
    assert got.query["message"] == "баланс"
    assert (got.query["serviceId"], got.query["messageId"]) == ("shop", mo_id)
    assert (got.query["clientId"], got.query["shortNumber"]) == ("79161234567", "4444")
    assert receiver.requests("/old") == []


async def test_a_partners_answer_to_an_http_v5_mo_is_sent_back_once(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    """http_mo.rst: a 200 body is the reply, one message per CR LF line, CR a line break."""
    receiver.replies["/mo"] = "Спасибо, принято!\r\nВторое сообщение\rс переносом\r\n"
    await v5_mo_route(core, receiver)
    mo_id = await mo(core, b"STOP")
    start_sender()
    await until(lambda: outbox_empty(core))
    replies = await rows(
        core,
        "SELECT client_ref, sender, destination, body FROM messages ORDER BY client_ref",
    )
    assert replies == [
        (f"mo-{mo_id}-1", "4444", "79161234567", "Спасибо, принято!"),
        (f"mo-{mo_id}-2", "4444", "79161234567", "Второе сообщение\nс переносом"),
    ]
    # The MO sent again (a lost settlement): the same replies are found, none added.
    leased = LeasedReport(
        id=0,
        partner_id=0,
        format=2,
        kind=2,
        url="",
        message_id=int(mo_id),
        body={"sender": "79161234567", "destination": "4444"},
        attempts=2,
    )
    again = await InboundReplier(core.pool, 7).reply(
        leased, "acme", ["Спасибо, принято!", "Второе сообщение\nс переносом"]
    )
    assert len(again) == 2
    assert len(await rows(core, "SELECT 1 FROM messages")) == 2


async def test_an_mo_the_partner_does_not_take_gets_the_unavailable_text_once(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    """http_mo.rst: when the partner's server does not answer, the subscriber is told the
    service is unavailable (the route's text), once however often the MO is retried."""
    receiver.plan = [500, 503]
    await v5_mo_route(core, receiver, "Сервис временно недоступен, повторите позже")
    mo_id = await mo(core, b"HELP")
    start_sender()
    await until(lambda: len(receiver.requests("/mo")) == 3)  # 500, 503, then taken
    await until(lambda: outbox_empty(core))
    told = await rows(core, "SELECT client_ref, sender, destination, body FROM messages")
    assert told == [
        (
            f"mo-{mo_id}-unavailable1",
            "4444",
            "79161234567",
            "Сервис временно недоступен, повторите позже",
        )
    ]


async def test_an_mo_routes_own_timeout_gives_the_partner_less_time(
    core: Core, receiver: Receiver, start_sender: Callable[..., Any]
) -> None:
    """http_mo.rst: each service has its own time to answer. The route's 1 s, not the
    sender's 5 s: the hanging partner times out and the subscriber is told at once."""
    receiver.plan = [None]  # the first request hangs
    timeouts = sent("http_v5", "timeout")
    await v5_mo_route(core, receiver, "Попробуйте позже", timeout_seconds=1)
    await mo(core, b"HELP")
    start_sender(timeout_seconds=5.0, lease_margin_seconds=5.0)

    async def told() -> bool:
        return bool(await rows(core, "SELECT 1 FROM messages WHERE body = 'Попробуйте позже'"))

    await until(told, seconds=3.5)  # well before the sender's own 5 s could end
    assert sent("http_v5", "timeout") - timeouts == 1
