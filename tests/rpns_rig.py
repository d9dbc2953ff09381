"""rpns and the PNS simulator started by their own start-up code (``serve``) on free ports,
in this process, for tests and the push benchmark: real sockets, real TLS, real HTTP/2."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from rcs.connector.v1 import connector_service_pb2_grpc
from rcs.rpns.v1 import app_service_pb2, app_service_pb2_grpc, device_service_pb2_grpc
from rcs_rpns.__main__ import serve as serve_rpns
from rcs_rpns.settings import RpnsSettings
from rcs_runtime.grpc_client import open_channel
from rcs_simulators.pns.__main__ import serve as serve_sim
from rcs_simulators.pns.settings import PnsSimSettings
from tests.conftest import free_port


@functools.cache
def apns_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@functools.cache
def fcm_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def app_with_every_provider(partner: str, service_number: str) -> app_service_pb2.App:
    return app_service_pb2.App(
        partner=partner,
        service_number=service_number,
        apns=app_service_pb2.ApnsCredentials(
            team_id="TEAM123456",
            key_id="KEY1234567",
            private_key_pem=apns_key_pem(),
            topic="ru.example.app",
        ),
        fcm=app_service_pb2.FcmCredentials(
            project_id="example-app",
            client_email="push@example-app.iam.gserviceaccount.com",
            private_key_pem=fcm_key_pem(),
            private_key_id="k1",
        ),
        hms=app_service_pb2.HmsCredentials(app_id="10123456", app_secret="hms-secret"),
        rustore=app_service_pb2.RustoreCredentials(
            project_id="rustore-project", service_token="rustore-token"
        ),
    )


async def wait_port(port: int, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)


@dataclass
class Sim:
    http_port: int
    apns_port: int
    ca_file: Path
    control: httpx.AsyncClient

    async def tokens(self, states: dict[str, str]) -> None:
        (await self.control.post("/control/tokens", json=states)).raise_for_status()

    async def fail(self, provider: str, status: int, **extra: Any) -> None:
        body = {"provider": provider, "status": status, **extra}
        (await self.control.post("/control/failures", json=body)).raise_for_status()

    async def stats(self) -> dict[str, int]:
        response = await self.control.get("/control/stats")
        stats: dict[str, int] = response.json()
        return stats

    async def requests(self, provider: str) -> list[dict[str, Any]]:
        response = await self.control.get("/control/requests", params={"provider": provider})
        found: list[dict[str, Any]] = response.json()["requests"]
        return found


@dataclass
class Rpns:
    settings: RpnsSettings
    sdk: httpx.AsyncClient
    connector: connector_service_pb2_grpc.ConnectorServiceAsyncStub
    devices: device_service_pb2_grpc.DeviceServiceAsyncStub
    apps: app_service_pb2_grpc.AppServiceAsyncStub


@dataclass
class PushRig:
    sim: Sim
    rpns: Rpns


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@contextlib.asynccontextmanager
async def push_rig(
    database_url: str, tmp: Path, *, core_target: str = "127.0.0.1:1", **rpns_overrides: Any
) -> AsyncIterator[PushRig]:
    """The simulator (devices confirming to rpns) and rpns (sending to the simulator)."""
    sim_settings = PnsSimSettings(
        pns_sim_http_port=free_port(),
        pns_sim_apns_port=free_port(),
        pns_sim_cert_dir=tmp / "pns-sim",
        pns_sim_deliver_delay_min_ms=5,
        pns_sim_deliver_delay_max_ms=20,
        pns_sim_sdk_url="",  # set below, once rpns's port is chosen
    )
    sdk_port = free_port()
    sim_settings = sim_settings.model_copy(
        update={"pns_sim_sdk_url": f"http://127.0.0.1:{sdk_port}"}
    )
    sim_task = asyncio.create_task(serve_sim(sim_settings))
    await wait_port(sim_settings.pns_sim_http_port)
    await wait_port(sim_settings.pns_sim_apns_port)
    http = f"http://127.0.0.1:{sim_settings.pns_sim_http_port}"
    settings = RpnsSettings(
        database_url=database_url,
        rpns_bind=f"127.0.0.1:{free_port()}",
        rpns_sdk_port=sdk_port,
        core_target=core_target,
        rpns_apns_url=f"https://127.0.0.1:{sim_settings.pns_sim_apns_port}",
        rpns_apns_ca_file=str(sim_settings.pns_sim_cert_dir / "ca.pem"),
        rpns_fcm_url=f"{http}/fcm",
        rpns_fcm_token_url=f"{http}/fcm/token",
        rpns_hms_url=f"{http}/hms",
        rpns_hms_token_url=f"{http}/hms/oauth2/v3/token",
        rpns_rustore_url=f"{http}/rustore",
        rpns_poll_seconds=0.05,
        rpns_retry_base_seconds=0.2,
        rpns_retry_max_seconds=1.0,
        **rpns_overrides,
    )
    rpns_task = asyncio.create_task(serve_rpns(settings))
    await wait_port(sdk_port)
    channel = open_channel(settings.rpns_bind)
    control = httpx.AsyncClient(base_url=http, timeout=10)
    sdk = httpx.AsyncClient(base_url=f"http://127.0.0.1:{sdk_port}", timeout=10)
    try:
        yield PushRig(
            Sim(
                sim_settings.pns_sim_http_port,
                sim_settings.pns_sim_apns_port,
                sim_settings.pns_sim_cert_dir / "ca.pem",
                control,
            ),
            Rpns(
                settings,
                sdk,
                connector_service_pb2_grpc.ConnectorServiceStub(channel),
                device_service_pb2_grpc.DeviceServiceStub(channel),
                app_service_pb2_grpc.AppServiceStub(channel),
            ),
        )
    finally:
        await control.aclose()
        await sdk.aclose()
        await channel.close()
        await _stop(rpns_task)
        await _stop(sim_task)
