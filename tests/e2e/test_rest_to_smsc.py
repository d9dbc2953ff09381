"""The README's promise, over real sockets: POST /api/v6/send → … → SMSC simulator →
receipt → GET /api/v6/messages/{mtNum} shows DELIVERED with its history; bad input gets
the documented error and stores nothing."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import urllib.parse
import urllib.request
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import psycopg
import pytest

from rcs.routing.v1 import routing_service_pb2, routing_service_pb2_grpc
from tests.e2e.installation import ADMIN_LOGIN, ADMIN_PASSWORD, Installation, http, wait_until

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}


def body(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "login": "demo",
        "password": "demo",
        "id": "e2e-1",
        "destAddr": "+7 (916) 123-45-67",
        "message": {"type": "SMS", "data": {"text": "Hello from RCS", "serviceNumber": "RCS"}},
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def running(installation: Installation) -> Installation:
    installation.start()
    installation.wait_ready()
    return installation


async def test_sent_sms_is_delivered_with_history(running: Installation) -> None:
    status, answer = http("POST", running.url("/api/v6/send"), body())
    assert status == 200, answer
    assert answer["id"] == "e2e-1"
    mt_num = answer["mtNum"]
    assert mt_num.isdigit()

    def delivered() -> Any:
        code, view = http("GET", running.url(f"/api/v6/messages/{mt_num}"), headers=AUTH)
        return view if code == 200 and view["status"] == "DELIVERED" else None

    view = await wait_until(delivered, within=30)
    assert view, running.logs()
    assert (view["statusCode"], view["errorCode"], view["destAddr"]) == (2, 0, "79161234567")
    assert [h["status"] for h in view["history"]] == ["ACCEPTED", "SENT", "DELIVERED"]
    assert all(h["time"] for h in view["history"])
    # The partner's id is idempotent: a repeat returns the same mtNum and sends nothing new.
    status, again = http("POST", running.url("/api/v6/send"), body())
    assert (status, again["mtNum"]) == (200, mt_num)
    await asyncio.sleep(0.5)
    assert running.smsc_stats()["submits"] == 1


@pytest.mark.smsc(outcomes="undelivered:2=1")
async def test_undelivered_sms_shows_the_extended_code(running: Installation) -> None:
    _, answer = http("POST", running.url("/api/v6/send"), body(id="e2e-2"))

    def final() -> Any:
        _, view = http("GET", running.url(f"/api/v6/messages/{answer['mtNum']}"), headers=AUTH)
        return view if view.get("status") == "UNDELIVERED" else None

    view = await wait_until(final, within=30)
    assert view, running.logs()
    assert (view["statusCode"], view["errorCode"]) == (5, 2)


BAD_INPUT: list[tuple[str, Any, dict[str, str], int, int]] = [
    ("malformed JSON", b"{not json", {}, 4, 400),
    ("invalid UTF-8", '{"login": "demo", "text": "\xff"}'.encode("latin-1"), {}, 4, 400),
    (
        "unknown charset",
        b'{"login": "demo"}',
        {"Content-Type": "application/json; charset=no-such-charset"},
        4,
        400,
    ),
    ("missing destAddr", body(destAddr=None), {}, 4, 400),
    ("bad number", body(destAddr="12"), {}, 8, 406),
    ("wrong password", body(password="wrong"), {}, 6, 401),
    ("unknown login", body(login="nobody"), {}, 5, 401),
    ("unknown type", body(message={"type": "FAX", "data": {"text": "x"}}), {}, 9, 406),
    ("bad ttl", body(message={"type": "SMS", "data": {"text": "x", "ttl": 9999}}), {}, 11, 406),
]


async def test_bad_input_gets_documented_error_and_stores_nothing(running: Installation) -> None:
    for case, payload, headers, code, http_status in BAD_INPUT:
        if isinstance(payload, dict):
            payload = {k: v for k, v in payload.items() if v is not None}
        status, answer = http("POST", running.url("/api/v6/send"), payload, headers=headers)
        assert (status, answer["error"]["code"]) == (http_status, code), (case, answer)
    async with await psycopg.AsyncConnection.connect(running.database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM messages")
        row = await cur.fetchone()
    assert row == (0,)
    assert running.smsc_stats()["submits"] == 0


async def test_interface_added_through_admin_api_carries_traffic(running: Installation) -> None:
    admin = {
        "Authorization": "Basic "
        + base64.b64encode(f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}".encode()).decode()
    }
    status, _ = http(
        "PUT",
        running.url("/api/admin/v1/interfaces/sim-2"),
        {
            "host": "127.0.0.1",
            "port": running.ports["smsc"],
            "systemId": "rcs",
            "password": "secret",
            "windowSize": 10,
            "enabled": True,
        },
        headers=admin,
    )
    assert status == 200
    status, answer = http(
        "PUT",
        running.url("/api/admin/v1/operators/Demo%20Mobile"),
        {"mcc": "250", "mnc": "99", "interfaceIds": ["sim-2"]},
        headers=admin,
    )
    assert (status, answer["operator"]["interfaceIds"]) == (200, ["sim-2"]), answer
    await wait_until(lambda: running.smsc_stats()["binds"] >= 2, within=30)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.ports['routing']}") as ch:
        routing = routing_service_pb2_grpc.RoutingServiceStub(ch)
        query = routing_service_pb2.ExplainRouteRequest(
            query=routing_service_pb2.RouteQuery(destination="79161234567")
        )
        for _ in range(300):  # routing reloads within its interval; allow a loaded machine
            if (await routing.ExplainRoute(query)).route.interface_id == "sim-2":
                break
            await asyncio.sleep(0.1)
    # Both binds use one SMSC account, so the simulator hands receipts to either socket:
    # several messages make it all but certain that some cross over.
    sent = [
        http("POST", running.url("/api/v6/send"), body(id=f"via-sim-2-{i}"))[1] for i in range(6)
    ]

    def delivered() -> Any:
        views = [
            http("GET", running.url(f"/api/v6/messages/{s['mtNum']}"), headers=AUTH)[1]
            for s in sent
        ]
        return views if all(v.get("status") == "DELIVERED" for v in views) else None

    assert await wait_until(delivered, within=30), running.logs()
    async with await psycopg.AsyncConnection.connect(running.database_url) as conn:
        cur = await conn.execute(
            "SELECT DISTINCT interface_id FROM messages WHERE id = ANY(%s)",
            ([int(s["mtNum"]) for s in sent],),
        )
        assert await cur.fetchall() == [("sim-2",)]


async def test_a_window_in_the_subscribers_zone_holds_until_it_opens_there(
    running: Installation,
) -> None:
    """useTimeDiff: true puts scheduleInfo's hours in the subscriber's zone (here the
    number plan's default, Moscow). Open now: delivered at once. Opening in two hours: held
    in the queue until then, with no attempt counted."""
    local = dt.datetime.now(ZoneInfo("Europe/Moscow"))

    def hours(start: int, end: int) -> dict[str, str]:
        return {
            "timeBegin": f"{(local.hour + start) % 24:02d}:00",
            "timeEnd": f"{(local.hour + end) % 24:02d}:00",
        }

    status, open_now = http(
        "POST",
        running.url("/api/v6/send"),
        body(id="tz-open", useTimeDiff=True, scheduleInfo=hours(0, 2)),
    )
    assert status == 200, open_now
    status, later = http(
        "POST",
        running.url("/api/v6/send"),
        body(id="tz-later", useTimeDiff=True, scheduleInfo=hours(2, 4)),
    )
    assert status == 200, later

    def delivered() -> Any:
        code, view = http("GET", running.url(f"/api/v6/messages/{open_now['mtNum']}"), headers=AUTH)
        return code == 200 and view["status"] == "DELIVERED"

    # Generous deadlines: on a loaded 2-core runner (three test workers) five seconds
    # were not enough for an open-window message to come back DELIVERED.
    assert await wait_until(delivered, within=30), running.logs()

    async def held() -> Any:
        async with await psycopg.AsyncConnection.connect(running.database_url) as conn:
            cur = await conn.execute(
                "SELECT not_before - now(), attempts FROM dispatch_queue WHERE message_id = %s",
                (int(later["mtNum"]),),
            )
            return await cur.fetchone()

    row = None
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        row = await held()
        if row is not None and row[0] > dt.timedelta(minutes=30):
            break
        await asyncio.sleep(0.1)
    assert row is not None, running.logs()
    wait, attempts = row
    # The next full hour plus one: between one and two hours away, whatever the minute now.
    assert dt.timedelta(minutes=59) < wait <= dt.timedelta(hours=2), wait
    assert attempts == 0
    code, view = http("GET", running.url(f"/api/v6/messages/{later['mtNum']}"), headers=AUTH)
    assert (code, view["status"]) == (200, "ACCEPTED")


async def test_v5_binary_and_flash_sms_reach_the_operator_and_are_delivered(
    running: Installation,
) -> None:
    """http_sms.rst's WAP push example (smpp_encoding 245, smpp_esm_class 64) and a flash
    SMS go through the connector to the simulator and come back DELIVERED."""
    wap = (
        "0605040b8423f0dc0601ae02056a0045c60b03687474703a2f2f7761702e7A616772757A6B612e636F6D"
        "0001035A616772757A6B6155524C000101"
    )
    sends = [
        {"message": wap, "smpp_encoding": "245", "smpp_esm_class": "64"},
        {"message": "Молния", "flash": "1"},
    ]
    ids = []
    for extra in sends:
        query = urllib.parse.urlencode(
            {"serviceId": "demo", "pass": "demo", "clientId": "79161234567", **extra}
        )
        answer = _v5_get(running.url(f"/api/http/v5/send?{query}"))
        assert answer.startswith("OK\n"), answer
        ids.append(answer.split("\n")[1])

    def delivered() -> Any:
        views = [http("GET", running.url(f"/api/v6/messages/{i}"), headers=AUTH) for i in ids]
        return all(code == 200 and v["status"] == "DELIVERED" for code, v in views)

    assert await wait_until(delivered, within=30), running.logs()


def _v5_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())
