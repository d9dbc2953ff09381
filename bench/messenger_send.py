"""Load: WhatsApp and Telegram messages through the messenger service to their simulators.

Starts the WhatsApp and Telegram simulators and the messenger service as their own
processes (`rcs serve whatsapp-simulator`, `telegram-simulator`, `messengers`; the
simulators send no webhooks, so core is not needed), hands the messenger service --total
messages per channel through ConnectorService in batches of --batch with --concurrency
calls in flight, as core's dispatcher does, and prints messages/s accepted by the provider
(each one an HTTP call from the messenger service to the simulator) with the per-call
latency.

    .venv/bin/python -m bench.messenger_send --total 2000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import report
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port
from tests.rpns_rig import wait_port

CHANNELS = {"WHATSAPP": channel_pb2.CHANNEL_WHATSAPP, "TELEGRAM": channel_pb2.CHANNEL_TELEGRAM}


def _start(component: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    log = (logs / f"{component}.log").open("ab")
    return subprocess.Popen(  # noqa: S603 (our own CLI)
        [sys.executable, "-m", "rcs_cli", "serve", component],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _run(
    stub: connector_service_pb2_grpc.ConnectorServiceAsyncStub,
    channel: int,
    total: int,
    batch: int,
    concurrency: int,
) -> tuple[int, float, list[float]]:
    ids = iter(range(total))
    latencies: list[float] = []
    accepted = 0

    async def worker() -> None:
        nonlocal accepted
        while True:
            chunk = [n for _, n in zip(range(batch), ids, strict=False)]
            if not chunk:
                return
            request = cs.SendMessagesRequest(
                messages=[
                    cs.OutboundMessage(
                        message_id=f"{channel}-{n}",
                        destination=f"7916{n:07d}",
                        channel=channel,  # type: ignore[arg-type]
                        viber=message_pb2.ViberContent(service_number="RCS", text=f"код {n}"),
                    )
                    for n in chunk
                ]
            )
            started = time.perf_counter()
            answer = await stub.SendMessages(request, timeout=60)
            latencies.append(time.perf_counter() - started)
            accepted += sum(r.outcome == cs.SEND_OUTCOME_ACCEPTED for r in answer.results)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return accepted, time.perf_counter() - started, latencies


async def main(args: argparse.Namespace) -> None:
    wa, tg, grpc_port, webhook = free_port(), free_port(), free_port(), free_port()
    env = {
        "RCS_LOG_LEVEL": "WARNING",
        "RCS_WHATSAPP_SIM_PORT": str(wa),
        "RCS_WHATSAPP_SIM_ACCESS_TOKEN": "bench",
        "RCS_WHATSAPP_SIM_PHONE_NUMBER_ID": "1",
        "RCS_TELEGRAM_SIM_PORT": str(tg),
        "RCS_TELEGRAM_SIM_TOKEN": "bench",
        "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc_port}",
        "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook),
        "RCS_VIBER_AUTH_TOKEN": "bench",
        "RCS_WHATSAPP_API_URL": f"http://127.0.0.1:{wa}/v21.0",
        "RCS_WHATSAPP_PHONE_NUMBER_ID": "1",
        "RCS_WHATSAPP_ACCESS_TOKEN": "bench",
        "RCS_WHATSAPP_APP_SECRET": "bench",
        "RCS_TELEGRAM_API_URL": f"http://127.0.0.1:{tg}",
        "RCS_TELEGRAM_TOKEN": "bench",
    }
    logs = Path(tempfile.mkdtemp(prefix="rcs-bench-messengers-"))
    procs = [
        _start(c, env, logs) for c in ("whatsapp-simulator", "telegram-simulator", "messengers")
    ]
    try:
        for port in (wa, tg, grpc_port):
            await wait_port(port)
        channel = open_channel(f"127.0.0.1:{grpc_port}")
        stub = connector_service_pb2_grpc.ConnectorServiceStub(channel)
        for name in args.channels.split(","):
            accepted, seconds, latencies = await _run(
                stub, CHANNELS[name], args.total, args.batch, args.concurrency
            )
            print(
                report(
                    f"{name} → simulator, per {args.batch}-message call",
                    accepted,
                    seconds,
                    latencies,
                )
            )
        await channel.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        print(f"logs: {logs}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=2000, help="messages per channel")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--channels", default="WHATSAPP,TELEGRAM")
    asyncio.run(main(parser.parse_args()))
