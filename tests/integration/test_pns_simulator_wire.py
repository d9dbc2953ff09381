"""The PNS simulator's two lean servers on the wire (real sockets, real TLS), and rpns's
HTTP/2 client against them: HTTP/1.1 keep-alive and pipelining answered in order (also when
answers are delayed), a malformed request answered 400 and closed; APNs streams
multiplexed up to the server's limit, a timed-out stream reset while its connection goes on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rcs_rpns.providers.apns import ApnsClient
from rcs_rpns.providers.credentials import ApnsKey
from rcs_rpns.providers.http2 import Http2
from rcs_rpns.providers.transport import TransportError
from rcs_simulators.pns.__main__ import serve
from rcs_simulators.pns.apns_h2 import ApnsH2
from rcs_simulators.pns.certs import make_test_ca
from rcs_simulators.pns.services import Services
from rcs_simulators.pns.settings import PnsSimSettings
from rcs_simulators.pns.state import SimState
from tests.conftest import free_port
from tests.rpns_rig import apns_key_pem, wait_port

TOKEN = "ab" * 32
RUSTORE = "/rustore/v1/projects/p/messages:send"


@contextlib.asynccontextmanager
async def simulator(tmp: Path, delay_ms: int = 0) -> AsyncIterator[PnsSimSettings]:
    s = PnsSimSettings(
        pns_sim_http_port=free_port(),
        pns_sim_apns_port=free_port(),
        pns_sim_cert_dir=tmp / "pns-sim",
        pns_sim_answer_delay_ms=delay_ms,
    )
    task = asyncio.create_task(serve(s))
    await wait_port(s.pns_sim_http_port)
    await wait_port(s.pns_sim_apns_port)
    try:
        yield s
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _exchange(port: int, raw: bytes, answers: int) -> list[tuple[int, dict[str, str], bytes]]:
    """``raw`` written at once; the first ``answers`` HTTP/1.1 answers read back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    found = []
    try:
        for _ in range(answers):
            status_line = await reader.readuntil(b"\r\n")
            headers = {}
            while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                name, _, value = line.decode().partition(":")
                headers[name.lower()] = value.strip()
            body = await reader.readexactly(int(headers["content-length"]))
            found.append((int(status_line.split()[1]), headers, body))
        if headers.get("connection") == "close":
            assert await reader.read() == b""  # and the server closed it
    finally:
        writer.close()
    return found


def _post(path: str, body: dict[str, object], *, auth: str = "") -> bytes:
    data = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nhost: sim\r\ncontent-length: {len(data)}\r\n"
    if auth:
        head += f"authorization: {auth}\r\n"
    return head.encode() + b"\r\n" + data


async def test_pipelined_http1_requests_are_answered_in_order(tmp_path: Path) -> None:
    async with simulator(tmp_path) as s:
        raw = (
            _post("/fcm/v1/projects/p/messages:send", {"message": {"token": "t"}})
            + _post(
                "/rustore/v1/projects/p/messages:send", {"message": {"token": "t"}}, auth="Bearer x"
            )
            + b"GET /control/stats HTTP/1.1\r\nhost: sim\r\n\r\n"
        )
        (fcm, rustore, stats) = await _exchange(s.pns_sim_http_port, raw, 3)
    assert fcm[0] == 401  # no bearer from the token endpoint
    assert json.loads(fcm[2])["error"]["details"][0]["errorCode"] == "UNAUTHENTICATED"
    assert rustore == (200, {"content-type": "application/json", "content-length": "2"}, b"{}")
    assert json.loads(stats[2]) == {"fcm.unauthenticated": 1, "rustore.accepted": 1}


async def test_delayed_answers_keep_their_order_behind_them(tmp_path: Path) -> None:
    async with simulator(tmp_path, delay_ms=100) as s:
        raw = (
            _post(
                "/rustore/v1/projects/p/messages:send", {"message": {"token": "t"}}, auth="Bearer x"
            )
            + b"GET /control/stats HTTP/1.1\r\nhost: sim\r\n\r\n"  # answered at once...
        )
        (rustore, stats) = await _exchange(s.pns_sim_http_port, raw, 2)
    assert rustore[0] == 200  # ...but written after the delayed one before it:
    assert json.loads(stats[2]) == {}  # made before the RuStore answer was


