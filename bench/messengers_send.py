"""Load: VK and FlashingCall sends through the messenger service to their simulators.

Starts the VK simulator, the FlashingCall simulator and the messenger service as their own
processes (`rcs serve vk-simulator`, `flashcall-simulator`, `messengers`), hands the
messenger service --total messages of one channel through ConnectorService in batches of
--batch (--inflight calls at once, as core's dispatcher does) and prints the messages the
provider accepted per second, with each call's latency. The simulators send no callbacks
(no core here) and the VK community's 50-a-second limit is lifted (--vk-rate), so the
number is the connector's own; every number goes to its own subscriber (5 a day each).

    .venv/bin/python -m bench.messengers_send --channel vk --total 3000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time

from bench.stats import report
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port
from tests.rpns_rig import wait_port

CHANNELS = {"vk": channel_pb2.CHANNEL_VK, "flashcall": channel_pb2.CHANNEL_FLASH_CALL}


def _env(grpc: int, webhook: int, vk: int, fc: int, vk_rate: int) -> dict[str, str]:
    return {
        **os.environ,
        "RCS_LOG_LEVEL": "WARNING",
        "RCS_MESSENGERS_BIND": f"127.0.0.1:{grpc}",
        "RCS_MESSENGERS_WEBHOOK_PORT": str(webhook),
        "RCS_CORE_TARGET": f"127.0.0.1:{free_port()}",  # callbacks are off: never called
        "RCS_VIBER_AUTH_TOKEN": "bench",
        "RCS_VK_API_URL": f"http://127.0.0.1:{vk}",
        "RCS_VK_ACCESS_TOKEN": "bench-vk",
        "RCS_VK_CALLBACK_SECRET": "bench",
        "RCS_VK_SIM_PORT": str(vk),
        "RCS_VK_SIM_ACCESS_TOKEN": "bench-vk",
        "RCS_VK_SIM_RATE_PER_SECOND": str(vk_rate),
        "RCS_FLASHCALL_API_URL": f"http://127.0.0.1:{fc}",
        "RCS_FLASHCALL_ACCESS_KEY": "bench-fc",
        "RCS_FLASHCALL_CALLBACK_KEY": "bench",
        "RCS_FLASHCALL_SIM_PORT": str(fc),
        "RCS_FLASHCALL_SIM_ACCESS_KEY": "bench-fc",
    }


def _message(n: int, channel: int) -> cs.OutboundMessage:
    return cs.OutboundMessage(
        message_id=str(n),
        interface_id="messengers",
        destination=f"7900{n:07d}",
        channel=channel,  # type: ignore[arg-type]
        sms=message_pb2.SmsContent(text=f"код {1000 + n % 9000}", sender="bench"),
    )


async def _run(args: argparse.Namespace, grpc: int, ports: tuple[int, ...]) -> None:
    for port in ports:
        await wait_port(port)
    channel = open_channel(f"127.0.0.1:{grpc}")
    stub = connector_service_pb2_grpc.ConnectorServiceStub(channel)
    kind = CHANNELS[args.channel]
    batches = [
        [_message(n, kind) for n in range(start, min(start + args.batch, args.total))]
        for start in range(0, args.total, args.batch)
    ]
    slots = asyncio.Semaphore(args.inflight)
    latencies: list[float] = []
    outcomes: dict[int, int] = {}

    async def call(batch: list[cs.OutboundMessage]) -> None:
        async with slots:
            t0 = time.perf_counter()
            answer = await stub.SendMessages(cs.SendMessagesRequest(messages=batch))
            latencies.append(time.perf_counter() - t0)
            for r in answer.results:
                outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1

    await call(batches[0][:1])  # warm-up: connections open
    latencies.clear()
    outcomes.clear()
    start = time.perf_counter()
    await asyncio.gather(*(call(b) for b in batches))
    seconds = time.perf_counter() - start
    accepted = outcomes.get(cs.SEND_OUTCOME_ACCEPTED, 0)
    print(report(f"{args.channel} accepted by the provider", accepted, seconds, latencies))
    print(f"outcomes: {outcomes} (1 accepted, 2 retry, 3 rejected)")
    await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channel", choices=sorted(CHANNELS), default="vk")
    parser.add_argument("--total", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--inflight", type=int, default=4)
    parser.add_argument("--vk-rate", type=int, default=1_000_000)
    args = parser.parse_args()
    grpc, webhook, vk, fc = (free_port() for _ in range(4))
    env = _env(grpc, webhook, vk, fc, args.vk_rate)
    procs = []
    with tempfile.TemporaryDirectory(prefix="rcs_bench_messengers_") as logs:
        try:
            for component in ("vk-simulator", "flashcall-simulator", "messengers"):
                with open(f"{logs}/{component}.log", "wb") as log:
                    procs.append(
                        subprocess.Popen(  # noqa: S603 (our own CLI, a fixed component)
                            [sys.executable, "-m", "rcs_cli", "serve", component],
                            env=env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
            asyncio.run(_run(args, grpc, (vk, fc, grpc)))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(10)


if __name__ == "__main__":
    main()
