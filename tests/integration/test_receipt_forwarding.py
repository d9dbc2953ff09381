"""Receipts that land on another installation of the cluster (issue 19), between two
installations' databases and two in-process cores (rcs_core's own start-up, real gRPC): the
operator delivered A's receipt on B's bind, B parked it and offers it to its peers (as its
cluster agent wrote them in cluster_peers), A applies it through the receipt code of its own
binds, and B forgets it; a receipt nobody knows stays at B and is never parked at A."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from rcs.common.v1 import status_pb2
from rcs.core.v1 import delivery_service_pb2_grpc, receipt_forward_pb2_grpc
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import receipt_forward_pb2 as rf
from rcs_core.__main__ import serve
from rcs_core.config import CoreSettings
from rcs_core.delivery import receipts_store as receipts
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.statuses import Status
from rcs_runtime.grpc_client import open_channel
from tests.conftest import cloned_database, free_port
from tests.integration.test_dispatch_and_receipts import make_rig
from tests.support import FakeRouting

pytestmark = pytest.mark.integration
A_ID, B_ID = 7, 8  # the template database belongs to installation 7


@pytest.fixture
def b_url(template_db: str) -> Iterator[str]:
    with cloned_database(template_db) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("UPDATE installation SET installation_id = %s", (B_ID,))
        yield dsn


@contextlib.asynccontextmanager
async def core(dsn: str, installation_id: int) -> AsyncIterator[str]:
    """This installation's core process, in-process: its endpoint while it serves."""
    bind = f"127.0.0.1:{free_port()}"
    s = CoreSettings(
        database_url=dsn,
        installation_id=installation_id,
        core_bind=bind,
        dispatcher_workers=0,
        report_senders=0,
        mailing_feed_interval_seconds=0,
        receipt_forward_interval_seconds=0.1,
        receipt_forward_grace_seconds=0.3,
        receipt_forward_max_backoff_seconds=1.0,
    )
    task = asyncio.create_task(serve(s, with_dispatcher=False, with_report_senders=False))
    channel = open_channel(bind)
    try:
        await asyncio.wait_for(channel.channel_ready(), 30)
        yield bind
    finally:
        await channel.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def peers(dsn: str, *rows: tuple[int, str]) -> None:
    """What the cluster agent writes (rcs_cluster/peers_store.py)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM cluster_peers")
        for row in rows:
            conn.execute("INSERT INTO cluster_peers VALUES (%s, %s)", row)


def scalar(dsn: str, sql: str, *args: Any) -> Any:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql, args).fetchone()
        return row[0] if row else None


async def until(check: Any, within: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within the time"
        await asyncio.sleep(0.1)


async def sent_message(pool: AsyncConnectionPool, dsn: str) -> tuple[int, str]:
    """A message of A's, SENT with the operator id its connector answered (hex of its id),
    owing its partner one SMPP receipt (report_format 1)."""
    async with make_rig(pool, dsn, FakeRouting()) as rig:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            (accepted,) = await messages.accept(
                conn,
                ids=IdAllocator(A_ID),
                partner_id=rig.partner_id,
                messages=[
                    NewMessage(
                        None,
                        1,
                        "79160000001",
                        "RCS",
                        "hi",
                        0,
                        dt.timedelta(hours=1),
                        2,
                        "",
                        report_format=1,
                    )
                ],
            )
            await conn.commit()
        mid = accepted.message_id
        for _ in range(30):  # on a loaded box a routing call may time out: retried
            await rig.dispatcher.dispatch_once()
            if (await rig.status(mid))[0] == Status.SENT:
                break
            await asyncio.sleep(1)
    assert await rig.status(mid) == (Status.SENT, 0)
    return mid, format(mid, "x")


async def test_receipt_parked_at_b_reaches_as_message_once(
    pool: AsyncConnectionPool, database_url: str, b_url: str
) -> None:
    a_url = database_url
    mid, operator_id = await sent_message(pool, a_url)
    async with core(a_url, A_ID) as a_core, core(b_url, B_ID) as b_core:
        # B's agent knows a peer that is down (skipped, retried) and A.
        peers(b_url, (1, f"127.0.0.1:{free_port()}"), (A_ID, a_core))
        peers(a_url, (B_ID, b_core))
        b_channel = open_channel(b_core)
        b = delivery_service_pb2_grpc.DeliveryServiceStub(b_channel)
        # The operator delivers A's receipt, and one nobody sent, on B's bind.
        answer = await b.RecordReceipts(
            ms.RecordReceiptsRequest(
                receipts=[
                    ms.Receipt(
                        interface_id="if-1",
                        operator_message_id=operator_id,
                        status=status_pb2.MESSAGE_STATUS_DELIVERED,
                        operator_state="DELIVRD",
                    ),
                    ms.Receipt(
                        interface_id="if-1",
                        operator_message_id="feedface",
                        status=status_pb2.MESSAGE_STATUS_UNDELIVERED,
                        error_code=2,
                        operator_state="UNDELIV",
                    ),
                ]
            ),
            timeout=10,
        )
        assert answer.matched_count == 0
        assert scalar(b_url, "SELECT count(*) FROM pending_receipts") == 2

        await until(lambda: scalar(a_url, "SELECT status FROM messages WHERE id = %s", mid) == 3)
        # B forgot the one A matched; it keeps the unknown one, offered again with backoff.
        await until(lambda: scalar(b_url, "SELECT count(*) FROM pending_receipts") == 1)
        kept = scalar(b_url, "SELECT operator_keys FROM pending_receipts")
        assert kept == receipts.receipt_keys("feedface")
        await until(lambda: scalar(b_url, "SELECT forward_attempts FROM pending_receipts") >= 3)
        # A never parks what it did not match, so it never offers it on.
        assert scalar(a_url, "SELECT count(*) FROM pending_receipts") == 0

        # A repeat (a forward whose delete B lost) matches again and changes nothing.
        a_channel = open_channel(a_core)
        again = await receipt_forward_pb2_grpc.ReceiptForwardServiceStub(
            a_channel
        ).ApplyForwardedReceipts(
            rf.ApplyForwardedReceiptsRequest(
                from_installation_id=B_ID,
                receipts=[
                    rf.ForwardedReceipt(
                        interface_id="if-1",
                        operator_keys=receipts.receipt_keys(operator_id),
                        status=status_pb2.MESSAGE_STATUS_UNDELIVERED,
                        error_code=2,
                    )
                ],
            ),
            timeout=10,
        )
        assert list(again.matched) == [0]
        await a_channel.close()
        await b_channel.close()
    assert scalar(a_url, "SELECT status FROM messages WHERE id = %s", mid) == Status.DELIVERED
    events = "SELECT count(*) FROM status_events WHERE message_id = %s AND status = 3"
    assert scalar(a_url, events, mid) == 1
    assert scalar(a_url, "SELECT count(*) FROM report_outbox WHERE message_id = %s", mid) == 1


async def test_lone_installation_forwards_nothing(database_url: str) -> None:
    async with core(database_url, A_ID) as a_core:
        channel = open_channel(a_core)
        await delivery_service_pb2_grpc.DeliveryServiceStub(channel).RecordReceipts(
            ms.RecordReceiptsRequest(
                receipts=[
                    ms.Receipt(
                        interface_id="if-1",
                        operator_message_id="abc123",
                        status=status_pb2.MESSAGE_STATUS_DELIVERED,
                    )
                ]
            ),
            timeout=10,
        )
        await channel.close()
        await asyncio.sleep(1)
    # No peers: the receipt waits for its own submit_sm_resp, untouched.
    assert scalar(database_url, "SELECT forward_attempts FROM pending_receipts") == 0