async def test_a_malformed_request_gets_400_and_the_connection_closes(tmp_path: Path) -> None:
    async with simulator(tmp_path) as s:
        ((status, headers, body),) = await _exchange(
            s.pns_sim_http_port, b"POST /fcm HTTP/1.1\r\ncontent-length: x\r\n\r\n", 1
        )
    assert (status, headers["connection"]) == (400, "close")
    assert "malformed HTTP/1.1 request" in json.loads(body)["error"]


async def test_apns_streams_are_multiplexed_on_one_connection(tmp_path: Path) -> None:
    async with simulator(tmp_path) as s:
        ca = ssl.create_default_context(cafile=str(s.pns_sim_cert_dir / "ca.pem"))
        transport = Http2(ssl_context=ca, timeout=10, connections=1)
        client = ApnsClient(transport, f"https://127.0.0.1:{s.pns_sim_apns_port}")
        key = ApnsKey(
            team_id="TEAM123456", key_id="KEY1234567", private_key_pem=apns_key_pem(), topic="t"
        )
        headers = {
            "authorization": f"bearer {client.provider_token(key)}",
            "apns-topic": "t",
            "apns-push-type": "alert",
        }
        url = f"https://127.0.0.1:{s.pns_sim_apns_port}/3/device/{TOKEN}"
        body = b'{"aps": {}, "rpns": {"pushId": "1"}}'
        try:
            replies = await asyncio.gather(
                *(transport.post(url, body, headers) for _ in range(300))
            )
            bad = await transport.post(url, body, {**headers, "apns-push-type": "nope"})
        finally:
            await transport.close()
    assert {r.status for r in replies} == {200}
    assert len({r.headers["apns-id"] for r in replies}) == 300
    assert (bad.status, json.loads(bad.body)) == (400, {"reason": "InvalidPushType"})


async def test_streams_beyond_the_servers_limit_wait_for_room(tmp_path: Path) -> None:
    files = make_test_ca(tmp_path / "ca")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(files.cert, files.key)
    tls.set_alpn_protocols(["h2"])
    services = Services(SimState(), lambda token, push_id: None)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: ApnsH2(services, 0.02, max_streams=2), "127.0.0.1", 0, ssl=tls
    )
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/3/device/{TOKEN}"
    transport = Http2(
        ssl_context=ssl.create_default_context(cafile=str(files.ca)), timeout=10, connections=1
    )
    try:
        replies = await asyncio.gather(*(transport.post(url, b"{}", {}) for _ in range(9)))
    finally:
        await transport.close()
        server.close()
    assert [r.status for r in replies] == [403] * 9  # no provider token, each answered
    assert services.state.counts["apns.MissingProviderToken"] == 9


async def test_a_timed_out_stream_is_reset_and_the_connection_goes_on(tmp_path: Path) -> None:
    async with simulator(tmp_path, delay_ms=300) as s:
        ca = ssl.create_default_context(cafile=str(s.pns_sim_cert_dir / "ca.pem"))
        base = f"https://127.0.0.1:{s.pns_sim_apns_port}"
        transport = Http2(ssl_context=ca, timeout=0.1, connections=1)
        try:
            with pytest.raises(TransportError) as err:
                await transport.post(f"{base}/3/device/{TOKEN}", b"{}", {})
            assert err.value.kind == "Timeout"
            # The control API answers at once: on the same connection, after the reset.
            first = await transport.post(f"{base}/control/tokens", b"{}", {})
            await asyncio.sleep(0.4)  # the delayed answer comes on a reset stream: dropped
            again = await transport.post(f"{base}/control/tokens", b"{}", {})
        finally:
            await transport.close()
        get = b"GET /control/stats HTTP/1.1\r\nhost: sim\r\n\r\n"
        ((_, _, stats),) = await _exchange(s.pns_sim_http_port, get, 1)
    assert (first.status, again.status) == (200, 200)
    assert json.loads(stats) == {"apns.MissingProviderToken": 1}
