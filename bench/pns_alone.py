"""Load: the PNS simulator alone, with a lean client straight at it (no rpns, no database).

Starts `rcs serve pns-simulator` (no devices), fetches the FCM and HMS bearers from its token
endpoints, then for each platform keeps --concurrency requests in flight for --seconds over
kept-alive connections, every body built once beforehand, through rpns's own transports
(rcs_rpns/providers/): aiohttp (HTTP/1.1) for FCM, HMS and RuStore, h2 on asyncio over TLS
for APNs (http2.py). Prints requests/s and CPU per request
of the simulator and of this client (bench/cpu.py), so that a fan-out run can subtract what
the stand-in services and the load generator cost from what is left for rpns.

    .venv/bin/python -m bench.pns_alone [--platform FCM] [--seconds 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.cpu import CpuMeter
from rcs.common.v1 import message_pb2
from rcs_rpns.providers import payload
from rcs_rpns.providers.apns import ApnsClient
from rcs_rpns.providers.credentials import HmsClient
from rcs_rpns.providers.fcm import FcmClient
from rcs_rpns.providers.hms import HmsPushClient
from rcs_rpns.providers.http2 import Http2
from rcs_rpns.providers.transport import Http1, Transport
from tests.conftest import free_port
from tests.rpns_rig import wait_port
from tests.support import demo_push_credentials

PLATFORMS = ("APNS", "FCM", "HMS", "RUSTORE")
Send = Callable[[int], Awaitable[int]]  # request number -> HTTP status


def _notification(i: int) -> payload.Notification:
    content = message_pb2.PushContent(service_number="BENCH", title="Order shipped", text="Push")
    return payload.Notification(str(i), content, 3600, int(time.time()) + 3600)


async def _run(send: Send, seconds: float, concurrency: int) -> tuple[int, int]:
    """(requests answered 200, others) in ``seconds`` with ``concurrency`` in flight."""
    ok = bad = 0
    stop = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        nonlocal ok, bad
        while time.perf_counter() < stop:
            if await send(next(counter)) == 200:
                ok += 1
            else:
                bad += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok, bad


async def _measure(
    name: str, send: Send, sim_pid: int, args: argparse.Namespace, per_request: int = 1
) -> None:
    await _run(send, 0.5, args.concurrency)  # connections opened, bearers cached
    meter = CpuMeter({"simulator": [sim_pid], "client": [os.getpid()]}, postgres=False)
    meter.start()
    started = time.perf_counter()
    ok, bad = await _run(send, args.seconds, args.concurrency)
    elapsed = time.perf_counter() - started
    meter.stop()
    pushes = ok * per_request
    print(
        f"{name}: {ok:,} requests ({pushes:,} pushes) in {elapsed:.1f} s ="
        f" {pushes / elapsed:,.0f} pushes/s, {bad} not 200; "
        + meter.report(max(1, pushes)).replace("per message", "per push"),
        flush=True,
    )


async def _bench(
    http: str, apns_url: str, ca: Path, sim_pid: int, args: argparse.Namespace
) -> None:
    creds = demo_push_credentials()
    assert creds.fcm is not None
    assert creds.apns is not None
    # rpns's own transports: the client column is what rpns's HTTP layer costs per request.
    rest = Http1(ssl_context=False, timeout=10, connections=args.concurrency)
    apns_ca = ssl.create_default_context(cafile=str(ca))
    h2 = Http2(ssl_context=apns_ca, timeout=10, connections=args.apns_connections)
    fcm = FcmClient(rest, f"{http}/fcm", f"{http}/fcm/token")
    hms = HmsPushClient(rest, f"{http}/hms", f"{http}/hms/oauth2/v3/token")
    hms_app = HmsClient(app_id="1", app_secret="bench")  # noqa: S106 (the simulator's)
    n = _notification(1)
    hms_tokens = [f"tok-{k}" for k in range(args.hms_tokens)]
    requests = {
        "FCM": (
            f"{http}/fcm/v1/projects/p/messages:send",
            f"Bearer {await fcm._bearer(creds.fcm)}",
            payload.fcm(n, token="tok-1"),  # noqa: S106 (a device token)
        ),
        "RUSTORE": (
            f"{http}/rustore/v1/projects/p/messages:send",
            "Bearer service-token",
            payload.rustore(n, token="tok-1"),  # noqa: S106 (a device token)
        ),
        "HMS": (
            f"{http}/hms/v1/1/messages:send",
            f"Bearer {await hms._bearer(hms_app)}",
            payload.hms(n, tokens=hms_tokens),
        ),
    }
    headers, body = payload.apns(n, topic=creds.apns.topic)
    headers["authorization"] = f"bearer {ApnsClient(h2, apns_url).provider_token(creds.apns)}"
    requests["APNS"] = (f"{apns_url}/3/device/{'ab' * 32}", "", body)
    try:
        for platform in args.platforms:
            url, bearer, body = requests[platform]
            transport: Transport = h2 if platform == "APNS" else rest
            h = headers if platform == "APNS" else {"authorization": bearer}
            h = {**h, "content-type": "application/json"}

            async def post(
                _: int,
                t: Transport = transport,
                u: str = url,
                b: bytes = body,
                hd: dict[str, str] = h,
            ) -> int:
                return (await t.post(u, b, hd)).status

            per = args.hms_tokens if platform == "HMS" else 1
            await _measure(platform, post, sim_pid, args, per)
    finally:
        await rest.close()
        await h2.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--platform", choices=PLATFORMS, help="only this one")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64, help="requests in flight")
    parser.add_argument("--hms-tokens", type=int, default=100, help="tokens per HMS request")
    parser.add_argument("--apns-connections", type=int, default=4)
    args = parser.parse_args()
    # `timeout` sends SIGTERM: leave through finally, which stops the processes started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    args.platforms = [args.platform] if args.platform else list(PLATFORMS)
    folder = Path(tempfile.mkdtemp(prefix="rcs-bench-pns-"))
    http_port, apns_port = free_port(), free_port()
    env = dict(
        os.environ,
        RCS_LOG_LEVEL="WARNING",
        RCS_PNS_SIM_HTTP_PORT=str(http_port),
        RCS_PNS_SIM_APNS_PORT=str(apns_port),
        RCS_PNS_SIM_CERT_DIR=str(folder / "pns-sim"),
        RCS_PNS_SIM_SDK_URL="",
    )
    with (folder / "pns-simulator.log").open("wb") as out:
        sim = subprocess.Popen(
            [sys.executable, "-m", "rcs_cli", "serve", "pns-simulator"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        asyncio.run(wait_port(apns_port))
        asyncio.run(
            _bench(
                f"http://127.0.0.1:{http_port}",
                f"https://127.0.0.1:{apns_port}",
                folder / "pns-sim" / "ca.pem",
                sim.pid,
                args,
            )
        )
    finally:
        sim.terminate()
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()
        print(f"logs in {folder}")


if __name__ == "__main__":
    main()
