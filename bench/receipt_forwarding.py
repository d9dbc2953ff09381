"""Receipt forwarding between two installations (issue 19): receipts of A's messages that
the operator delivered on B's bind, parked at B, offered by B's core to A's
(ReceiptForwardService) and applied there.

Makes two throwaway databases on the test PostgreSQL (RCS_TEST_DSN), migrated as
installations 7 (A) and 8 (B), with the demo settings; stores ``--receipts`` SENT one-part
messages at A with their operator ids (SQL, like bench/history.py); starts both cores
in this process (default forwarding settings but the grace); records the receipts at B
(DeliveryService.RecordReceipts, batches of 1,000) and times until every message at A is
DELIVERED: receipts forwarded and applied per second, and the delay each receipt got
from its batch's parking to its status at A (the grace included). Drops both databases.

    python -m bench.receipt_forwarding --receipts 20000 [--grace 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator

import psycopg

from rcs.common.v1 import status_pb2
from rcs.core.v1 import delivery_service_pb2_grpc
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.__main__ import serve
from rcs_core.config import CoreSettings
from rcs_core.db.migrate import migrate
from rcs_runtime.grpc_client import open_channel
from tests.ports import free_port
from tests.support import seed_demo

A_ID, B_ID = 7, 8
FIRST = 10**12  # message ids of the bench, far from anything the cores allocate
BATCH = 1000


@contextlib.asynccontextmanager
async def _databases() -> AsyncIterator[tuple[str, str]]:
    admin = os.environ["RCS_TEST_DSN"]
    names = [f"rcs_bench_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    dsns = [psycopg.conninfo.make_conninfo(admin, dbname=n) for n in names]
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            for n in names:
                conn.execute(f'CREATE DATABASE "{n}"')
        for dsn, iid in zip(dsns, (A_ID, B_ID), strict=True):
            await migrate(dsn, installation_id=iid)
            await seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=1)  # interface smsc-sim
        yield dsns[0], dsns[1]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for n in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


async def _sent_messages(dsn: str, n: int) -> None:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("SELECT id FROM partners ORDER BY id LIMIT 1")
        row = await cur.fetchone()
        assert row is not None
        args = {"first": FIRST, "partner": row[0], "n": n}
        await conn.execute(
            "INSERT INTO messages (id, created_at, partner_id, channel, destination, sender,"
            " body, valid_until, receipt_request, status, status_at, interface_id, part_count)"
            " SELECT %(first)s + g, now(), %(partner)s, 1,"
            " '7916' || lpad(g::text, 7, '0'), 'RCS', 'bench ' || g,"
            " now() + interval '1 day', 0, 2, now(), 'smsc-sim', 1"
            " FROM generate_series(0, %(n)s - 1) AS g",
            args,
        )
        await conn.execute(
            "INSERT INTO operator_ids (interface_id, operator_key, alt_key, message_id,"
            " part_no, status, created_at, message_created_at)"
            " SELECT 'smsc-sim', to_hex(%(first)s + g), ((%(first)s + g) * 7)::text,"
            " %(first)s + g, 1, 2, now(), m.created_at"
            " FROM generate_series(0, %(n)s - 1) AS g"
            " JOIN messages m ON m.id = %(first)s + g",
            args,
        )


@contextlib.asynccontextmanager
async def _core(dsn: str, iid: int, grace: float) -> AsyncIterator[str]:
    bind = f"127.0.0.1:{free_port()}"
    s = CoreSettings(
        database_url=dsn,
        installation_id=iid,
        core_bind=bind,
        dispatcher_workers=0,
        report_senders=0,
        mailing_feed_interval_seconds=0,
        receipt_forward_grace_seconds=grace,
        receipt_forward_max_backoff_seconds=max(grace, 30.0),
    )
    task = asyncio.create_task(serve(s, with_dispatcher=False, with_report_senders=False))
    channel = open_channel(bind)
    try:
        await asyncio.wait_for(channel.channel_ready(), 60)
        yield bind
    finally:
        await channel.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _scalar(dsn: str, sql: str, *args: object) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql, args).fetchone()
        return int(row[0]) if row else 0


async def _until(dsn: str, sql: str, *args: object, at_least: int, within: float) -> None:
    """Poll until ``sql``'s count reaches ``at_least`` (or, for 0, falls to 0)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        n = _scalar(dsn, sql, *args)
        if (n >= at_least) if at_least else n == 0:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{sql}: not {at_least} within {within} s")


async def run(n: int, grace: float) -> None:
    async with _databases() as (a_url, b_url):
        await _sent_messages(a_url, n)
        async with _core(a_url, A_ID, grace) as a_core, _core(b_url, B_ID, grace) as b_core:
            for dsn, peer in ((a_url, (B_ID, b_core)), (b_url, (A_ID, a_core))):
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("INSERT INTO cluster_peers VALUES (%s, %s)", peer)
            channel = open_channel(b_core)
            b = delivery_service_pb2_grpc.DeliveryServiceStub(channel)
            parked_at: list[float] = []  # wall time each batch was parked
            start = time.monotonic()
            for first in range(0, n, BATCH):
                await b.RecordReceipts(
                    ms.RecordReceiptsRequest(
                        receipts=[
                            ms.Receipt(
                                interface_id="smsc-sim",
                                operator_message_id=format(FIRST + i, "x"),
                                status=status_pb2.MESSAGE_STATUS_DELIVERED,
                                operator_state="DELIVRD",
                            )
                            for i in range(first, min(n, first + BATCH))
                        ]
                    ),
                    timeout=60,
                )
                parked_at.append(time.time())
            parked = time.monotonic() - start
            await channel.close()
            done = "SELECT count(*) FROM messages WHERE id >= %s AND status = 3"
            await _until(a_url, done, FIRST, at_least=n, within=300)
            took = time.monotonic() - start
            # B deletes what A matched once A answered: none may stay parked.
            await _until(b_url, "SELECT count(*) FROM pending_receipts", at_least=0, within=30)
            forgotten = time.monotonic() - start
        with psycopg.connect(a_url) as conn:
            rows = conn.execute(
                "SELECT id - %s, extract(epoch FROM status_at) FROM messages WHERE id >= %s",
                (FIRST, FIRST),
            ).fetchall()
        delays = sorted(float(at) - parked_at[int(i) // BATCH] for i, at in rows)
        left = _scalar(b_url, "SELECT count(*) FROM pending_receipts")
    load = os.getloadavg()[0]
    print(
        f"{n} receipts parked at B in {parked:.1f} s; all applied at A {took:.1f} s after"
        f" the first was parked: {n / took:.0f} receipts/s end to end"
        f" ({n / max(took - grace, 1e-3):.0f}/s past the {grace} s grace); delay from parking"
        f" to DELIVERED at A: median {statistics.median(delays):.2f} s, p95"
        f" {delays[int(len(delays) * 0.95)]:.2f} s, max {delays[-1]:.2f} s;"
        f" B had forgotten them all {forgotten:.1f} s after the first was parked (left parked:"
        f" {left}); load average {load:.1f}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--receipts", type=int, default=20_000)
    p.add_argument("--grace", type=float, default=0.5, help="RCS_RECEIPT_FORWARD_GRACE_SECONDS")
    args = p.parse_args()
    asyncio.run(run(args.receipts, args.grace))


if __name__ == "__main__":
    main()
