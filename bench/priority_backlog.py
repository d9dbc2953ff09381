"""Measure: priority under a backlog (SPEC F10). Queues --per-priority messages of each
priority 0, 1 and 2 at once on a fresh database, then dispatches them (FakeRouting and an
accepting FakeConnector behind real gRPC, so only the queue's claim order is measured) and
prints, per priority, when its messages went out: the batch of its first message, the
median and last position. Higher priority must go first and lower must never wait for the
backlog to drain.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.priority_backlog
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import uuid

import psycopg
from psycopg_pool import AsyncConnectionPool

from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.routing.v1 import routing_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.config import CoreSettings
from rcs_core.db.migrate import migrate
from rcs_core.delivery.dispatcher import Dispatcher
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_runtime.grpc_client import open_channel
from tests.support import FakeConnector, FakeRouting, start_server


async def _database(admin: str) -> str:
    name = f"rcs_bench_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    await migrate(dsn, 1)
    return dsn


async def run(admin: str, per_priority: int, batch: int, shares: str) -> None:
    dsn = await _database(admin)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        partner_id = await partners.upsert(conn, "bench", "bench")
        # Oldest first within a priority: low priority is queued first, the worst case.
        for priority in (0, 1, 2):
            await messages.accept(
                conn,
                ids=IdAllocator(1),
                partner_id=partner_id,
                messages=[
                    NewMessage(
                        None, 1, "79160000001", "RCS", "x", priority, dt.timedelta(hours=1), 2, ""
                    )
                    for _ in range(per_priority)
                ],
            )
        await conn.commit()
    connector = FakeConnector()
    server = await start_server(
        lambda s: routing_service_pb2_grpc.add_RoutingServiceServicer_to_server(FakeRouting(), s),
        lambda s: connector_service_pb2_grpc.add_ConnectorServiceServicer_to_server(connector, s),
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    settings = CoreSettings(
        database_url=dsn, dispatcher_batch=batch, dispatcher_priority_shares=shares
    )
    async with AsyncConnectionPool(dsn, open=False) as pool:
        dispatcher = Dispatcher(
            settings,
            pool,
            routing_service_pb2_grpc.RoutingServiceStub(channel),
            connector_service_pb2_grpc.ConnectorServiceStub(channel),
        )
        batches = 0
        sent_in: dict[str, int] = {}
        while await dispatcher.dispatch_once():
            batches += 1
            for m in connector.received:
                sent_in.setdefault(m.message_id, batches)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT id, priority FROM messages")
        priority_of = {str(i): p for i, p in await cur.fetchall()}
    await channel.close()
    await server.stop(0)
    print(f"shares {shares or '(none: strict priority)'}, batch {batch}, {batches} batches")
    for priority in (2, 1, 0):
        got = sorted(b for m, b in sent_in.items() if priority_of[m] == priority)
        print(
            f"  priority {priority}: {len(got)} sent; first in batch {got[0]},"
            f" median batch {statistics.median(got):.0f}, last batch {got[-1]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-priority", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--shares", default="2:6,1:3,0:1")
    args = parser.parse_args()
    asyncio.run(run(os.environ["RCS_TEST_DSN"], args.per_priority, args.batch, args.shares))


if __name__ == "__main__":
    main()
