"""The REST gateway process (``gateways.rest.__main__.serve``: its listening site and
timeouts) against real core servicers on PostgreSQL, driven over raw sockets: bodies that
arrive in pieces are read whole on every API, slow clients are closed, connections beyond
the limit are refused, and hostile input (deep nesting, huge numbers) gets the documented
4xx, never a 500."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from gateways.rest.__main__ import serve
from gateways.rest.settings import RestSettings
from rcs.core.v1 import auth_service_pb2_grpc, message_service_pb2_grpc, settings_service_pb2_grpc
from rcs_core.auth.servicer import AuthServicer
from rcs_core.messages.servicer import MessageServicer
from rcs_core.settings.servicer import SettingsServicer
from tests.conftest import free_port
from tests.support import start_server, upsert_admin

pytestmark = pytest.mark.integration
ADMIN = {"Authorization": "Basic " + base64.b64encode(b"root:correct horse").decode()}
ADMIN_API = "/api/admin/v1"


@dataclass
class Gateway:
    port: int
    key: str  # acme's REST_BATCH API key

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def running(
    pool: Any, database_url: str, max_queue_depth: int = 0, **settings: Any
) -> AsyncIterator[Gateway]:
    await upsert_admin(database_url, "root", "correct horse")
    messages = MessageServicer(pool, installation_id=7, max_queue_depth=max_queue_depth)
    core = await start_server(
        lambda s: settings_service_pb2_grpc.add_SettingsServiceServicer_to_server(
            SettingsServicer(pool), s
        ),
        lambda s: auth_service_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(pool), s),
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(messages, s),
    )
    port = free_port()
    target = f"127.0.0.1:{core.port}"
    task = asyncio.create_task(
        serve(RestSettings(rest_port=port, core_target=target, routing_target=target, **settings))
    )
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    async with http.get("/livez"):
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
            async with http.post(
                f"{ADMIN_API}/partners",
                json={"partner": {"login": "acme", "defaultSender": "ACME"}, "password": "pw-1"},
                headers=ADMIN,
            ) as resp:
                assert resp.status == 201, await resp.text()
            async with http.post(
                f"{ADMIN_API}/partners/acme/api-keys", json={"note": "t"}, headers=ADMIN
            ) as resp:
                key = (await resp.json())["key"]
        yield Gateway(port, key)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await core.stop(0)
        await messages.close()


@pytest.fixture
async def gw(pool: Any, database_url: str) -> AsyncIterator[Gateway]:
    async with running(pool, database_url) as g:
        yield g


async def exchange(
    port: int, *pieces: bytes, pause: float = 0.3, wait: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """Send ``pieces`` over one raw connection, ``pause`` apart; read the answer until the
    server closes or ``wait`` ends. Returns status, headers (lower-case) and body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i, piece in enumerate(pieces):
            if i:
                await writer.drain()
                await asyncio.sleep(pause)
            writer.write(piece)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in filter(None, lines):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), wait)
        return int(status_line.split()[1]), headers, body
    finally:
        writer.close()


def request(method: str, path: str, body: bytes, content_type: str, **headers: str) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def halves(data: bytes) -> tuple[bytes, bytes, bytes]:
    """Headers with the first part of the body, the middle, the rest: three pieces."""
    cut = len(data) - len(data) // 3
    middle = (cut + len(data)) // 2
    return data[:cut], data[cut:middle], data[middle:]


# -- issue 15 item 2: whole bodies, in pieces, on every API ------------------------------


async def test_a_rest_v6_body_in_pieces_is_read_whole(gw: Gateway) -> None:
    body = json.dumps(
        {
            "login": "acme",
            "password": "pw-1",
            "destAddr": "79161234567",
            "message": {"type": "SMS", "data": {"text": "x" * 500, "serviceNumber": "ACME"}},
        }
    ).encode()
    status, _, answer = await exchange(
        gw.port, *halves(request("POST", "/api/v6/send", body, "application/json"))
    )
    assert status == 200, answer
    assert json.loads(answer)["mtNum"].isdigit()


async def test_an_http_v5_post_body_in_pieces_is_read_whole(gw: Gateway) -> None:
    form = urlencode(
        {"serviceId": "acme", "pass": "pw-1", "clientId": "79161234567", "message": "y" * 500}
    ).encode()
    raw = request("POST", "/api/http/v5/send", form, "application/x-www-form-urlencoded")
    status, _, answer = await exchange(gw.port, *halves(raw))
    assert status == 200, answer
    ok, message_id = answer.decode().split("\n")  # as http_sms.rst answers
    assert (ok, message_id.isdigit()) == ("OK", True), answer


