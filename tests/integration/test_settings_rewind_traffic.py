"""A rewind of a diverged settings history under queued traffic (issue 19): an old master
whose partner also exists, with other content, in the new master's history keeps that
partner's row (and id) when it is rewound, so the messages it accepted are still claimed,
sent and finalised; the messages of a partner the rewind does remove are sent and
finalised too. Two installations seeded alike (`rcs seed-demo` on each) diverge on every
row: password hashes are salted."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import psycopg
import pytest

from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.core.v1 import settings_service_pb2 as ss
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_cluster.sync import REWINDS, SettingsPuller
from rcs_core.config import CoreSettings
from rcs_core.delivery import receipts_store as receipts
from rcs_core.delivery.dispatcher import Dispatcher
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.statuses import Status
from rcs_runtime.db import open_pool
from rcs_runtime.grpc_client import open_channel
from tests.integration.test_settings_sync import (
    Core,
    as_master,
    master,
    revision,
    rows,
    snapshot,
    standby,
    standby_url,
)
from tests.support import FakeConnector, FakeRouting, start_server

pytestmark = pytest.mark.integration
__all__ = ["master", "standby", "standby_url"]  # fixtures used by name below
ADMIN = ss.Actor(login="admin", remote_ip="10.0.0.5")
DEMO = ss.Partner(login="demo", default_sender="RCS", default_ttl_seconds=86400)


async def _partner_id(dsn: str) -> int:
    (row,) = await rows(dsn, "SELECT id FROM partners WHERE login = 'demo'")
    return int(row[0])


async def _accept(dsn: str, partner_id: int, count: int) -> list[int]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        out = await messages.accept(
            conn,
            ids=IdAllocator(7),
            partner_id=partner_id,
            messages=[
                NewMessage(None, 1, f"7916000000{n}", "RCS", "hi", 0, dt.timedelta(hours=1), 2, "")
                for n in range(count)
            ],
        )
        await conn.commit()
    return [a.message_id for a in out]


@pytest.fixture
async def dispatcher(standby_url: str) -> AsyncIterator[tuple[Dispatcher, FakeConnector]]:
    """The standby's dispatcher, over real gRPC to fake routing (7… → if-1) and connector."""
    pool = await open_pool(standby_url, min_size=1, max_size=2)
    connector = FakeConnector()
    server = await start_server(
        lambda s: routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(FakeRouting(), s),
        lambda s: connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(connector, s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield (
        Dispatcher(
            CoreSettings(database_url=standby_url, dispatcher_batch=100),
            pool,
            routing_service_pb2_grpc.RoutingServiceStub(channel),
            connector_service_pb2_grpc.ConnectorServiceStub(channel),
        ),
        connector,
    )
    await channel.close()
    await server.stop(0)
    await pool.close()


async def test_a_rewound_old_master_keeps_the_partner_its_queued_messages_refer_to(
    master: Core,
    standby: Core,
    database_url: str,
    standby_url: str,
    dispatcher: tuple[Dispatcher, FakeConnector],
) -> None:
    start = await revision(standby_url)
    # The old master: its own partner "demo", messages accepted for it and still queued.
    await as_master(standby_url, "master")
    await standby.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=DEMO, password="demo")
    )
    await as_master(standby_url, "standby")
    before = await _partner_id(standby_url)
    queued = await _accept(standby_url, before, 3)
    # The new master made "demo" alike in its own history (another salt, another time).
    await master.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=DEMO, password="demo")
    )
    history = "SELECT revision, checksum FROM settings_revisions ORDER BY revision"
    assert await rows(standby_url, history) != await rows(database_url, history)

    rewinds = REWINDS._value.get()
    reached = await SettingsPuller(standby.target, timeout=10).pull(
        1, master.target, start + 1, start + 1
    )
    assert reached == start + 1
    assert REWINDS._value.get() == rewinds + 1  # the histories did diverge
    assert await rows(standby_url, history) == await rows(database_url, history)
    assert await snapshot(standby) == await snapshot(master)
    assert await _partner_id(standby_url) == before  # written over in place, not re-created

    await _sent_and_delivered(standby_url, dispatcher, queued)


async def test_messages_of_a_partner_the_rewind_removed_still_reach_a_final_status(
    master: Core,
    standby: Core,
    database_url: str,
    standby_url: str,
    dispatcher: tuple[Dispatcher, FakeConnector],
) -> None:
    """The old master's partner is in no history of the new master's: the rewind removes
    it, and more of its queued messages than a dispatcher batch (25) lie at the head of
    the queue, before a message of a partner both histories have."""
    start = await revision(standby_url)
    await as_master(standby_url, "master")
    await standby.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="ghost"), password="pw")
    )
    await as_master(standby_url, "standby")
    (ghost,) = await rows(standby_url, "SELECT id FROM partners WHERE login = 'ghost'")
    orphans = await _accept(standby_url, int(ghost[0]), 30)
    await master.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=DEMO, password="demo")
    )
    assert (
        await SettingsPuller(standby.target, timeout=10).pull(
            1, master.target, start + 1, start + 1
        )
        == start + 1
    )
    assert await rows(standby_url, "SELECT id FROM partners WHERE login = 'ghost'") == []
    later = await _accept(standby_url, await _partner_id(standby_url), 1)
    await _sent_and_delivered(standby_url, dispatcher, orphans + later)


async def _sent_and_delivered(
    dsn: str, dispatcher: tuple[Dispatcher, FakeConnector], queued: list[int]
) -> None:
    """Every queued message is claimed and sent, and its receipt finalises it."""
    run, connector = dispatcher
    while await run.dispatch_once():
        pass
    assert sorted(int(m.message_id) for m in connector.received) == sorted(queued)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        matched = await receipts.record(
            conn,
            [
                receipts.ReceiptIn(
                    "if-1", receipts.receipt_keys(format(m, "x")), Status.DELIVERED, 0, "X"
                )
                for m in queued
            ],
        )
        await conn.commit()
    assert matched == len(queued)
    statuses = await rows(dsn, "SELECT status FROM messages WHERE id = ANY(%s)", queued)
    assert sorted(Status(s) for (s,) in statuses) == [Status.DELIVERED] * len(queued)
