"""Core's accept path in-process, without gRPC or a gateway: CPU per message of
MessageServicer.SubmitMessages (partner lookup, validation, the accept transaction, the
response) in this process and in its one PostgreSQL backend, plus validation alone
(submission_of + validate). CPU time, not wall time, and only the backend this run uses, so
that other work on a shared box and on a shared PostgreSQL server counts less.

Messages are REST_BATCH-shaped SMS (client_ref, number, text, sender, validity). With
--single, each call carries one message and --in-flight calls run at once (HTTP v5's and
SMPP's shape, through the AcceptBatcher); otherwise calls of --batch messages.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.accept_path
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.cpu import cpu_seconds
from bench.rest_e2e import _prepare
from rcs.common.v1 import message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs_core.messages.servicer import MessageServicer
from rcs_core.messages.validation import submission_of, validate
from tests.support import seed_demo


def _requests(calls: int, size: int) -> list[ms.SubmitMessagesRequest]:
    out = []
    for c in range(calls):
        request = ms.SubmitMessagesRequest(partner="demo")
        for i in range(c * size, (c + 1) * size):
            sub = request.messages.add(
                client_ref=f"b{i}",
                destination=f"7916{i:07d}",
                channel=1,
                receipt_request=message_pb2.RECEIPT_REQUEST_ALL,
                report_format=ms.REPORT_FORMAT_BATCH_V3,
            )
            sub.sms.text = f"load {i}"
            sub.sms.sender = "RCS"
            sub.ttl.seconds = 86400
        out.append(request)
    return out


def _validation_us(requests: list[ms.SubmitMessagesRequest], owned: frozenset[str]) -> float:
    """The best of three passes, µs of CPU per message."""
    n = sum(len(r.messages) for r in requests)
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for r in requests:
            for sub in r.messages:
                validate(
                    submission_of(sub),
                    default_sender="RCS",
                    default_ttl=dt.timedelta(days=1),
                    trace_parent="",
                    owned_senders=owned,
                )
        best = min(best, time.process_time() - t0)
    return best * 1e6 / n


async def _submit_all(
    servicer: MessageServicer, requests: list[ms.SubmitMessagesRequest], in_flight: int
) -> None:
    calls = iter(requests)
    context: Any = None  # SubmitMessages does not use its context

    async def worker() -> None:
        for request in calls:
            answer = await servicer.SubmitMessages(request, context)
            if any(r.HasField("error") for r in answer.results):
                raise RuntimeError(f"refused: {answer.results[0]}")

    await asyncio.gather(*(worker() for _ in range(in_flight)))


async def _run(admin: str, args: argparse.Namespace) -> None:
    dsn = await _prepare(admin)
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    try:
        await seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=1)
        # One connection: its backend is the PostgreSQL side of every call.
        pool = AsyncConnectionPool(dsn, min_size=1, max_size=1, open=False)
        await pool.open(wait=True)
        async with pool.connection() as conn:
            row = await (await conn.execute("SELECT pg_backend_pid()")).fetchone()
        assert row is not None
        backend = int(row[0])
        servicer = MessageServicer(pool, 7, partner_cache_seconds=3600)
        size = 1 if args.single else args.batch
        calls = args.total // size
        warm, *requests = _requests(calls + 1, size)
        await servicer.SubmitMessages(warm, None)  # type: ignore[arg-type]
        validation = _validation_us(requests, frozenset({"RCS"}))
        in_flight = args.in_flight if args.single else 1
        py0, pg0, wall0 = time.process_time(), cpu_seconds(backend), time.perf_counter()
        await _submit_all(servicer, requests, in_flight)
        py, pg = time.process_time() - py0, cpu_seconds(backend) - pg0
        wall = time.perf_counter() - wall0
        n = calls * size
        shape = f"{in_flight} calls of 1 in flight" if args.single else f"calls of {size}"
        print(
            f"accept path, {n} messages in {shape}: core {py * 1e6 / n:.1f} µs CPU per message"
            f" (validation alone {validation:.1f}), its PostgreSQL backend"
            f" {pg * 1e6 / n:.1f} µs; {n / wall:,.0f} msg/s"
        )
        await servicer.close()
        await pool.close()
    finally:
        async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=45_000)
    parser.add_argument("--batch", type=int, default=3000)
    parser.add_argument("--single", action="store_true", help="one message per call")
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh env)" first')
    asyncio.run(_run(admin, args))


if __name__ == "__main__":
    main()
