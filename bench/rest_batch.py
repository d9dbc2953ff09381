"""Load: REST_BATCH v3 accept (``POST /api/batch/v3/messages``, durably stored by core).

Starts core and the REST gateway (dispatcher off: only accept is measured) on a fresh
database cloned from RCS_TEST_DSN, issues an API key for the demo partner, posts --total
messages in batches of --batch with --concurrency requests in flight, and prints msg/s and
per-request latency percentiles.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.rest_batch
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psycopg

from bench.rest_e2e import _prepare
from bench.stats import report
from rcs_core.auth import api_keys_store as api_keys
from rcs_core.auth import partners_store as partners
from tests.e2e.installation import Installation
from tests.support import seed_demo


async def _key(dsn: str) -> str:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        partner = await partners.by_login(conn, "demo")
        assert partner is not None
        _, key = await api_keys.create(conn, partner.id, "bench")
        await conn.commit()
    return key


async def _load(inst: Installation, key: str, total: int, batch: int, concurrency: int) -> None:
    latencies: list[float] = []
    # Bodies are serialised before the clock starts: the load generator shares the two
    # cores with the platform, and its own JSON encoding is not what is measured.
    bodies = iter(
        [
            json.dumps(
                {
                    "messages": [
                        {"from": "RCS", "to": f"7916{i:07d}", "text": f"load {i}", "id": f"b{i}"}
                        for i in range(first, min(first + batch, total))
                    ]
                }
            ).encode()
            for first in range(0, total, batch)
        ]
    )
    headers = {"Authorization": f"Key {key}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            for body in bodies:
                t0 = time.perf_counter()
                async with http.post(
                    inst.url("/api/batch/v3/messages"), data=body, headers=headers
                ) as r:
                    answer = await r.json()
                    if r.status != 200 or any(x["code"] != "OK" for x in answer["result"]):
                        raise RuntimeError(f"batch failed: {r.status} {str(answer)[:300]}")
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    print(
        report(f"REST_BATCH v3, batch {batch}, {concurrency} in flight", total, elapsed, latencies)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    inst = Installation(
        dsn, Path(tempfile.mkdtemp(prefix="rcs-bench-")), extra_env={"RCS_LOG_LEVEL": "WARNING"}
    )
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    key = asyncio.run(_key(dsn))
    inst.start("core", "rest")
    try:
        inst.wait_ready(smsc=False)
        asyncio.run(_load(inst, key, args.total, args.batch, args.concurrency))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
