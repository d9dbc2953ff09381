"""Measure: the cascade engine's CPU per cascade step. Stores --cascades push → SMS
cascades on a fresh database, makes their pushes' deadlines pass (no receipt came), and
lets the engine (rcs_core.delivery.cascade_engine) decide them all: each push is expired
and its SMS accepted as a new message. Then the same with pushes confirmed (DELIVERED):
each cascade ends. Prints wall time, this process's CPU (the engine) and PostgreSQL's,
per cascade.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.cascade_engine
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
import uuid

import psycopg
from google.protobuf import duration_pb2
from psycopg_pool import AsyncConnectionPool

from bench.cpu import CpuMeter
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.auth import partners_store as partners
from rcs_core.db.migrate import migrate
from rcs_core.delivery.cascade_engine import CascadeEngine
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.validation import submission_of, validate


def _cascade(n: int) -> ms.MessageSubmission:
    return ms.MessageSubmission(
        destination=f"7916{n:07d}",
        channel=channel_pb2.CHANNEL_PUSH,
        push=message_pb2.PushContent(text=f"push {n}", service_number="APP", title="t"),
        ttl=duration_pb2.Duration(seconds=30),
        cascade=[
            ms.CascadeLink(
                state=ms.CASCADE_STATE_DELIVERED,
                channel=channel_pb2.CHANNEL_SMS,
                sms=message_pb2.SmsContent(text=f"sms {n}", sender="RCS"),
                ttl=duration_pb2.Duration(seconds=600),
            )
        ],
    )


async def _store(dsn: str, count: int, delivered: bool) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        partner_id = await partners.upsert(conn, f"bench-{uuid.uuid4().hex[:6]}", "pw")
        ids = IdAllocator(1)
        for start in range(0, count, 500):
            batch = [
                validate(
                    submission_of(_cascade(n)),
                    default_sender="RCS",
                    default_ttl=dt.timedelta(hours=1),
                    trace_parent="",
                )
                for n in range(start, min(count, start + 500))
            ]
            await messages.accept(conn, ids=ids, partner_id=partner_id, messages=batch)
        # The pushes' validity ended with no receipt, or a device confirmed each.
        if delivered:
            await conn.execute(
                "UPDATE messages SET status = 3 WHERE id IN"
                " (SELECT current_id FROM cascades WHERE final_status IS NULL)"
            )
            await conn.execute("DELETE FROM dispatch_queue")
        await conn.execute(
            "UPDATE cascades SET deadline = now(), due_at = now()"
            " WHERE final_status IS NULL AND link_no = 0"
        )
        await conn.commit()


async def _phase(dsn: str, pool: AsyncConnectionPool, count: int, delivered: bool) -> None:
    await _store(dsn, count, delivered)
    engine = CascadeEngine(pool, dsn, 1, batch=100)
    meter = CpuMeter({"engine": [os.getpid()]})
    cpu0, t0 = time.process_time(), time.perf_counter()
    meter.start()
    done = 0
    while (n := await engine.step_once()) > 0:
        done += n
    meter.stop()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    what = (
        "pushes confirmed: cascade ends"
        if delivered
        else "deadline passed: push expired, SMS accepted"
    )
    print(
        f"{what}: {done} cascades in {wall:.2f} s ({done / wall:,.0f}/s);"
        f" engine CPU {cpu / done * 1e6:,.0f} µs, PostgreSQL CPU"
        f" {meter.seconds.get('postgres', 0.0) / done * 1e6:,.0f} µs per cascade"
    )


async def run(admin: str, count: int) -> None:
    name = f"rcs_bench_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    try:
        await migrate(dsn, 1)
        async with AsyncConnectionPool(dsn, min_size=1, max_size=4, open=False) as pool:
            await _phase(dsn, pool, count, delivered=False)
            await _phase(dsn, pool, count, delivered=True)
    finally:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cascades", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(run(os.environ["RCS_TEST_DSN"], args.cascades))


if __name__ == "__main__":
    main()
