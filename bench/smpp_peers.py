"""Load, the two peers alone: the end-to-end bench's ESME straight against the operator
simulator, with nothing between them. What the partner's and the operator's side cost on
this host is CPU the installation does not get in `bench.smpp_e2e`, where all three share it.

Starts the simulator (any login; receipts after 0–50 ms, as in the end-to-end bench), opens
--binds transceiver binds, submits --total messages with registered_delivery 1, answers
every receipt, and prints what `bench.smpp_e2e` prints, CPU per message included.

    .venv/bin/python -m bench.smpp_peers
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import tempfile
import time
from pathlib import Path

from bench.cpu import CpuMeter
from bench.smpp_e2e import _load, add_load_arguments
from tests.e2e.installation import Installation


def _wait_listening(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"the simulator does not listen on {port} after {timeout} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_arguments(parser)
    args = parser.parse_args()
    inst = Installation(
        "",  # the simulator has no database
        Path(tempfile.mkdtemp(prefix="rcs-bench-")),
        extra_env={
            "RCS_LOG_LEVEL": "WARNING",
            "RCS_SMSC_SYSTEM_ID": "",  # any login: the ESME binds as the partner it plays
            "RCS_SMSC_RECEIPT_DELAY_MIN_MS": "0",
            "RCS_SMSC_RECEIPT_DELAY_MAX_MS": "50",
        },
    )
    inst.start("simulator")
    try:
        _wait_listening(inst.ports["smsc"])
        meter = CpuMeter(
            {"simulator": [inst.procs["simulator"].pid], "esme (this process)": [os.getpid()]},
            postgres=False,
        )
        load = _load(inst.ports["smsc"], args.total, args.binds, args.window, args.rate, meter)
        asyncio.run(load)
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
