"""Load: REST v6 status callbacks to one partner, counted by an independent collector.

Starts a fresh database cloned from RCS_TEST_DSN, core (accept only), a ``reports`` process
(the HTTP report sender) and ``bench.callback_collector`` (a separate process that answers
every callback 200 and records when each arrived). Submits --total messages with a REST v6
report URL, then gives them final statuses at --rate per second in chunks (as receipts would
come in) and waits until the collector has every callback. Prints callbacks/s (first final
status to last callback) and the latency from a message's final status to its callback.
With --hang N, another partner's N callbacks go first to a server that never answers.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.report_callbacks
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

import psycopg

from bench.grpc_submit import _prepare
from bench.stats import report
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.delivery.finalize import finalize
from rcs_core.messages.statuses import Status
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port


def _stats(collector: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{collector}/stats", timeout=10) as r:  # noqa: S310 (http)
        result: dict[str, object] = json.loads(r.read())
        return result


async def _submit(target: str, partner: str, total: int, url: str) -> list[int]:
    channel = open_channel(target)
    stub = message_service_pb2_grpc.MessageServiceStub(channel)
    await channel.channel_ready()
    sms = message_pb2.SmsContent(text="callback load", sender="RCS")
    ids: list[int] = []
    for start in range(0, total, 500):
        resp = await stub.SubmitMessages(
            ms.SubmitMessagesRequest(
                partner=partner,
                messages=[
                    ms.MessageSubmission(
                        destination=f"7916{i:07d}",
                        channel=channel_pb2.CHANNEL_SMS,
                        sms=sms,
                        report_format=ms.REPORT_FORMAT_REST_V6,
                        report_url=url,
                    )
                    for i in range(start, min(total, start + 500))
                ],
            ),
            timeout=60,
        )
        ids += [int(r.message_id) for r in resp.results]
    await channel.close()
    return ids


async def _finish(dsn: str, ids: list[int], rate: float, chunk: int) -> dict[int, float]:
    """Final statuses at ``rate`` per second; returns when each was committed."""
    done: dict[int, float] = {}
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        for n, start in enumerate(range(0, len(ids), chunk)):
            part = ids[start : start + chunk]
            async with conn.transaction():
                await conn.execute("UPDATE messages SET status = 2 WHERE id = ANY(%s)", (part,))
                await finalize(conn, [(i, Status.DELIVERED, 0, "bench") for i in part])
            now = time.time()
            done.update(dict.fromkeys(part, now))
            ahead = started + (n + 1) * chunk / rate - time.perf_counter()
            if ahead > 0:
                await asyncio.sleep(ahead)
    return done


async def _run(dsn: str, target: str, collector: str, args: argparse.Namespace) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        await partners.upsert(conn, "stuck", "stuck", default_sender="RCS")
        await conn.commit()
    if args.hang:
        stuck = await _submit(target, "stuck", args.hang, f"{collector}/hang")
        await _finish(dsn, stuck, rate=1e9, chunk=500)
    ids = await _submit(target, "bench", args.total, f"{collector}/dlr")
    done = await _finish(dsn, ids, args.rate, args.chunk)
    deadline = time.monotonic() + args.timeout
    while True:
        arrived = _stats(collector)["arrived"]
        assert isinstance(arrived, dict)
        if len(arrived) >= len(ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    times = {int(k): float(v) for k, v in arrived.items() if k}
    got = [i for i in ids if i in times]
    if not got:
        sys.exit("no callback arrived")
    first, last = min(done.values()), max(times[i] for i in got)
    name = f"REST v6 callbacks to one partner (finalized at {args.rate:g}/s"
    name += f", {args.hang} to a hanging partner first)" if args.hang else ")"
    print(report(name, len(got), last - first, [times[i] - done[i] for i in got], unit="cb"))
    if len(got) < len(ids):
        print(f"only {len(got)} of {len(ids)} callbacks arrived within {args.timeout:g} s")
    print("latency is from a message's final status to its callback at the collector")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=2_000, help="final statuses per second")
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--hang", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    core_port, collector_port = free_port(), free_port()
    env = dict(
        os.environ,
        RCS_DATABASE_URL=dsn,
        RCS_INSTALLATION_ID="1",
        RCS_CORE_BIND=f"127.0.0.1:{core_port}",
        RCS_DISPATCHER_WORKERS="0",
        RCS_DB_POOL_MAX="8",
        RCS_LOG_LEVEL="WARNING",
    )
    py = sys.executable
    commands = [
        ["bench.callback_collector", str(collector_port)],
        ["rcs_cli", "serve", "core"],
        ["rcs_cli", "serve", "reports"],
    ]
    procs = [
        subprocess.Popen([py, "-m", *c], env=env)  # noqa: S603 (our own arguments)
        for c in commands
    ]
    collector = f"http://127.0.0.1:{collector_port}"
    try:
        for _ in range(100):
            try:
                _stats(collector)
                break
            except OSError:
                time.sleep(0.1)
        asyncio.run(_run(dsn, f"127.0.0.1:{core_port}", collector, args))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)


if __name__ == "__main__":
    main()
