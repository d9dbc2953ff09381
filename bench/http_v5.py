"""Load: HTTP API v5 send (``GET /api/http/v5/send``) over keep-alive connections,
durably accepted by core (dispatcher off: only accept is measured).

Starts core and the REST gateway on a fresh database cloned from RCS_TEST_DSN, sends
--total requests with --concurrency in flight and prints req/s and latency percentiles.
With --wrk SECONDS the load comes from wrk (Debian ``wrk``, a C load generator) instead of
this Python client, which on a 2-core machine otherwise takes a core from the platform
it measures; each request still has its own number (a Lua counter).

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.http_v5 [--wrk 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.rest_e2e import _prepare
from bench.stats import report
from tests.e2e.installation import Installation
from tests.support import seed_demo


async def _load(inst: Installation, total: int, concurrency: int) -> None:
    latencies: list[float] = []
    counter = iter(range(total))
    url = inst.url("/api/http/v5/send")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            for i in counter:
                params = {
                    "serviceId": "demo",
                    "pass": "demo",
                    "clientId": f"7916{i:07d}",
                    "message": f"load {i}",
                    "source": "RCS",
                }
                t0 = time.perf_counter()
                async with http.get(url, params=params) as r:
                    body = await r.text()
                    if r.status != 200 or not body.startswith("OK"):
                        raise RuntimeError(f"send failed: {r.status} {body[:200]}")
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    name = f"HTTP v5 send, {concurrency} in flight (keep-alive)"
    print(report(name, total, elapsed, latencies, unit="req"))


_WRK_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/http/v5/send?serviceId=demo&pass=demo&source=RCS"
    .. "&clientId=7916" .. string.format("%07d", counter % 10000000)
    .. "&message=load+" .. counter)
end
response = function(status, headers, body)
  if status ~= 200 then print("refused: " .. status .. " " .. body) end
end
"""


def _wrk(inst: Installation, seconds: int, concurrency: int) -> None:
    binary = shutil.which("wrk")
    if binary is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT)
    # One wrk thread: the second core belongs to the platform being measured.
    command = [
        binary,
        "-t1",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        script.name,
        inst.url("/"),
    ]
    subprocess.run(command, check=True)  # noqa: S603 (our own arguments)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--wrk", type=int, default=0, metavar="SECONDS")
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    inst = Installation(
        dsn, Path(tempfile.mkdtemp(prefix="rcs-bench-")), extra_env={"RCS_LOG_LEVEL": "WARNING"}
    )
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    inst.start("core", "rest")
    try:
        inst.wait_ready(smsc=False)
        if args.wrk:
            _wrk(inst, args.wrk, args.concurrency)
        else:
            asyncio.run(_load(inst, args.total, args.concurrency))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
