"""Start-up of the PNS simulator (`rcs serve pns-simulator`): APNs over HTTP/2 + TLS on one
port (apns_h2), FCM, HMS, RuStore and the control API over HTTP/1.1 on another (plain_http),
both lean asyncio Protocols on the process's one event loop."""

from __future__ import annotations

import asyncio
import logging
import ssl
import weakref

from rcs_simulators.pns.apns_h2 import ApnsH2
from rcs_simulators.pns.certs import make_test_ca
from rcs_simulators.pns.device import Devices
from rcs_simulators.pns.plain_http import PlainHttp
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
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(files.cert, files.key)
    tls.set_alpn_protocols(["h2"])  # Apple's provider API speaks HTTP/2 only
    delay = s.pns_sim_answer_delay_ms / 1000
    loop = asyncio.get_running_loop()
    # Every open connection, so that a stop closes them too (a test cancels serve, goes on).
    open_ones: weakref.WeakSet[ApnsH2 | PlainHttp] = weakref.WeakSet()

    def tracked(protocol: ApnsH2 | PlainHttp) -> ApnsH2 | PlainHttp:
        open_ones.add(protocol)
        return protocol

    apns = await loop.create_server(
        lambda: tracked(ApnsH2(services, delay)), s.pns_sim_host, s.pns_sim_apns_port, ssl=tls
    )
    plain = await loop.create_server(
        lambda: tracked(PlainHttp(services, delay)), s.pns_sim_host, s.pns_sim_http_port
    )
    log.info(
        "pns_simulator_serving",
        extra={"apns": s.pns_sim_apns_port, "http": s.pns_sim_http_port, "ca": str(files.ca)},
    )
    try:
        await asyncio.Event().wait()
    finally:
        for server in (apns, plain):
            server.close()
        for protocol in list(open_ones):
            protocol.close()
        await devices.close()
