"""Load: durable batch accept over gRPC (MessageService.SubmitMessages).

Starts its own core process (dispatcher off, so only accept is measured) on a fresh database
cloned from RCS_TEST_DSN, then submits --total messages in batches of --batch with
--concurrency calls in flight, and prints msg/s and per-batch latency percentiles.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.grpc_submit
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid

import psycopg

from bench.stats import report
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.db.migrate import migrate
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port


async def _prepare(admin: str) -> str:
    name = f"rcs_bench_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    await migrate(dsn, 1)
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await partners.upsert(conn, "bench", "bench", default_sender="RCS")
        await conn.commit()
    return dsn


async def _load(target: str, total: int, batch: int, concurrency: int) -> None:
    channel = open_channel(target)
    stub = message_service_pb2_grpc.MessageServiceStub(channel)
    await channel.channel_ready()
    latencies: list[float] = []
    batches = [min(batch, total - i) for i in range(0, total, batch)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for b in batches:
        queue.put_nowait(b)
    sms = message_pb2.SmsContent(text="load test message", sender="RCS")

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            req = ms.SubmitMessagesRequest(
                partner="bench",
                messages=[
                    ms.MessageSubmission(
                        destination=f"7916{i:07d}", channel=channel_pb2.CHANNEL_SMS, sms=sms
                    )
                    for i in range(n)
                ],
            )
            t0 = time.perf_counter()
            resp = await stub.SubmitMessages(req, timeout=60)
            latencies.append(time.perf_counter() - t0)
            assert all(r.message_id for r in resp.results), "a message was refused"

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await channel.close()
    print(
        report(
            f"gRPC SubmitMessages (batch {batch}, {concurrency} in flight)",
            total,
            elapsed,
            latencies,
        )
    )
    print("latency is per batch call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    port = free_port()
    env = dict(
        os.environ,
        RCS_DATABASE_URL=dsn,
        RCS_CORE_BIND=f"127.0.0.1:{port}",
        RCS_DISPATCHER_WORKERS="0",
        RCS_DB_POOL_MAX="8",
        RCS_LOG_LEVEL="WARNING",
    )
    core = subprocess.Popen([sys.executable, "-m", "rcs_cli", "serve", "core"], env=env)
    try:
        asyncio.run(_load(f"127.0.0.1:{port}", args.total, args.batch, args.concurrency))
    finally:
        core.terminate()
        core.wait(10)


if __name__ == "__main__":
    main()
