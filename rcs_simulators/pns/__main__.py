"""Start-up of the PNS simulator (`rcs serve pns-simulator`): hypercorn serving APNs over
HTTP/2 + TLS on one port, aiohttp serving FCM, HMS, RuStore and the control API on another."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from rcs_simulators.pns.asgi import build_asgi
from rcs_simulators.pns.certs import make_test_ca
from rcs_simulators.pns.device import Devices
from rcs_simulators.pns.plain_http import build_plain_app
from rcs_simulators.pns.services import Services
from rcs_simulators.pns.settings import PnsSimSettings
from rcs_simulators.pns.state import SimState

log = logging.getLogger(__name__)


async def serve(s: PnsSimSettings) -> None:
    files = make_test_ca(s.pns_sim_cert_dir)
    state = SimState(tokens=s.token_states())
    devices = Devices(
        s.pns_sim_sdk_url,
        delay_ms=(s.pns_sim_deliver_delay_min_ms, s.pns_sim_deliver_delay_max_ms),
        open_ratio=s.pns_sim_open_ratio,
        on_confirmed=lambda what: state.count("device", what),
    )
    services = Services(state, devices.push)
    config = Config()
    config.bind = [f"{s.pns_sim_host}:{s.pns_sim_apns_port}"]
    config.certfile = str(files.cert)
    config.keyfile = str(files.key)
    config.alpn_protocols = ["h2", "http/1.1"]
    config.accesslog = None
    config.keep_alive_timeout = 75
    # APNs clients keep one connection and multiplex: allow as many streams as Apple does.
    config.h2_max_concurrent_streams = 1000
    log.info(
        "pns_simulator_serving",
        extra={"apns": s.pns_sim_apns_port, "http": s.pns_sim_http_port, "ca": str(files.ca)},
    )
    runner = web.AppRunner(
        build_plain_app(services, answer_delay=s.pns_sim_answer_delay_ms / 1000),
        access_log=None,
    )
    await runner.setup()
    await web.TCPSite(runner, s.pns_sim_host, s.pns_sim_http_port).start()
    stop = asyncio.Event()
    try:
        await hypercorn_serve(
            build_asgi(services, answer_delay=s.pns_sim_answer_delay_ms / 1000),
            config,
            shutdown_trigger=stop.wait,
        )
    finally:
        await runner.cleanup()
        await devices.close()
