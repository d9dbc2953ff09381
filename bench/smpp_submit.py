"""Load: SMPP submit_sm → submit_sm_resp through the partners' SMPP gateway, durably
accepted by core (dispatcher off: only accept is measured).

Starts core and the SMPP gateway on a fresh database cloned from RCS_TEST_DSN, opens
--binds transceiver binds as the demo partner (our own rcs_smpp session as the ESME, with
--window requests in flight each), submits --total short messages and prints msg/s and
submit_sm → submit_sm_resp latency percentiles.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.smpp_submit
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.rest_e2e import _prepare
from bench.stats import report
from rcs_cli.seed import seed_demo
from rcs_smpp.pdu import BindTransceiver, Pdu, SubmitSm
from rcs_smpp.session import SmppSession
from tests.conftest import free_port
from tests.e2e.installation import Installation


async def _nothing(_: Pdu) -> Pdu | None:
    return None  # the gateway sends no deliver_sm yet


async def _load(port: int, total: int, binds: int, window: int) -> None:
    sessions = []
    for _ in range(binds):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = SmppSession(reader, writer, _nothing, window=window, name="bench-esme")
        session.start()
        # The demo partner seeded by seed_demo.
        await session.send_request(BindTransceiver(system_id="demo", password="demo"))  # noqa: S106
        sessions.append(session)
    latencies: list[float] = []
    counter = iter(range(total))
    failures = 0

    async def one(session: SmppSession, i: int) -> None:
        nonlocal failures
        t0 = time.perf_counter()
        resp = await session.send_request(
            SubmitSm(
                source_addr="RCS",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=f"7916{i:07d}",
                short_message=f"load {i}".encode(),
            )
        )
        latencies.append(time.perf_counter() - t0)
        failures += resp.command_status != 0

    async def worker(session: SmppSession) -> None:
        # window requests in flight per bind: the session's semaphore paces them.
        pending: set[asyncio.Task[None]] = set()
        for i in counter:
            pending.add(asyncio.create_task(one(session, i)))
            if len(pending) >= window:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*pending)

    started = time.perf_counter()
    await asyncio.gather(*(worker(s) for s in sessions))
    elapsed = time.perf_counter() - started
    for session in sessions:
        await session.unbind()
    print(report(f"SMPP submit_sm, {binds} binds × window {window}", total, elapsed, latencies))
    print(f"refused: {failures}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=30_000)
    parser.add_argument("--binds", type=int, default=4)
    parser.add_argument("--window", type=int, default=50)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    port = free_port()
    inst = Installation(
        dsn,
        Path(tempfile.mkdtemp(prefix="rcs-bench-")),
        extra_env={"RCS_LOG_LEVEL": "WARNING", "RCS_SMPP_PORT": str(port)},
    )
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    inst.start("core", "smpp")
    try:
        inst.wait_ready(smsc=False)
        time.sleep(1)  # the gateway listens a moment after core
        asyncio.run(_load(port, args.total, args.binds, args.window))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
