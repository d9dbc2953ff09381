"""Load: REST v6 sends with far more clients than the gateway admits (RCS_MAX_IN_FLIGHT),
to show push-back: what is admitted keeps its latency, the rest is refused 429 at once.

Starts core (dispatcher off) and the REST gateway on a fresh database cloned from
RCS_TEST_DSN, then runs --concurrency clients for --seconds, each sending one message after
another over keep-alive; a refused client waits what Retry-After says, as a client should
(``--impatient``: 50 ms, to keep the pressure on). Prints admitted msg/s, their latency
percentiles, and how many were refused.

    eval "$(scripts/test-services.sh env)"
    .venv/bin/python -m bench.pushback --concurrency 400 --max-in-flight 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.rest_e2e import _prepare
from bench.stats import report
from tests.e2e.installation import Installation
from tests.support import seed_demo


async def _load(inst: Installation, seconds: float, concurrency: int, impatient: bool) -> None:
    latencies: list[float] = []
    refused = 0
    url = inst.url("/api/v6/send")
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client(n: int) -> None:
            nonlocal refused
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                body = {
                    "login": "demo",
                    "password": "demo",
                    "destAddr": f"79{n:04d}{i:05d}",
                    "message": {"type": "SMS", "data": {"text": "load", "serviceNumber": "RCS"}},
                }
                t0 = time.perf_counter()
                async with http.post(url, json=body) as r:
                    await r.read()
                    if r.status == 429:
                        refused += 1
                        await asyncio.sleep(0.05 if impatient else float(r.headers["Retry-After"]))
                        continue
                    if r.status != 200:
                        raise RuntimeError(f"send failed: {r.status} {await r.text()}")
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    name = f"REST v6 send, {concurrency} clients"
    print(report(name, len(latencies), elapsed, latencies))
    print(f"refused 429: {refused} ({refused / elapsed:,.0f}/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=400)
    parser.add_argument("--max-in-flight", type=int, default=32)
    parser.add_argument("--impatient", action="store_true")
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    env = {
        "RCS_LOG_LEVEL": "WARNING",
        "RCS_DISPATCHER_WORKERS": "0",
        "RCS_MAX_IN_FLIGHT": str(args.max_in_flight),
    }
    inst = Installation(dsn, Path(tempfile.mkdtemp(prefix="rcs-bench-")), extra_env=env)
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    inst.start("core", "rest")
    try:
        inst.wait_ready(smsc=False)
        print(f"RCS_MAX_IN_FLIGHT={args.max_in_flight}")
        asyncio.run(_load(inst, args.seconds, args.concurrency, args.impatient))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
