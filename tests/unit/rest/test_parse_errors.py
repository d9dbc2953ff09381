"""Nothing a partner sends reaches a log unmasked, whatever layer fails (issue 14, item 5):
an over-long HTTP v5 URL used to make aiohttp log and echo
``serviceId=demo&pass=demo&clientId=79161234567&message=…``. Over a real socket, with the
gateway's own runner and log formatter."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from gateways.rest.parse_errors import PartnerSafeRunner
from rcs_runtime.logging import JsonFormatter, RedactingFormatter
from rcs_runtime.redact import redact
from tests.conftest import free_port

SECRET_URL = (
    "/api/http/v5/send?serviceId=demo&pass=hunter2&clientId=79161234567&message="
    + "Secret+text+" * 1000
)


@pytest.fixture
async def served() -> AsyncIterator[tuple[int, io.StringIO]]:
    """A gateway app behind PartnerSafeRunner, and every log line it writes (JSON)."""
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    app = web.Application()

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="OK\n1")

    app.router.add_get("/api/http/v5/send", ok)
    runner = PartnerSafeRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield port, lines
    await runner.cleanup()
    root.removeHandler(handler)


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def test_an_over_long_v5_url_is_answered_414_and_logged_masked(
    served: tuple[int, io.StringIO],
) -> None:
    port, lines = served
    answer = await _raw(port, f"GET {SECRET_URL} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"414"  # HTTP/1.0: the request line was never read
    assert b"text/plain" in head
    assert body.decode() == (
        "Message is too long, the request line is too long: send long texts by POST"
    )
    logged = lines.getvalue()
    assert "http_request_unparsed" in logged
    for secret in ("hunter2", "79161234567", "Secret"):
        assert secret not in logged
        assert secret.encode() not in answer


async def test_a_malformed_header_is_answered_without_echo(
    served: tuple[int, io.StringIO],
) -> None:
    port, lines = served
    answer = await _raw(
        port,
        b"GET /api/http/v5/send?pass=hunter2 HTTP/1.1\r\n"
        b"Host: x\r\nBad Header: 79161234567\r\n\r\n",
    )
    assert answer.split(b" ")[1] == b"400"
    assert b"hunter2" not in answer
    assert b"79161234567" not in answer
    assert "hunter2" not in lines.getvalue()


def test_every_log_line_is_redacted_whatever_logged_it() -> None:
    """A library's exception quoting what was sent, as aiohttp's LineTooLong does."""
    try:
        raise ValueError(
            "b'GET /send?serviceId=demo&pass=hunter2&clientId=79161234567&message=Hi+there'"
            ' {"password": "hunter2", "text": "Hi there"} Authorization: Basic ZGVtbzpkZW1v'
        )
    except ValueError:
        record = logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "failed: %s",
            ("pass=hunter2",),
            sys.exc_info(),
        )
    for formatter in (JsonFormatter(), RedactingFormatter("%(message)s")):
        text = formatter.format(record)
        for secret in ("hunter2", "79161234567", "Hi there", "Hi+there", "ZGVtbzpkZW1v"):
            assert secret not in text, (formatter, text)
        assert "7916*****67" in text
        assert "serviceId=demo" in text  # logins are no secret


def test_message_ids_and_short_numbers_survive_redaction() -> None:
    assert redact("message_id 102400 short 4444 ok") == "message_id 102400 short 4444 ok"
