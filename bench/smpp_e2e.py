"""Load, end to end: ESME submit_sm → SMPP gateway → core → dispatcher → routing →
connector → operator simulator → receipt → core → the gateway's deliver_sm back to the ESME.

Starts a whole installation on a fresh database cloned from RCS_TEST_DSN (the simulator
delivers everything), opens --binds transceiver binds as the demo partner, offers --rate
messages per second (0: as fast as the windows allow) with registered_delivery 1 until
--total are submitted, answers every receipt, and prints: submit throughput and
submit_sm → submit_sm_resp latency, and the sustained end-to-end rate (messages whose
receipt came back, over the time from the first submit to the last receipt) with
submit → receipt latency.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.smpp_e2e
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.cpu import CpuMeter
from bench.history import fill_history
from bench.rest_e2e import _prepare
from bench.stats import report
from rcs_smpp.pdu import BindTransceiver, DeliverSm, DeliverSmResp, Pdu, SubmitSm
from rcs_smpp.session import SmppSession
from tests.conftest import free_port
from tests.e2e.installation import Installation
from tests.support import seed_demo


class Esmes:
    def __init__(self) -> None:
        self.submitted_at: dict[str, float] = {}
        self.early: dict[str, float] = {}  # receipts that overtook their submit_sm_resp
        self.receipt_latencies: list[float] = []
        self.all_back = asyncio.Event()
        self.expected = 0
        self.last_receipt = 0.0

    async def on_request(self, pdu: Pdu) -> Pdu | None:
        if isinstance(pdu, DeliverSm) and pdu.tlvs.receipted_message_id:
            now = time.perf_counter()
            mid = pdu.tlvs.receipted_message_id
            sent = self.submitted_at.pop(mid, None)
            if sent is None:
                self.early[mid] = now
            else:
                self._count(now, sent)
        return DeliverSmResp() if isinstance(pdu, DeliverSm) else None

    def submitted(self, mid: str, at: float) -> None:
        back = self.early.pop(mid, None)
        if back is None:
            self.submitted_at[mid] = at
        else:
            self._count(back, at)

    def _count(self, back: float, sent: float) -> None:
        self.receipt_latencies.append(back - sent)
        self.last_receipt = back
        if len(self.receipt_latencies) >= self.expected:
            self.all_back.set()


async def _load(
    port: int, total: int, binds: int, window: int, rate: float, meter: CpuMeter
) -> None:
    esmes = Esmes()
    esmes.expected = total
    sessions = []
    for _ in range(binds):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = SmppSession(reader, writer, esmes.on_request, window=window, name="bench-esme")
        session.start()
        await session.send_request(BindTransceiver(system_id="demo", password="demo"))  # noqa: S106
        sessions.append(session)
    latencies: list[float] = []
    refused = 0
    counter = iter(range(total))
    meter.start()
    started = time.perf_counter()

    async def one(session: SmppSession, i: int) -> None:
        nonlocal refused
        t0 = time.perf_counter()
        resp = await session.send_request(
            SubmitSm(
                source_addr="RCS",
                dest_addr_ton=1,
                dest_addr_npi=1,
                destination_addr=f"7916{i:07d}",
                short_message=f"load {i}".encode(),
                registered_delivery=1,
            )
        )
        latencies.append(time.perf_counter() - t0)
        if resp.command_status != 0:
            refused += 1
            esmes.expected -= 1
            return
        esmes.submitted(getattr(resp, "message_id", ""), t0)

    async def worker(session: SmppSession) -> None:
        pending: set[asyncio.Task[None]] = set()
        for i in counter:
            if rate:  # pace the offered load: message i is due at i / rate
                delay = started + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            pending.add(asyncio.create_task(one(session, i)))
            if len(pending) >= window:
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.gather(*pending)

    await asyncio.gather(*(worker(s) for s in sessions))
    submit_elapsed = time.perf_counter() - started
    try:
        await asyncio.wait_for(esmes.all_back.wait(), timeout=max(60.0, submit_elapsed * 3))
    except TimeoutError:
        print(f"receipts missing: {esmes.expected - len(esmes.receipt_latencies)}")
    meter.stop()
    for session in sessions:
        await session.unbind()
    offered = f"offered {rate:,.0f}/s" if rate else "unpaced"
    print(
        report(
            f"submit_sm, {binds} binds × window {window}, {offered}",
            total,
            submit_elapsed,
            latencies,
        )
    )
    back = len(esmes.receipt_latencies)
    print(
        report(
            "end to end (submit → receipt back)",
            back,
            max(esmes.last_receipt - started, 1e-9),
            esmes.receipt_latencies,
        )
    )
    print(f"refused: {refused}")
    print(meter.report(back or 1))


async def _set_window(dsn: str, window: int) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await conn.execute("UPDATE interfaces SET window_size = %s", (window,))
        await conn.commit()


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The ESME's load, the same here and in `bench.smpp_peers` so that their runs compare."""
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--binds", type=int, default=4)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--rate", type=float, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_arguments(parser)
    parser.add_argument(
        "--history-days",
        type=int,
        default=30,
        help="past days of traffic in the database, one partition each (0: a fresh database)",
    )
    parser.add_argument("--history-per-day", type=int, default=20_000)
    parser.add_argument(
        "--nice",
        type=int,
        default=10,
        help="RCS_NICE of the dispatcher, connector, routing and simulator (0: all equal)",
    )
    parser.add_argument(
        "--receipts-core",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a second core for the connector's receipts and the gateway's report leases,"
        " as `rcs run` has",
    )
    parser.add_argument(
        "--operator-window", type=int, default=0, help="the demo interface's window (seed: 50)"
    )
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    port = free_port()
    inst = Installation(
        dsn,
        Path(tempfile.mkdtemp(prefix="rcs-bench-")),
        extra_env={
            "RCS_LOG_LEVEL": "WARNING",
            "RCS_SMPP_PORT": str(port),
            "RCS_SMSC_RECEIPT_DELAY_MIN_MS": "0",
            "RCS_SMSC_RECEIPT_DELAY_MAX_MS": "50",
        },
    )
    asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
    asyncio.run(fill_history(dsn, args.history_days, args.history_per_day))
    if args.operator_window:
        asyncio.run(_set_window(dsn, args.operator_window))
    # As `rcs run` does: the delivery side (and the simulator, which stands for operators'
    # SMSCs on other hosts) yields the CPU to the accepting side.
    nice = {"RCS_NICE": str(args.nice)}
    for name in ("routing", "simulator", "dispatcher"):
        inst.start_as(name, name, nice)
    connector_env = dict(nice)
    smpp_env: dict[str, str] = {}
    if args.receipts_core:
        # Receipts go to a core process of their own, so that a batch of them never holds
        # up a submit in the same event loop; the SMPP gateway leases them from it.
        receipts = f"127.0.0.1:{free_port()}"
        inst.start_as("core-receipts", "core", {**nice, "RCS_CORE_BIND": receipts})
        connector_env["RCS_CORE_TARGET"] = receipts
        smpp_env["RCS_SMPP_REPORTS_CORE_TARGET"] = receipts
    inst.start_as("connector", "connector", connector_env)
    inst.start("core")
    inst.start_as("smpp", "smpp", smpp_env)
    try:
        inst.wait_ready()
        time.sleep(1)  # the gateway listens a moment after core
        groups = {label: [proc.pid] for label, proc in inst.procs.items()}
        meter = CpuMeter({**groups, "esme (this process)": [os.getpid()]})
        asyncio.run(_load(port, args.total, args.binds, args.window, args.rate, meter))
    finally:
        inst.stop()


if __name__ == "__main__":
    main()
