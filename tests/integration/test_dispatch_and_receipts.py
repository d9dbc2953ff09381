"""Dispatcher and receipts on real PostgreSQL, with routing and connector behind real gRPC."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY
from psycopg_pool import AsyncConnectionPool

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.config import CoreSettings
from rcs_core.db import maintenance, partitions
from rcs_core.delivery import receipts_store as receipts
from rcs_core.delivery.dispatcher import Dispatcher
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.statuses import Status
from rcs_runtime.grpc_client import open_channel
from tests.support import FakeConnector, FakeRouting, start_server

pytestmark = pytest.mark.integration


@dataclass
class Rig:
    dsn: str
    dispatcher: Dispatcher
    connector: FakeConnector
    partner_id: int

    async def accept(self, *destinations: str, ttl_s: int = 3600) -> list[int]:
        async with await psycopg.AsyncConnection.connect(self.dsn) as conn:
            out = await messages.accept(
                conn,
                ids=IdAllocator(7),
                partner_id=self.partner_id,
                messages=[
                    NewMessage(None, 1, d, "RCS", "hello", 0, dt.timedelta(seconds=ttl_s), 2, "")
                    for d in destinations
                ],
            )
            await conn.commit()
        return [a.message_id for a in out]

    async def status(self, message_id: int) -> tuple[Status, int]:
        async with await psycopg.AsyncConnection.connect(self.dsn) as conn:
            cur = await conn.execute(
                "SELECT status, error_code FROM messages WHERE id = %s", (message_id,)
            )
            row = await cur.fetchone()
            assert row is not None
            return Status(row[0]), row[1]

    async def row(self, sql: str, *args: Any) -> tuple[Any, ...]:
        async with await psycopg.AsyncConnection.connect(self.dsn) as conn:
            cur = await conn.execute(sql, args)
            found = await cur.fetchone()
            assert found is not None, sql
            return tuple(found)

    async def scalar(self, sql: str, *args: Any) -> Any:
        async with await psycopg.AsyncConnection.connect(self.dsn) as conn:
            cur = await conn.execute(sql, args)
            row = await cur.fetchone()
            return row[0] if row else None

    async def receipt(self, op_id: str, status: Status, err: int = 0) -> int:
        async with await psycopg.AsyncConnection.connect(self.dsn) as conn:
            n = await receipts.record(
                conn, [receipts.ReceiptIn("if-1", receipts.receipt_keys(op_id), status, err, "X")]
            )
            await conn.commit()
            return n


@contextlib.asynccontextmanager
async def make_rig(
    pool: AsyncConnectionPool,
    database_url: str,
    routing: routing_service_pb2_grpc.RoutingServiceServicer,
) -> AsyncIterator[Rig]:
    """A dispatcher wired over real gRPC to ``routing`` and a FakeConnector."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        partner_id = await partners.upsert(conn, "acme", "pw", senders=["RCS"])
        await conn.commit()
    connector = FakeConnector()
    server = await start_server(
        lambda s: routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(routing, s),
        lambda s: connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(connector, s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    settings = CoreSettings(database_url=database_url, dispatcher_batch=100)
    dispatcher = Dispatcher(
        settings,
        pool,
        routing_service_pb2_grpc.RoutingServiceStub(channel),
        connector_service_pb2_grpc.ConnectorServiceStub(channel),
    )
    try:
        yield Rig(database_url, dispatcher, connector, partner_id)
    finally:
        await channel.close()
        await server.stop(0)


@pytest.fixture
async def rig(pool: AsyncConnectionPool, database_url: str) -> AsyncIterator[Rig]:
    async with make_rig(pool, database_url, FakeRouting()) as made:
        yield made


async def test_dispatched_message_is_sent_and_leaves_the_queue(rig: Rig) -> None:
    (mid,) = await rig.accept("79160000001")
    assert await rig.dispatcher.dispatch_once() == 1
    assert await rig.status(mid) == (Status.SENT, 0)
    assert await rig.scalar("SELECT count(*) FROM dispatch_queue") == 0
    assert rig.connector.received[0].destination == "79160000001"


async def test_receipt_in_other_id_format_finalises_message(rig: Rig) -> None:
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    # The connector answered with the hex id; the receipt carries it in decimal.
    assert await rig.receipt(str(mid), Status.DELIVERED) == 1
    assert await rig.status(mid) == (Status.DELIVERED, 0)
    history = await rig.scalar(
        "SELECT array_agg(status ORDER BY event_id) FROM status_events WHERE message_id = %s", mid
    )
    assert history == [Status.ACCEPTED, Status.SENT, Status.DELIVERED]


async def test_receipt_before_submit_response_is_kept_and_applied(rig: Rig) -> None:
    (mid,) = await rig.accept("79160000001")
    assert await rig.receipt(format(mid, "X"), Status.UNDELIVERED, 2) == 0
    assert await rig.scalar("SELECT count(*) FROM pending_receipts") == 1
    await rig.dispatcher.dispatch_once()
    assert await rig.status(mid) == (Status.UNDELIVERED, 2)
    assert await rig.scalar("SELECT count(*) FROM pending_receipts") == 0


async def test_delivered_and_read_before_the_id_are_both_applied(rig: Rig) -> None:
    """A messenger's "read" callback can come before the send's answer is recorded (the
    messenger service killed mid-send): DELIVERED then READ wait, and both are applied."""
    (mid,) = await rig.accept("79160000001")
    assert await rig.receipt(format(mid, "X"), Status.DELIVERED) == 0
    assert await rig.receipt(format(mid, "X"), Status.READ) == 0
    await rig.dispatcher.dispatch_once()
    assert await rig.status(mid) == (Status.READ, 0)
    history = await rig.scalar(
        "SELECT array_agg(status ORDER BY event_id) FROM status_events WHERE message_id = %s", mid
    )
    assert history == [Status.ACCEPTED, Status.SENT, Status.DELIVERED, Status.READ]


async def test_a_message_half_sent_is_retried_with_the_other_part_only(rig: Rig) -> None:
    """Part 1 accepted and part 2 throttled: the retry asks for part 2 only, and the SENT
    record has both attempts' operator ids; part 1's receipt, which came in between, is
    applied then."""
    attempts = iter(
        [
            cs.SendResult(
                outcome=cs.SEND_OUTCOME_RETRY,
                detail="submit_status_0x58",
                command_status=0x58,
                operator_message_ids=["a1"],
                part_numbers=[1],
                part_count=2,
                receipt_scope="if-1",
            ),
            cs.SendResult(
                outcome=cs.SEND_OUTCOME_ACCEPTED,
                operator_message_ids=["a2"],
                part_numbers=[2],
                part_count=2,
                receipt_scope="if-1",
            ),
        ]
    )

    def decide(m: cs.OutboundMessage) -> cs.SendResult:
        result = next(attempts)
        result.message_id = m.message_id
        return result

    rig.connector.decide = decide
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    assert await rig.status(mid) == (Status.ACCEPTED, 0)
    assert await rig.receipt("a1", Status.DELIVERED) == 0  # its id is not recorded yet
    await rig.row("UPDATE dispatch_queue SET not_before = now() RETURNING 1")
    await rig.dispatcher.dispatch_once()
    first, again = rig.connector.received
    assert (list(first.sent_parts), list(again.sent_parts), again.sent_parts_of) == ([], [1], 2)
    assert await rig.row("SELECT status, part_count FROM messages WHERE id = %s", mid) == (
        Status.SENT,
        2,
    )
    ids = await rig.scalar(
        "SELECT array_agg(part_no || ':' || operator_key || ':' || status ORDER BY part_no)"
        " FROM operator_ids WHERE message_id = %s",
        mid,
    )
    assert ids == [f"1:a1:{int(Status.DELIVERED)}", f"2:a2:{int(Status.SENT)}"]
    assert await rig.receipt("a2", Status.DELIVERED) == 1
    assert await rig.status(mid) == (Status.DELIVERED, 0)


async def test_operator_ids_keep_their_messages_partition_key(rig: Rig) -> None:
    """A receipt finds its message in its one partition (migration 0022); an id stored
    before that migration has none and is looked up by id."""
    first, second = await rig.accept("79160000001", "79160000002")
    await rig.dispatcher.dispatch_once()
    kept = await rig.scalar(
        "SELECT count(*) FROM operator_ids o JOIN messages m ON m.id = o.message_id"
        " WHERE o.message_created_at = m.created_at"
    )
    assert kept == 2
    async with await psycopg.AsyncConnection.connect(rig.dsn) as conn:
        await conn.execute(
            "UPDATE operator_ids SET message_created_at = NULL WHERE message_id = %s", (second,)
        )
        await conn.commit()
    assert await rig.receipt(format(first, "x"), Status.DELIVERED) == 1
    assert await rig.receipt(format(second, "x"), Status.UNDELIVERED, 8) == 1
    assert await rig.status(first) == (Status.DELIVERED, 0)
    assert await rig.status(second) == (Status.UNDELIVERED, 8)


async def test_ids_older_than_the_receipt_horizon_are_not_looked_at(rig: Rig) -> None:
    """Past the longest validity plus the grace a message has expired: its id is no longer
    looked up, so the receipt is parked like one for an unknown id."""
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    async with await psycopg.AsyncConnection.connect(rig.dsn) as conn:
        keys = receipts.receipt_keys(format(mid, "x"))
        late = receipts.ReceiptIn("if-1", keys, Status.DELIVERED, 0, "X")
        assert await receipts.record(conn, [late], horizon=dt.timedelta(0)) == 0
        await conn.commit()
    assert await rig.status(mid) == (Status.SENT, 0)
    assert await rig.scalar("SELECT count(*) FROM pending_receipts") == 1


async def test_final_status_is_never_overwritten(rig: Rig) -> None:
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    await rig.receipt(format(mid, "x"), Status.DELIVERED)
    await rig.receipt(format(mid, "x"), Status.UNDELIVERED, 8)
    assert await rig.status(mid) == (Status.DELIVERED, 0)
    # A receipt the operator sends again (its deliver_sm_resp lost) changes nothing either.
    assert await rig.receipt(format(mid, "x"), Status.DELIVERED) == 1
    assert await rig.scalar("SELECT count(*) FROM pending_receipts") == 0
    assert await rig.scalar("SELECT count(*) FROM status_events WHERE message_id = %s", mid) == 3


async def test_multipart_message_is_delivered_only_when_every_part_is(rig: Rig) -> None:
    rig.connector.decide = lambda m: cs.SendResult(
        message_id=m.message_id,
        outcome=cs.SEND_OUTCOME_ACCEPTED,
        operator_message_ids=[f"{m.message_id}01", f"{m.message_id}02"],
    )
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    await rig.receipt(f"{mid}01", Status.DELIVERED)
    assert await rig.status(mid) == (Status.SENT, 0)
    await rig.receipt(f"{mid}02", Status.DELIVERED)
    assert await rig.status(mid) == (Status.DELIVERED, 0)


async def test_receipts_for_two_parts_in_concurrent_transactions_finalise(rig: Rig) -> None:
    """Write skew: each transaction must not decide from a snapshot where the other part
    is still SENT (found by the node-smpp interop test, where it left a message SENT)."""
    rig.connector.decide = lambda m: cs.SendResult(
        message_id=m.message_id,
        outcome=cs.SEND_OUTCOME_ACCEPTED,
        operator_message_ids=[f"{m.message_id}01", f"{m.message_id}02"],
    )
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()

    def receipt(part: str) -> list[receipts.ReceiptIn]:
        keys = receipts.receipt_keys(f"{mid}{part}")
        return [receipts.ReceiptIn("if-1", keys, Status.DELIVERED, 0, "DELIVRD")]

    async with (
        await psycopg.AsyncConnection.connect(rig.dsn) as first,
        await psycopg.AsyncConnection.connect(rig.dsn) as second,
    ):
        await receipts.record(first, receipt("01"))  # not committed yet
        other = asyncio.create_task(receipts.record(second, receipt("02")))
        await asyncio.sleep(0.3)  # the second applies its part meanwhile (or waits)
        await first.commit()
        await other
        await second.commit()
    assert await rig.status(mid) == (Status.DELIVERED, 0)


async def test_temporary_failure_is_retried_later_with_backoff(rig: Rig) -> None:
    rig.connector.decide = lambda m: cs.SendResult(
        message_id=m.message_id, outcome=cs.SEND_OUTCOME_RETRY, detail="throttled"
    )
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    assert await rig.status(mid) == (Status.ACCEPTED, 0)
    assert await rig.scalar("SELECT attempts FROM dispatch_queue WHERE message_id = %s", mid) == 1
    assert await rig.scalar(
        "SELECT not_before > now() FROM dispatch_queue WHERE message_id = %s", mid
    )
    assert await rig.dispatcher.dispatch_once() == 0  # not due yet


async def test_connector_down_keeps_messages_queued(rig: Rig, pool: Any) -> None:
    dead = open_channel("127.0.0.1:1")
    rig.dispatcher._connector = connector_service_pb2_grpc.ConnectorServiceStub(dead)
    rig.dispatcher._s = CoreSettings(database_url=rig.dsn, connector_timeout_seconds=1)
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    assert await rig.status(mid) == (Status.ACCEPTED, 0)
    assert await rig.scalar("SELECT last_error FROM dispatch_queue") == "connector_unavailable"
    await dead.close()


async def test_permanent_rejection_unrouted_and_expiry_are_final(rig: Rig) -> None:
    rig.connector.decide = lambda m: cs.SendResult(
        message_id=m.message_id, outcome=cs.SEND_OUTCOME_REJECTED, error_code=13
    )
    rejected, unrouted = await rig.accept("79160000001", "4915112345678")
    (expired,) = await rig.accept("79160000002", ttl_s=1)
    await rig.scalar(
        "UPDATE messages SET valid_until = now() - interval '1 s' WHERE id = %s RETURNING id",
        expired,
    )
    assert await rig.dispatcher.dispatch_once() == 3
    assert await rig.status(rejected) == (Status.REJECTED, 13)
    assert await rig.status(unrouted) == (Status.UNDELIVERED, 11)
    assert await rig.status(expired) == (Status.EXPIRED, 7)
    assert await rig.scalar("SELECT count(*) FROM dispatch_queue") == 0


async def test_sent_message_without_receipt_expires_after_grace(rig: Rig, pool: Any) -> None:
    (mid,) = await rig.accept("79160000001")
    await rig.dispatcher.dispatch_once()
    await rig.scalar(
        "UPDATE messages SET valid_until = now() - interval '2 hours' WHERE id = %s RETURNING id",
        mid,
    )
    settings = CoreSettings(database_url=rig.dsn, receipt_grace_seconds=3600)
    assert await maintenance.run_once(pool, settings) == 1
    assert await rig.status(mid) == (Status.EXPIRED, 7)


async def test_the_expiry_sweep_walks_validity_from_its_mark(rig: Rig, pool: Any) -> None:
    """The sweep resumes where it stopped (less a margin): a SENT message whose validity
    ended inside the new stretch expires, the mark moves to now - grace."""
    first, second = await rig.accept("79160000001", "79160000002")
    await rig.dispatcher.dispatch_once()
    await rig.scalar(
        "UPDATE messages SET valid_until = now() - interval '3 hours' WHERE id = %s RETURNING id",
        first,
    )
    await rig.scalar("UPDATE maintenance_marks SET at = now() - interval '4 hours' RETURNING at")
    settings = CoreSettings(database_url=rig.dsn, receipt_grace_seconds=3600)
    assert await maintenance.run_once(pool, settings) == 1
    assert await rig.status(first) == (Status.EXPIRED, 7)
    assert await rig.status(second) == (Status.SENT, 0)
    behind = await rig.scalar(
        "SELECT now() - at FROM maintenance_marks WHERE name = 'expired_until'"
    )
    assert dt.timedelta(minutes=59) < behind < dt.timedelta(minutes=61)


async def test_status_updates_can_be_hot(rig: Rig) -> None:
    """No index of messages reads a column the SENT / final updates write, and its day
    partitions leave room in their pages: both updates stay heap-only (migration 0024)."""
    written = {"status", "status_at", "error_code", "interface_id", "part_count"}
    async with await psycopg.AsyncConnection.connect(rig.dsn) as conn:
        cur = await conn.execute(
            "SELECT i.indexrelid::regclass::text, a.attname"
            " FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " WHERE i.indrelid = 'messages'::regclass AND (a.attnum = ANY(i.indkey)"
            "  OR pg_get_expr(i.indpred, i.indrelid) ~ ('\\m' || a.attname || '\\M'))"
        )
        indexed = {(index, column) for index, column in await cur.fetchall()}
        assert {(i, c) for i, c in indexed if c in written} == set()
        assert any(c == "valid_until" for _, c in indexed)
        cur = await conn.execute(
            "SELECT c.relname, c.reloptions FROM pg_inherits i JOIN pg_class c"
            " ON c.oid = i.inhrelid WHERE i.inhparent = 'messages'::regclass"
        )
        parts = await cur.fetchall()
    assert parts
    assert all(options and "fillfactor=70" in options for _, options in parts), parts


async def test_higher_priority_is_claimed_first(rig: Rig) -> None:
    async with await psycopg.AsyncConnection.connect(rig.dsn) as conn:
        out = await messages.accept(
            conn,
            ids=IdAllocator(7),
            partner_id=rig.partner_id,
            messages=[
                NewMessage(None, 1, f"7916000000{p}", "RCS", "x", p, dt.timedelta(hours=1), 2, "")
                for p in (0, 2, 1)
            ],
        )
        await conn.commit()
    rig.dispatcher._s = CoreSettings(database_url=rig.dsn, dispatcher_batch=1)
    for _ in range(3):
        await rig.dispatcher.dispatch_once()
    assert [m.message_id for m in rig.connector.received] == [
        str(out[1].message_id),
        str(out[2].message_id),
        str(out[0].message_id),
    ]


async def test_partitions_are_created_ahead_and_dropped_after_retention(rig: Rig) -> None:
    async with await psycopg.AsyncConnection.connect(rig.dsn, autocommit=True) as conn:
        today = dt.datetime.now(dt.UTC).date()
        created, _ = await partitions.maintain(conn, days_ahead=5, retention_days=None, today=today)
        assert f"messages_p{today + dt.timedelta(days=5):%Y%m%d}" in created
        _, dropped = await partitions.maintain(
            conn, days_ahead=0, retention_days=2, today=today + dt.timedelta(days=4)
        )
        assert f"messages_p{today:%Y%m%d}" in dropped
        assert f"status_events_p{today - dt.timedelta(days=1):%Y%m%d}" in dropped


async def test_a_new_days_partition_gets_statistics_once_it_fills(rig: Rig) -> None:
    """The planner scans a never-analyzed partition: it is analyzed at 1,000 rows, once."""
    today = dt.datetime.now(dt.UTC).date()
    name = f"operator_ids_p{today:%Y%m%d}"
    async with await psycopg.AsyncConnection.connect(rig.dsn, autocommit=True) as conn:
        # Autovacuum stays out, as in a partition's first minute.
        await conn.execute(f"ALTER TABLE {name} SET (autovacuum_enabled = false)")

        async def add(n: int) -> None:
            await conn.execute(
                "INSERT INTO operator_ids (interface_id, operator_key, message_id, part_no)"
                " SELECT 'if-stats', 'k' || g, g, 0 FROM generate_series(1, %s) g",
                (n,),
            )
            await conn.execute("SELECT pg_stat_force_next_flush()")
            await conn.execute("SELECT 1")  # the flush happens as this statement ends

        async def analyzed() -> bool:
            cur = await conn.execute(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = %s",
                (name,),
            )
            row = await cur.fetchone()
            return bool(row and row[0])

        await add(partitions.YOUNG_ROWS // 2)
        assert name not in await partitions.analyze_young(conn, today=today)
        assert not await analyzed()
        await add(partitions.YOUNG_ROWS)
        assert name in await partitions.analyze_young(conn, today=today)
        assert await analyzed()
        await add(partitions.YOUNG_ROWS)
        assert name not in await partitions.analyze_young(conn, today=today)


async def test_one_batch_of_receipts_matches_parks_and_finalises_together(rig: Rig) -> None:
    rig.connector.decide = lambda m: cs.SendResult(
        message_id=m.message_id,
        outcome=cs.SEND_OUTCOME_ACCEPTED,
        operator_message_ids=[f"{m.message_id}01", f"{m.message_id}02"],
    )
    one, two = await rig.accept("79160000001", "79160000002")
    await rig.dispatcher.dispatch_once()
    batch = [
        receipts.ReceiptIn("if-1", receipts.receipt_keys(f"{one}01"), Status.DELIVERED, 0, "D"),
        receipts.ReceiptIn("if-1", receipts.receipt_keys(f"{one}02"), Status.DELIVERED, 0, "D"),
        receipts.ReceiptIn("if-1", receipts.receipt_keys(f"{two}02"), Status.UNDELIVERED, 8, "U"),
        receipts.ReceiptIn("if-1", receipts.receipt_keys(f"{one}02"), Status.DELIVERED, 0, "D"),
        receipts.ReceiptIn("if-1", receipts.receipt_keys("ffff0"), Status.DELIVERED, 0, "D"),
    ]
    async with await psycopg.AsyncConnection.connect(rig.dsn) as conn:
        assert await receipts.record(conn, batch) == 4
        await conn.commit()
    assert await rig.status(one) == (Status.DELIVERED, 0)
    assert await rig.status(two) == (Status.SENT, 0)  # part 1 still open
    assert await rig.scalar("SELECT operator_keys FROM pending_receipts") == receipts.receipt_keys(
        "ffff0"
    )
    await rig.receipt(f"{two}01", Status.DELIVERED)
    assert await rig.status(two) == (Status.UNDELIVERED, 8)


@pytest.mark.parametrize(("shares", "low_sent"), [("2:6,1:3,0:1", 2), ("", 0)])
async def test_backlog_of_high_priority_does_not_starve_low(
    rig: Rig, shares: str, low_sent: int
) -> None:
    async with await psycopg.AsyncConnection.connect(rig.dsn) as conn:
        await messages.accept(
            conn,
            ids=IdAllocator(7),
            partner_id=rig.partner_id,
            messages=[
                NewMessage(None, 1, "79160000001", "RCS", "x", p, dt.timedelta(hours=1), 2, "")
                for p in [2] * 60 + [0] * 20
            ],
        )
        await conn.commit()
    settings = CoreSettings(
        database_url=rig.dsn, dispatcher_batch=10, dispatcher_priority_shares=shares
    )
    rig.dispatcher._s = settings
    rig.dispatcher._shares = settings.priority_shares()
    await rig.dispatcher.dispatch_once()
    await rig.dispatcher.dispatch_once()
    async with await psycopg.AsyncConnection.connect(rig.dsn) as conn:
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE priority = 0), count(*) FILTER (WHERE priority = 2)"
            " FROM messages WHERE status = %s",
            (int(Status.SENT),),
        )
        assert await cur.fetchone() == (low_sent, 20 - low_sent)


def test_bad_priority_shares_fail_at_start_up() -> None:
    with pytest.raises(ValueError, match="PRIORITY_SHARES"):
        CoreSettings(dispatcher_priority_shares="3:1")


async def test_queue_depth_is_exported(rig: Rig, pool: AsyncConnectionPool) -> None:
    await rig.accept("79160000001", "79160000002")
    await maintenance.observe_queue(pool)
    assert REGISTRY.get_sample_value("rcs_queue_depth", {"state": "due"}) == 2
