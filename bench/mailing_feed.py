"""Load: a running mailing feeding the pipeline while single REST sends keep their latency.

Starts a whole installation (every component its own process) on a fresh database cloned
from RCS_TEST_DSN. Phase 1: REST v6 single sends alone at --rest-rate for --seconds.
Phase 2: the same while a mailing of --recipients recipients (rate --mailing-rate, priority
0) runs. Prints the REST latency percentiles of both phases, the messages per second the
mailing fed during phase 2, and how many of its messages reached a final status.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.mailing_feed
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import psycopg

from bench.rest_e2e import _prepare
from bench.stats import report
from rcs.core.v1 import mailing_service_pb2 as ms
from rcs.core.v1 import mailing_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from tests.e2e.installation import Installation
from tests.support import seed_demo


async def _rest(inst: Installation, rate: float, seconds: float, offset: int) -> list[float]:
    """Single sends at ``rate`` a second for ``seconds``: each one's latency."""
    latencies: list[float] = []
    async with aiohttp.ClientSession() as http:

        async def one(i: int) -> None:
            body = {
                "login": "demo",
                "password": "demo",
                "destAddr": f"7917{offset + i:07d}",
                "message": {"type": "SMS", "data": {"text": f"single {i}", "serviceNumber": "RCS"}},
            }
            t0 = time.perf_counter()
            async with http.post(inst.url("/api/v6/send"), json=body) as r:
                await r.read()
                if r.status != 200:
                    raise RuntimeError(f"send failed: {r.status}")
            latencies.append(time.perf_counter() - t0)

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies


async def _mailing(target: str, recipients: int, rate: int) -> str:
    channel = open_channel(target)
    stub = mailing_service_pb2_grpc.MailingServiceStub(channel)

    async def requests() -> AsyncIterator[ms.CreateMailingRequest]:
        yield ms.CreateMailingRequest(
            spec=ms.MailingSpec(
                partner="demo",
                name="bench",
                sender="RCS",
                text="Mailing text {1}",
                auto_start=True,
                rate_per_second=rate,
            )
        )
        for i in range(0, recipients, 5000):
            batch = [
                ms.MailingRecipient(destination=f"7916{n:07d}", params=[str(n)])
                for n in range(i, min(recipients, i + 5000))
            ]
            yield ms.CreateMailingRequest(recipients=ms.MailingRecipients(recipients=batch))

    answer = await stub.CreateMailing(requests(), timeout=300)
    await channel.close()
    return str(answer.mailing.id)


async def _fed(dsn: str) -> int:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute("SELECT fed FROM mailings WHERE name = 'bench'")
        row = await cur.fetchone()
        return int(row[0]) if row else 0


async def _run(inst: Installation, a: argparse.Namespace) -> None:
    alone = await _rest(inst, a.rest_rate, a.seconds, 0)
    n = len(alone)
    print(report("REST single sends, alone", n, a.seconds, alone))
    await _mailing(f"127.0.0.1:{inst.ports['core']}", a.recipients, a.mailing_rate)
    await asyncio.sleep(1)  # the feeder is running
    fed0, t0 = await _fed(inst.database_url), time.perf_counter()
    beside = await _rest(inst, a.rest_rate, a.seconds, n)
    fed1, t1 = await _fed(inst.database_url), time.perf_counter()
    print(report("REST single sends, beside the mailing", len(beside), a.seconds, beside))
    fed, took = fed1 - fed0, t1 - t0
    print(f"mailing fed {fed} messages in {took:.1f} s = {fed / took:,.0f} msg/s")
    async with await psycopg.AsyncConnection.connect(inst.database_url) as conn:
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE m.status IN (3, 4, 5, 6)), count(*)"
            " FROM mailing_recipients r JOIN messages m"
            " ON m.id = r.message_id AND m.created_at = r.message_at"
        )
        row = await cur.fetchone()
        assert row is not None
    print(f"mailing messages final by the end: {row[0]} of {row[1]} fed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rest-rate", type=float, default=20)
    parser.add_argument("--recipients", type=int, default=20000)
    parser.add_argument("--mailing-rate", type=int, default=300)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    inst = Installation(
        dsn, Path(tempfile.mkdtemp(prefix="rcs-bench-")), extra_env={"RCS_LOG_LEVEL": "WARNING"}
    )
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    inst.start()
    try:
        inst.wait_ready(timeout=120)
        asyncio.run(_run(inst, args))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
