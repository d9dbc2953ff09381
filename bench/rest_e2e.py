"""Load: REST v6 send → core → dispatcher → connector → SMSC simulator → receipt → DELIVERED.

Starts a whole installation (every component its own process) on a fresh database cloned
from RCS_TEST_DSN, posts --total messages with --concurrency requests in flight over
keep-alive connections, waits until every message is final, and prints:
- REST accept throughput and per-request latency percentiles;
- end-to-end throughput (first send → last receipt stored) and accepted → final-status
  latency percentiles from the status_events times.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.rest_e2e
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import psycopg

from bench.stats import report
from rcs_core.db.migrate import migrate
from tests.e2e.installation import Installation
from tests.support import seed_demo


async def _prepare(admin: str) -> str:
    name = f"rcs_bench_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    await migrate(dsn, 7)
    return dsn


async def _load(inst: Installation, total: int, concurrency: int) -> None:
    latencies: list[float] = []
    ids: list[str] = []
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            for i in counter:
                body = {
                    "login": "demo",
                    "password": "demo",
                    "destAddr": f"7916{i:07d}",
                    "message": {
                        "type": "SMS",
                        "data": {"text": f"load {i}", "serviceNumber": "RCS"},
                    },
                }
                t0 = time.perf_counter()
                async with http.post(inst.url("/api/v6/send"), json=body) as r:
                    answer = await r.json()
                    if r.status != 200:
                        raise RuntimeError(f"send failed: {r.status} {answer}")
                latencies.append(time.perf_counter() - t0)
                ids.append(answer["mtNum"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        accept_elapsed = time.perf_counter() - started
        print(report(f"REST v6 send ({concurrency} in flight)", total, accept_elapsed, latencies))

        # Done when the simulator had every receipt acknowledged (so core stored it).
        while inst.smsc_stats()["receipts_acked"] < total:  # noqa: ASYNC110 (polls another process)
            await asyncio.sleep(0.2)
        total_elapsed = time.perf_counter() - started
    async with await psycopg.AsyncConnection.connect(inst.database_url) as conn:
        cur = await conn.execute(
            "SELECT extract(epoch FROM f.created_at - a.created_at) FROM status_events a"
            " JOIN status_events f ON f.message_id = a.message_id AND f.status IN (3, 4, 5, 6)"
            " WHERE a.status = 1"
        )
        e2e = [float(row[0]) for row in await cur.fetchall()]
    print(report("end to end, first send → last receipt stored", total, total_elapsed, e2e))
    print("end-to-end latency: accepted → final status, from status_events times")
    print(f"simulator: {inst.smsc_stats()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    inst = Installation(
        dsn,
        Path(tempfile.mkdtemp(prefix="rcs-bench-")),
        extra_env={"RCS_LOG_LEVEL": "WARNING"},
    )
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    inst.start()
    try:
        inst.wait_ready()
        asyncio.run(_load(inst, args.total, args.concurrency))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
