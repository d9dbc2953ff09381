"""The dispatcher obeys the routing policy: held advertising waits in the queue without
counting an attempt, refused traffic ends REJECTED with code 10, fallbacks reach the
connector and the interface it really used is recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from psycopg_pool import AsyncConnectionPool

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.routing.v1 import routing_service_pb2 as rs
from rcs_core.messages.statuses import Status
from tests.integration.test_dispatch_and_receipts import Rig, make_rig
from tests.support import Ctx, FakeRouting

pytestmark = pytest.mark.integration

HOLD_FOR = dt.timedelta(hours=3)


class PolicyRouting(FakeRouting):
    """7913… held (advertising at night), 7914… refused, others to if-1 with fallback if-2."""

    def __init__(self) -> None:
        self.queries: list[rs.RouteQuery] = []

    async def ResolveRoutes(
        self, request: rs.ResolveRoutesRequest, context: Ctx
    ) -> rs.ResolveRoutesResponse:
        self.queries.extend(request.queries)
        routes = []
        for q in request.queries:
            route = rs.Route(
                found=True,
                interface_id="if-1",
                fallback_interface_ids=["if-2"],
                sender=q.sender,
                policy=rs.POLICY_OUTCOME_ALLOW,
            )
            if q.destination.startswith("7913"):
                route.policy = rs.POLICY_OUTCOME_HOLD
                route.hold_until.FromDatetime(dt.datetime.now(dt.UTC) + HOLD_FOR)
            elif q.destination.startswith("7915"):  # the partner's window holds it
                route.policy = rs.POLICY_OUTCOME_HOLD
                route.hold_until.FromDatetime(dt.datetime.now(dt.UTC) + HOLD_FOR)
                route.partner_window = True
            elif q.destination.startswith("7914"):
                route = rs.Route(found=False, error_code=10, policy=rs.POLICY_OUTCOME_REFUSE)
            routes.append(route)
        return rs.ResolveRoutesResponse(routes=routes)


ROUTING = PolicyRouting()


@pytest.fixture
async def rig(pool: AsyncConnectionPool, database_url: str) -> AsyncIterator[Rig]:
    async with make_rig(pool, database_url, ROUTING) as made:
        yield made


async def test_held_message_waits_without_an_attempt(rig: Rig) -> None:
    (mid,) = await rig.accept("79131234567", ttl_s=24 * 3600)
    assert await rig.dispatcher.dispatch_once() == 1
    assert await rig.status(mid) == (Status.ACCEPTED, 0)
    attempts, wait, why = await rig.row(
        "SELECT attempts, not_before - now(), last_error FROM dispatch_queue WHERE message_id = %s",
        mid,
    )
    assert attempts == 0
    assert HOLD_FOR - dt.timedelta(minutes=1) < wait <= HOLD_FOR
    assert why == "outside_hours"
    assert rig.connector.received == []
    assert await rig.dispatcher.dispatch_once() == 0  # not due until the window opens


async def test_a_message_held_by_the_partners_window_says_so(rig: Rig) -> None:
    (mid,) = await rig.accept("79151234567", ttl_s=24 * 3600)
    assert await rig.dispatcher.dispatch_once() == 1
    attempts, why = await rig.row(
        "SELECT attempts, last_error FROM dispatch_queue WHERE message_id = %s", mid
    )
    assert (attempts, why) == (0, "partner_window")


async def test_hold_never_outlives_validity(rig: Rig) -> None:
    (mid,) = await rig.accept("79131234567", ttl_s=60)
    await rig.dispatcher.dispatch_once()
    wait = await rig.scalar(
        "SELECT q.not_before - m.valid_until FROM dispatch_queue q"
        " JOIN messages m ON m.id = q.message_id WHERE q.message_id = %s",
        mid,
    )
    assert wait <= dt.timedelta(0)  # due by the end of validity, then it expires


async def test_refused_by_hours_is_rejected_with_code_10(rig: Rig) -> None:
    (mid,) = await rig.accept("79141234567")
    await rig.dispatcher.dispatch_once()
    assert await rig.status(mid) == (Status.REJECTED, 10)


async def test_fallbacks_reach_the_connector_and_the_used_interface_is_recorded(
    rig: Rig,
) -> None:
    rig.connector.decide = lambda m: cs.SendResult(
        message_id=m.message_id,
        outcome=cs.SEND_OUTCOME_ACCEPTED,
        operator_message_ids=["X" + m.message_id],
        interface_id="if-2",
    )
    (mid,) = await rig.accept("79161234567")
    await rig.dispatcher.dispatch_once()
    (sent,) = rig.connector.received
    assert (sent.interface_id, list(sent.fallback_interface_ids)) == ("if-1", ["if-2"])
    assert await rig.status(mid) == (Status.SENT, 0)
    assert await rig.scalar("SELECT interface_id FROM messages WHERE id = %s", mid) == "if-2"


async def test_message_traffic_type_reaches_routing(rig: Rig) -> None:
    (plain,) = await rig.accept("79161234567")
    await rig.scalar("UPDATE messages SET traffic_type = 0 WHERE id = %s RETURNING id", plain)
    await rig.dispatcher.dispatch_once()
    (q,) = ROUTING.queries[-1:]
    assert q.HasField("traffic_type")
    assert q.traffic_type == 0


async def test_the_partners_window_reaches_routing(rig: Rig) -> None:
    """Routing holds a message outside its sending window; the dispatcher passes the window
    stored with the message (here 10:00-20:00 Monday to Friday, the subscriber's zone)."""
    (mid,) = await rig.accept("79161234567")
    await rig.scalar(
        "UPDATE messages SET window_begin = 600, window_end = 1200, window_days = 31"
        " WHERE id = %s RETURNING id",
        mid,
    )
    await rig.dispatcher.dispatch_once()
    (q,) = ROUTING.queries[-1:]
    w = q.send_window
    assert (w.begin_minute, w.end_minute, list(w.weekdays)) == (600, 1200, [1, 2, 3, 4, 5])
    assert w.subscriber_zone
    await rig.accept("79161234568")
    await rig.dispatcher.dispatch_once()
    assert not ROUTING.queries[-1].HasField("send_window")


async def test_a_flash_sms_reaches_the_connector_as_flash(rig: Rig) -> None:
    (flash,) = await rig.accept("79161234567")
    await rig.scalar("UPDATE messages SET flash = true WHERE id = %s RETURNING id", flash)
    await rig.accept("79161234568")
    await rig.dispatcher.dispatch_once()
    sent = {m.destination: m.sms.flash for m in rig.connector.received[-2:]}
    assert sent == {"79161234567": True, "79161234568": False}


async def test_a_binary_sms_reaches_the_connector_as_octets(rig: Rig) -> None:
    (binary,) = await rig.accept("79161234567")
    await rig.scalar(
        "UPDATE messages SET body = '0605040b8423f0dc', data_coding = 245, esm_class = 64"
        " WHERE id = %s RETURNING id",
        binary,
    )
    await rig.dispatcher.dispatch_once()
    (sent,) = rig.connector.received[-1:]
    assert (sent.sms.text, sent.sms.payload) == ("", bytes.fromhex("0605040b8423f0dc"))
    assert (sent.sms.data_coding, sent.sms.esm_class) == (245, 64)