async def test_a_rest_batch_body_in_pieces_is_read_whole(gw: Gateway) -> None:
    """49 KB in three pieces 300 ms apart: was refused "the body is not JSON"."""
    messages = [{"from": "ACME", "to": f"7916{i:07d}", "text": "z" * 400} for i in range(110)]
    body = json.dumps({"messages": messages}).encode()
    assert len(body) > 49_000
    raw = request(
        "POST", "/api/batch/v3/messages", body, "application/json", Authorization=f"Key {gw.key}"
    )
    status, _, answer = await exchange(gw.port, *halves(raw))
    assert status == 200, answer
    results = json.loads(answer)["result"]
    assert [r["code"] for r in results] == ["OK"] * 110


async def test_a_rest_batch_of_3001_in_pieces_is_too_many_messages_not_invalid(
    gw: Gateway,
) -> None:
    messages = [{"from": "ACME", "to": "79161234567", "text": "t"}] * 3001
    body = json.dumps({"messages": messages}).encode()
    raw = request(
        "POST", "/api/batch/v3/messages", body, "application/json", Authorization=f"Key {gw.key}"
    )
    status, _, answer = await exchange(gw.port, *halves(raw))
    assert status == 400, answer
    assert json.loads(answer)["reasons"] == [{"key": "too.many.messages", "ref": "messages"}]


async def test_an_admin_body_in_pieces_is_read_whole(gw: Gateway) -> None:
    body = json.dumps(
        {"partner": {"login": "slow", "defaultSender": "SLOW"}, "password": "p" * 400}
    ).encode()
    raw = request("POST", f"{ADMIN_API}/partners", body, "application/json", **ADMIN)
    status, _, answer = await exchange(gw.port, *halves(raw))
    assert status == 201, answer
    assert "slow" in answer.decode()


# -- issue 15 item 7: slow clients and too many connections --------------------------------


async def closed_by_server(reader: asyncio.StreamReader, within: float = 10) -> bytes:
    """Everything the server sent until it closed the connection (fails if it does not)."""
    return await asyncio.wait_for(reader.read(), within)


