"""Load: push fan-out from rpns to the PNS simulator.

Starts the PNS simulator and rpns as their own processes (`rcs serve pns-simulator`,
`rcs serve rpns`) on a fresh database cloned from RCS_TEST_DSN, registers --numbers
subscribers with --installs each (platforms in turn: Android/FCM, iOS/APNs over HTTP/2 +
TLS, Huawei/HMS, RuStore, or only --platform), hands rpns --total pushes through
ConnectorService in batches as core's dispatcher does, and prints:
- ConnectorService accept throughput (pushes stored and fanned out to deliveries);
- pushes/s from rpns to the push services: deliveries the services accepted, from the
  first SendMessages to the last delivery sent;
- with --devices, the simulated devices' confirmations through rpns's SDK endpoint;
- CPU ms per delivery of the simulator, rpns, this load client and PostgreSQL (bench/cpu.py:
  every postgres process on the host, so other work on the box counts there too).

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.push_fanout
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from google.protobuf import timestamp_pb2

from bench.cpu import CpuMeter, cpu_seconds
from bench.stats import report
from rcs.common.v1 import channel_pb2, message_pb2
from rcs.connector.v1 import connector_service_pb2 as cs
from rcs.connector.v1 import connector_service_pb2_grpc
from rcs_core.db.migrate import migrate
from rcs_rpns.storage import apps
from rcs_runtime.grpc_client import open_channel
from tests.conftest import free_port
from tests.rpns_rig import wait_port
from tests.support import demo_push_credentials

PLATFORMS = {"ANDROID": 2, "IOS": 1, "HUAWEI": 3, "RUSTORE": 4}


async def _prepare(admin: str) -> str:
    name = f"rcs_bench_push_{uuid.uuid4().hex[:8]}"
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    await migrate(dsn, 7)
    return dsn


async def _seed(dsn: str, numbers: int, installs: int, platforms: list[int]) -> None:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        app = await apps.put(
            conn,
            partner="bench",
            service_number="BENCH",
            min_version="",
            credentials=demo_push_credentials(),
        )
        turn = itertools.cycle(platforms)
        rows = []
        for n in range(numbers):
            for k in range(installs):
                platform = next(turn)
                token = f"{n:08x}{k:02x}" * 8 if platform == 1 else f"tok-{n}-{k}"
                rows.append((str(uuid.uuid4()), app.id, platform, token, f"7916{n:07d}"))
        async with conn.cursor() as cur:
            await cur.executemany(
                "INSERT INTO rpns_installs (id, app_id, platform, token, phone)"
                " VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
        await conn.commit()


def _message(i: int, numbers: int) -> cs.OutboundMessage:
    valid_until = timestamp_pb2.Timestamp()
    valid_until.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    return cs.OutboundMessage(
        message_id=str(10_000_000 + i),
        interface_id="rpns",
        destination=f"7916{i % numbers:07d}",
        channel=channel_pb2.CHANNEL_PUSH,
        partner="bench",
        push=message_pb2.PushContent(
            service_number="BENCH", title="Order shipped", text=f"Push {i}"
        ),
        valid_until=valid_until,
    )


async def _backends(dsn: str) -> list[int]:
    """PostgreSQL backends serving the bench's database (its pools): the PostgreSQL share
    of the run without the other work the shared server does meanwhile."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [int(r[0]) for r in await cur.fetchall()]


