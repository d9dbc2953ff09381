"""TLS beside the plain ports (issue 14, item 8), with real clients: curl over HTTPS to the
REST gateway with a test CA (and a client certificate where the gateway asks for one),
smpplib binding and submitting over TLS to the SMPP gateway."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import smpplib.client
import smpplib.smpp

from gateways.rest.app import build_app
from gateways.rest.listen import start_sites
from gateways.rest.parse_errors import PartnerSafeRunner
from gateways.rest.settings import RestSettings
from gateways.smpp.server import SmppGateway
from gateways.smpp.settings import SmppGatewaySettings
from rcs.core.v1 import auth_service_pb2_grpc
from rcs_core.auth import partners_store as partners
from rcs_core.auth.servicer import AuthServicer
from rcs_runtime.grpc_client import open_channel
from rcs_runtime.tls import TlsConfigError, server_context
from tests.conftest import free_port
from tests.core_services import CoreServices
from tests.support import start_server

pytestmark = pytest.mark.integration


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_cert: Path  # signed by another CA
    other_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _signed(cwd: Path, name: str, ca: str, ext: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj",
             f"/CN={name}", cwd=cwd)  # fmt: skip
    (cwd / f"{name}.ext").write_text(ext)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext",
             cwd=cwd)  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA, a server certificate for 127.0.0.1, client certificates from it and
    from another CA."""
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
                 "-subj", f"/CN=rcs {ca}", cwd=d)  # fmt: skip
    _signed(d, "server", "ca", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _signed(d, "client", "ca", "extendedKeyUsage=clientAuth\n")
    _signed(d, "other", "other-ca", "extendedKeyUsage=clientAuth\n")
    return Pki(
        d / "ca.pem",
        d / "server.pem",
        d / "server.key",
        d / "client.pem",
        d / "client.key",
        d / "other.pem",
        d / "other.key",
    )


@pytest.fixture
async def core(pool: Any) -> AsyncIterator[Any]:
    async with pool.connection() as conn:
        await partners.upsert(conn, "acme", "pw-12345", default_sender="ACME")
    messages = CoreServices(pool, installation_id=7)
    server = await start_server(
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
        messages.register,
    )
    channel = open_channel(f"127.0.0.1:{server.port}")
    yield channel
    await channel.close()
    await server.stop(0)
    await messages.close()


async def _rest(core: Any, **tls: Any) -> tuple[PartnerSafeRunner, int, int]:
    settings = RestSettings(rest_port=free_port(), rest_tls_port=free_port(), **tls)
    runner = PartnerSafeRunner(build_app(settings, core), access_log=None)
    await runner.setup()
    await start_sites(runner, settings)
    return runner, settings.rest_port, settings.rest_tls_port


def _curl(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        ["curl", "-s", "-S", "--max-time", "20", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


SEND = json.dumps(
    {
        "login": "acme",
        "password": "pw-12345",
        "destAddr": "79034567890",
        "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
    }
)


async def test_rest_serves_https_beside_http(core: Any, pki: Pki) -> None:
    runner, plain, tls = await _rest(
        core, rest_tls_cert=str(pki.server_cert), rest_tls_key=str(pki.server_key)
    )
    try:
        url = f"https://127.0.0.1:{tls}/api/v6/send"
        headers = ("-H", "Content-Type: application/json", "-d", SEND)
        code, out = await asyncio.to_thread(_curl, "--cacert", str(pki.ca), *headers, url)
        assert code == 0, out
        assert "mtNum" in json.loads(out)
        code, out = await asyncio.to_thread(_curl, *headers, url)  # no trust in the test CA
        assert code == 60, out  # curl: peer certificate cannot be authenticated
        code, out = await asyncio.to_thread(
            _curl, *headers, f"http://127.0.0.1:{plain}/api/v6/send"
        )
        assert (code, "mtNum" in out) == (0, True), out  # the plain port goes on
    finally:
        await runner.cleanup()


async def test_rest_with_a_client_ca_takes_only_its_clients(core: Any, pki: Pki) -> None:
    runner, _, tls = await _rest(
        core,
        rest_tls_cert=str(pki.server_cert),
        rest_tls_key=str(pki.server_key),
        rest_tls_client_ca=str(pki.ca),
    )
    try:
        url = f"https://127.0.0.1:{tls}/api/v6/send"
        base = ("--cacert", str(pki.ca), "-H", "Content-Type: application/json", "-d", SEND)
        code, out = await asyncio.to_thread(
            _curl, *base, "--cert", str(pki.client_cert), "--key", str(pki.client_key), url
        )
        assert (code, "mtNum" in out) == (0, True), out
        code, out = await asyncio.to_thread(_curl, *base, url)
        assert code != 0, out
        code, out = await asyncio.to_thread(
            _curl, *base, "--cert", str(pki.other_cert), "--key", str(pki.other_key), url
        )
        assert code != 0, out
    finally:
        await runner.cleanup()


class _VerifyingContext:
    """smpplib wraps its socket without a server name; this one checks the certificate
    against the test CA for 127.0.0.1, hostname included."""

    def __init__(self, ca: Path) -> None:
        self._context = ssl.create_default_context(cafile=str(ca))

    def wrap_socket(self, sock: Any) -> ssl.SSLSocket:
        return self._context.wrap_socket(sock, server_hostname="127.0.0.1")


def _smpp_over_tls(port: int, ca: Path) -> tuple[int, str]:
    client = smpplib.client.Client(
        "127.0.0.1",
        port,
        timeout=10,
        allow_unknown_opt_params=True,
        ssl_context=_VerifyingContext(ca),
    )
    client.connect()
    try:
        client.bind_transceiver(system_id="acme", password="pw-12345")
        client.send_pdu(
            smpplib.smpp.make_pdu(
                "submit_sm",
                client=client,
                source_addr="ACME",
                destination_addr="79034567890",
                short_message=b"over TLS",
            )
        )
        resp = client.read_pdu()
        message_id = resp.message_id
        return int(resp.status), message_id.decode() if isinstance(message_id, bytes) else ""
    finally:
        client.disconnect()


async def test_an_smpp_client_binds_and_submits_over_tls(core: Any, pki: Pki) -> None:
    gateway = SmppGateway(
        SmppGatewaySettings(
            smpp_port=0,
            smpp_tls_port=free_port(),
            smpp_tls_cert=str(pki.server_cert),
            smpp_tls_key=str(pki.server_key),
        ),
        core,
    )
    await gateway.start()
    try:
        status, message_id = await asyncio.to_thread(_smpp_over_tls, gateway.tls_port, pki.ca)
        assert status == 0
        assert message_id.isdigit()
    finally:
        await gateway.stop()


def test_tls_settings_that_cannot_work_are_refused_at_start_up(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RCS_REST_TLS_PORT needs RCS_REST_TLS_CERT"):
        RestSettings(rest_tls_port=8443)
    with pytest.raises(ValueError, match="RCS_SMPP_TLS_PORT needs RCS_SMPP_TLS_CERT"):
        SmppGatewaySettings(smpp_tls_port=3775)
    with pytest.raises(TlsConfigError, match="does not exist"):
        server_context(str(tmp_path / "missing.pem"), str(pki.server_key))
    with pytest.raises(TlsConfigError, match="do not load"):
        server_context(str(pki.server_cert), str(pki.client_key))  # not its key