async def test_a_client_that_never_finishes_its_headers_is_closed(
    pool: Any, database_url: str
) -> None:
    async with running(pool, database_url, header_timeout_seconds=0.5) as g:
        reader, writer = await asyncio.open_connection("127.0.0.1", g.port)
        writer.write(b"POST /api/v6/send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
        await writer.drain()
        assert await closed_by_server(reader) == b""
        writer.close()
        # One that connects and sends nothing at all, the same.
        reader, writer = await asyncio.open_connection("127.0.0.1", g.port)
        assert await closed_by_server(reader) == b""
        writer.close()


async def test_a_body_that_stops_coming_is_answered_408_and_closed(
    pool: Any, database_url: str
) -> None:
    async with running(pool, database_url, body_timeout_seconds=0.5) as g:
        for path, auth in [
            ("/api/v6/send", {}),
            ("/api/batch/v3/messages", {"Authorization": f"Key {g.key}"}),
            (f"{ADMIN_API}/partners", ADMIN),
        ]:
            head = request("POST", path, b"x" * 100, "application/json", **auth)[:-90]
            reader, writer = await asyncio.open_connection("127.0.0.1", g.port)
            writer.write(head)  # 10 of the 100 bytes announced
            await writer.drain()
            answer = await closed_by_server(reader)
            writer.close()
            assert answer.startswith(b"HTTP/1.1 408 "), (path, answer)
            assert b"did not arrive within 0.5 s" in answer, answer


async def test_connections_beyond_the_limit_are_answered_503_with_retry_after(
    pool: Any, database_url: str
) -> None:
    async with running(pool, database_url, max_connections=3) as g:
        await asyncio.sleep(0.5)  # the fixture's own connections are closed
        idle = [await asyncio.open_connection("127.0.0.1", g.port) for _ in range(3)]
        reader, writer = await asyncio.open_connection("127.0.0.1", g.port)
        answer = await closed_by_server(reader)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503 ")
        assert b"\r\nRetry-After: 1\r\n" in answer
        for _, w in idle:
            w.close()
        await asyncio.sleep(0.5)
        status, _, body = await exchange(g.port, b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (status, body) == (200, b"ok")


# -- issue 15 item 8: hostile input gets the documented 4xx, never a 500 -------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 100_000 + b"1" + b"}" * 100_000


async def test_bodies_nested_100000_deep_are_refused_400(gw: Gateway) -> None:
    batch = {"Authorization": f"Key {gw.key}"}
    for path, auth, body in [
        ("/api/batch/v3/messages", batch, DEEP),
        ("/api/batch/v3/messages", batch, DEEP_OBJECT),
        ("/api/batch/v3/messages", batch, b'{"messages":' + b"[" * 50 + b"]" * 50 + b"}"),
        (f"{ADMIN_API}/partners", ADMIN, DEEP),
        (f"{ADMIN_API}/partners", ADMIN, DEEP_OBJECT),
        (f"{ADMIN_API}/verification-policy", ADMIN, DEEP_OBJECT),
        ("/api/v6/send", {}, DEEP),
    ]:
        method = "PATCH" if path.endswith("policy") else "POST"
        status, _, answer = await exchange(
            gw.port, request(method, path, body, "application/json", **auth)
        )
        assert status == 400, (path, answer[:300])
        assert b"nested" in answer, answer[:300]


async def test_out_of_range_numbers_in_admin_paths_and_queries_are_4xx(gw: Gateway) -> None:
    async with aiohttp.ClientSession(gw.url, headers=ADMIN) as http:
        for method, path, status in [
            ("GET", f"{ADMIN_API}/partners?pageSize={10**20}", 400),
            ("GET", f"{ADMIN_API}/revisions?pageSize=-1", 400),
            ("GET", f"{ADMIN_API}/directions?pageSize=1_0", 400),
            ("POST", f"{ADMIN_API}/revisions/{10**20}:rollback", 404),
            ("POST", f"{ADMIN_API}/revisions/{2**63}:rollback", 404),
            ("DELETE", f"{ADMIN_API}/traffic-policies/{10**20}", 400),
            ("POST", f"{ADMIN_API}/partners/acme/api-keys/{10**20}:revoke", 400),
        ]:
            async with http.request(method, path) as resp:
                answer = await resp.json()
                assert resp.status == status, (path, answer)
                assert answer["error"]["code"] == 4, answer


# -- issue 15 item 3: stored fields within the documented limits ---------------------------


async def test_a_rest_v6_id_beyond_50_characters_is_refused_not_stored(gw: Gateway) -> None:
    """A 3,000-character id overflowed core's index (500 for every partner in the group);
    one of 100,000 was stored and echoed."""
    async with aiohttp.ClientSession(gw.url) as http:
        refs = [("r" * 50, 200), ("r" * 51, 400), ("Ж" * 3000, 400), ("x" * 10**5, 400)]
        for ref, status in refs:
            body = {
                "login": "acme",
                "password": "pw-1",
                "id": ref,
                "destAddr": "79161234567",
                "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
            }
            async with http.post("/api/v6/send", json=body) as resp:
                answer = await resp.json()
            assert resp.status == status, answer
            if status == 400:
                assert answer["error"]["code"] == 4
                assert "id is longer than 50" in answer["extendedDescription"]
            else:
                assert answer["id"] == ref


async def test_a_login_of_3000_random_characters_is_refused_401_not_500(gw: Gateway) -> None:
    """Its failed login was recorded under a key too large for the index (random text does
    not compress)."""
    async with aiohttp.ClientSession(gw.url) as http:
        body = {
            "login": "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000)),
            "password": "pw",
            "destAddr": "79161234567",
            "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
        }
        async with http.post("/api/v6/send", json=body) as resp:
            answer = await resp.json()
        assert resp.status == 401, answer


# -- issue 15 item 6: push-back in each API's documented form ------------------------------

V6_BODY = json.dumps(
    {
        "login": "acme",
        "password": "pw-1",
        "destAddr": "79161234567",
        "message": {"type": "SMS", "data": {"text": "hi", "serviceNumber": "ACME"}},
    }
).encode()
V5_GET = (
    b"GET /api/http/v5/send?serviceId=acme&pass=pw-1&clientId=79161234567&message=hi"
    b" HTTP/1.1\r\nHost: x\r\n\r\n"
)


def batch_request(key: str) -> bytes:
    body = json.dumps({"messages": [{"from": "ACME", "to": "79161234567", "text": "hi"}]})
    return request(
        "POST",
        "/api/batch/v3/messages",
        body.encode(),
        "application/json",
        Authorization=f"Key {key}",
    )


async def test_requests_beyond_the_in_flight_limit_are_pushed_back_429(
    pool: Any, database_url: str
) -> None:
    """Two sends hold the gateway's two slots (their bodies still coming); every API's next
    request is refused at once with Retry-After, in its own form; then all is admitted."""
    async with running(pool, database_url, max_in_flight=2, body_timeout_seconds=20) as g:
        slow = []
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", g.port)
            raw = request("POST", "/api/v6/send", V6_BODY, "application/json")
            writer.write(raw[:-20])
            await writer.drain()
            slow.append((reader, writer, raw[-20:]))
        await asyncio.sleep(0.3)  # both admitted, reading their bodies

        status, headers, answer = await exchange(
            g.port, request("POST", "/api/v6/send", V6_BODY, "application/json")
        )
        assert (status, headers["retry-after"]) == (429, "1"), answer
        assert json.loads(answer)["error"] == {"code": 3, "description": "Too many connections"}
        status, headers, answer = await exchange(g.port, V5_GET)
        assert (status, headers["retry-after"]) == (408, "1"), answer  # http_sms.rst's 408
        status, headers, answer = await exchange(g.port, batch_request(g.key))
        assert (status, headers["retry-after"]) == (429, "1"), answer
        assert json.loads(answer)["code"] == "REJECTED"

        for reader, writer, rest in slow:
            writer.write(rest)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200 "), head
            writer.close()
        status, _, answer = await exchange(
            g.port, request("POST", "/api/v6/send", V6_BODY, "application/json")
        )
        assert status == 200, answer


async def test_a_full_queue_refuses_sends_503_queue_full_with_retry_after(
    pool: Any, database_url: str
) -> None:
    """RCS_MAX_QUEUE_DEPTH 3 and no dispatcher: three are queued, then every API answers
    QUEUE_FULL (never raised before) in its documented form."""
    async with running(pool, database_url, max_queue_depth=3) as g:
        for _ in range(3):
            status, _, answer = await exchange(
                g.port, request("POST", "/api/v6/send", V6_BODY, "application/json")
            )
            assert status == 200, answer
        await asyncio.sleep(1.1)  # the depth is counted at most once a second
        status, headers, answer = await exchange(
            g.port, request("POST", "/api/v6/send", V6_BODY, "application/json")
        )
        assert (status, headers["retry-after"]) == (503, "1"), answer
        doc = json.loads(answer)
        assert doc["error"]["code"] == 1  # "Service is unavailable"
        assert "RCS_MAX_QUEUE_DEPTH 3" in doc["extendedDescription"]
        status, headers, answer = await exchange(g.port, V5_GET)
        assert (status, headers["retry-after"]) == (500, "60"), answer  # "pause one minute"
        status, headers, answer = await exchange(g.port, batch_request(g.key))
        assert (status, headers["retry-after"]) == (503, "1"), answer
        assert json.loads(answer)["reasons"] == [{"key": "unknown", "ref": ""}]


async def test_huge_admin_path_values_are_refused_4xx_never_500(gw: Gateway) -> None:
    """3,000 random characters (they do not compress, so an index cannot hold them) in every
    kind of admin path parameter."""
    huge = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000))
    async with aiohttp.ClientSession(gw.url, headers=ADMIN) as http:
        for method, path, body in [
            ("GET", f"{ADMIN_API}/partners/{huge}", None),
            ("PATCH", f"{ADMIN_API}/partners/{huge}", {"defaultSender": "X"}),
            ("PUT", f"{ADMIN_API}/operators/{huge}", {}),
            ("PUT", f"{ADMIN_API}/interfaces/{huge}", {}),
            ("DELETE", f"{ADMIN_API}/interfaces/{huge}", None),
            ("PUT", f"{ADMIN_API}/directions/{huge}", {}),
            ("DELETE", f"{ADMIN_API}/sender-names/{huge}", None),
            ("PUT", f"{ADMIN_API}/routing-rules/{huge}", {}),
            ("GET", f"{ADMIN_API}/whitelists/{huge}/m", None),
            ("POST", f"{ADMIN_API}/whitelists/acme/{huge}", {"entries": [{"number": "1"}]}),
            ("POST", f"{ADMIN_API}/partners/{huge}/api-keys", {"note": "n"}),
            ("GET", f"{ADMIN_API}/partners?pageToken={huge}", None),
        ]:
            async with http.request(method, path, json=body) as resp:
                text = await resp.text()
                assert 400 <= resp.status < 500, (method, path[:60], resp.status, text[:300])