async def _counts(dsn: str) -> tuple[int, int, int]:
    """Deliveries (sent to a push service or further, confirmed, failed)."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE state IN (1, 2, 3)),"
            " count(*) FILTER (WHERE state IN (2, 3)), count(*) FILTER (WHERE state = 4)"
            " FROM rpns_deliveries"
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), int(row[2])


async def _load(dsn: str, target: str, args: argparse.Namespace, meter: CpuMeter) -> None:
    channel = open_channel(target)
    stub = connector_service_pb2_grpc.ConnectorServiceStub(channel)
    batches = iter(range(0, args.total, args.batch))
    latencies: list[float] = []

    async def worker() -> None:
        for start in batches:
            request = cs.SendMessagesRequest(
                messages=[
                    _message(i, args.numbers)
                    for i in range(start, min(args.total, start + args.batch))
                ]
            )
            t0 = time.perf_counter()
            response = await stub.SendMessages(request, timeout=30)
            latencies.append(time.perf_counter() - t0)
            bad = [r for r in response.results if r.outcome != cs.SEND_OUTCOME_ACCEPTED]
            if bad:
                raise RuntimeError(f"not accepted: {bad[0]}")

    expected = args.total * args.installs
    meter.start()
    backends = {pid: cpu_seconds(pid) for pid in await _backends(dsn)}
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    accepted = time.perf_counter() - started
    print(report("ConnectorService.SendMessages", args.total, accepted, latencies, unit="push"))
    sent = failed = confirmed = 0
    shown = time.perf_counter()
    while sent + failed < expected:
        sent, confirmed, failed = await _counts(dsn)
        await asyncio.sleep(0.05)
        if time.perf_counter() - shown > 5:
            shown = time.perf_counter()
            print(f"  … {sent:,} sent, {failed:,} failed of {expected:,}", flush=True)
    elapsed = time.perf_counter() - started
    meter.stop()
    # A backend opened during the run (a pool growing) counts from zero.
    db_cpu = sum(cpu_seconds(pid) - backends.get(pid, 0.0) for pid in await _backends(dsn))
    print(
        f"fan-out to the push services: {sent:,} deliveries ({args.total:,} pushes x"
        f" {args.installs} installs) in {elapsed:.2f} s = {sent / elapsed:,.0f} pushes/s;"
        f" failed {failed}"
    )
    print(meter.report(max(1, sent + failed)).replace("per message", "per delivery"))
    print(
        f"  of which PostgreSQL backends of this database: {db_cpu * 1000 / max(1, sent):.3f}"
        " ms per delivery (the rest of 'postgres' is the shared server's other work)"
    )
    if args.devices:
        while confirmed < sent:
            _, confirmed, _ = await _counts(dsn)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        print(f"confirmed by the devices: {confirmed:,} in {elapsed:.2f} s")
    await channel.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=20_000, help="pushes")
    parser.add_argument("--numbers", type=int, default=5_000, help="subscribers")
    parser.add_argument("--installs", type=int, default=2, help="installs per subscriber")
    parser.add_argument("--platform", choices=sorted(PLATFORMS), help="only this platform")
    parser.add_argument("--batch", type=int, default=100, help="pushes per SendMessages")
    parser.add_argument("--concurrency", type=int, default=4, help="SendMessages in flight")
    parser.add_argument("--rpns-processes", type=int, default=1)
    parser.add_argument("--devices", action="store_true", help="devices confirm each push")
    args = parser.parse_args()
    # `timeout` sends SIGTERM: leave through finally, which stops the processes started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    admin = os.environ.get("RCS_TEST_DSN")
    if not admin:
        sys.exit('RCS_TEST_DSN is not set: eval "$(scripts/test-services.sh up)" first')
    dsn = asyncio.run(_prepare(admin))
    platforms = [PLATFORMS[args.platform]] if args.platform else list(PLATFORMS.values())
    asyncio.run(_seed(dsn, args.numbers, args.installs, platforms))
    logs = Path(tempfile.mkdtemp(prefix="rcs-bench-push-"))
    http_port, apns_port = free_port(), free_port()
    sdk_ports = [free_port() for _ in range(args.rpns_processes)]
    grpc_ports = [free_port() for _ in range(args.rpns_processes)]
    sim = f"http://127.0.0.1:{http_port}"
    env = dict(
        os.environ,
        RCS_DATABASE_URL=dsn,
        RCS_LOG_LEVEL="WARNING",
        RCS_PNS_SIM_HTTP_PORT=str(http_port),
        RCS_PNS_SIM_APNS_PORT=str(apns_port),
        RCS_PNS_SIM_CERT_DIR=str(logs / "pns-sim"),
        RCS_PNS_SIM_SDK_URL=f"http://127.0.0.1:{sdk_ports[0]}" if args.devices else "",
        RCS_RPNS_APNS_URL=f"https://127.0.0.1:{apns_port}",
        RCS_RPNS_APNS_CA_FILE=str(logs / "pns-sim" / "ca.pem"),
        RCS_RPNS_FCM_URL=f"{sim}/fcm",
        RCS_RPNS_FCM_TOKEN_URL=f"{sim}/fcm/token",
        RCS_RPNS_HMS_URL=f"{sim}/hms",
        RCS_RPNS_HMS_TOKEN_URL=f"{sim}/hms/oauth2/v3/token",
        RCS_RPNS_RUSTORE_URL=f"{sim}/rustore",
        RCS_CORE_TARGET="127.0.0.1:1",  # no core: receipts wait in rpns's outbox
    )
    procs = []
    try:
        with (logs / "pns-simulator.log").open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "rcs_cli", "serve", "pns-simulator"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        asyncio.run(wait_port(apns_port))
        for n, (grpc_port, sdk_port) in enumerate(zip(grpc_ports, sdk_ports, strict=True)):
            with (logs / f"rpns-{n}.log").open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "rcs_cli", "serve", "rpns"],
                        env=dict(
                            env,
                            RCS_RPNS_BIND=f"127.0.0.1:{grpc_port}",
                            RCS_RPNS_SDK_PORT=str(sdk_port),
                        ),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
            asyncio.run(wait_port(sdk_port))
        groups = {
            "simulator": [procs[0].pid],
            "rpns": [p.pid for p in procs[1:]],
            "load client": [os.getpid()],
        }
        asyncio.run(_load(dsn, f"127.0.0.1:{grpc_ports[0]}", args, CpuMeter(groups)))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        with psycopg.connect(admin, autocommit=True) as conn:
            name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"logs in {logs}")


if __name__ == "__main__":
    main()
