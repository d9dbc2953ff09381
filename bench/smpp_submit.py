"""Load: SMPP submit_sm → submit_sm_resp through the partners' SMPP gateway, durably
accepted by core (dispatcher off: only accept is measured).

Starts core and the SMPP gateway on a fresh database cloned from RCS_TEST_DSN, opens
--binds transceiver binds as the demo partner (a lean ESME: frames encoded up front, --window
requests in flight each), submits --total short messages and prints msg/s and
submit_sm → submit_sm_resp latency percentiles.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.smpp_submit
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

from bench.cpu import CpuMeter
from bench.rest_e2e import _prepare
from bench.stats import report
from rcs_smpp.codec import encode
from rcs_smpp.pdu import BindTransceiver, SubmitSm
from tests.conftest import free_port
from tests.e2e.installation import Installation
from tests.support import seed_demo


async def _bound(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # The demo partner seeded by seed_demo.
    bind = BindTransceiver(system_id="demo", password="demo", sequence_number=1)  # noqa: S106
    writer.write(encode(bind))
    header = await reader.readexactly(16)
    length, _, status, _ = struct.unpack(">IIII", header)
    await reader.readexactly(length - 16)
    if status != 0:
        raise SystemExit(f"bind refused: 0x{status:08X}")
    return reader, writer


async def _load(port: int, total: int, binds: int, window: int, meter: CpuMeter) -> None:
    """A lean ESME, so the load generator takes little of the 2 cores it shares with the
    platform: submit_sm frames encoded up front, ``window`` in flight per bind, responses
    matched by sequence number from their headers alone."""
    connections = [await _bound(port) for _ in range(binds)]
    share = [total // binds + (i < total % binds) for i in range(binds)]
    latencies: list[float] = []
    failures = 0

    async def drive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        nonlocal failures
        frames = [
            encode(
                SubmitSm(
                    sequence_number=seq,
                    source_addr="RCS",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr=f"7916{seq:07d}",
                    short_message=f"load {seq}".encode(),
                )
            )
            for seq in range(2, n + 2)
        ]
        sent_at: dict[int, float] = {}
        next_frame = 0

        def send(count: int) -> None:
            nonlocal next_frame
            now = time.perf_counter()
            batch = frames[next_frame : next_frame + count]
            for i in range(next_frame, next_frame + len(batch)):
                sent_at[i + 2] = now
            next_frame += len(batch)
            writer.write(b"".join(batch))

        send(window)
        for _ in range(n):
            header = await reader.readexactly(16)
            length, _, status, seq = struct.unpack(">IIII", header)
            await reader.readexactly(length - 16)
            latencies.append(time.perf_counter() - sent_at.pop(seq))
            failures += status != 0
            if next_frame < n:
                send(1)

    meter.start()
    started = time.perf_counter()
    await asyncio.gather(*(drive(r, w, n) for (r, w), n in zip(connections, share, strict=True)))
    elapsed = time.perf_counter() - started
    meter.stop()
    for _, writer in connections:
        writer.close()
    print(report(f"SMPP submit_sm, {binds} binds × window {window}", total, elapsed, latencies))
    print(f"refused: {failures}")
    print(meter.report(total))


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
        groups = {label: [proc.pid] for label, proc in inst.procs.items()}
        meter = CpuMeter({**groups, "esme (this process)": [os.getpid()]})
        asyncio.run(_load(port, args.total, args.binds, args.window, meter))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
