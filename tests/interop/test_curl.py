"""Plain curl against a whole installation (every component a process, the simulator as
operator): the partner APIs as a partner would call them from a shell, and the REST v6
delivery report POSTed back to the partner's notifyUrl."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import message_service_pb2_grpc
from tests.e2e.installation import ADMIN_LOGIN, ADMIN_PASSWORD, Installation, wait_until

pytestmark = pytest.mark.e2e


def curl(*args: str) -> tuple[int, str]:
    """(HTTP status, body) of one curl call."""
    binary = shutil.which("curl")
    if binary is None:
        pytest.fail("curl is not installed: scripts/test-services.sh installs it")
    done = subprocess.run(
        [binary, "-s", "-S", "--max-time", "10", "-w", "\n%{http_code}", *args],
        capture_output=True,
        check=True,
    )
    body, _, code = done.stdout.decode("utf-8").rpartition("\n")
    return int(code), body


@pytest.fixture
async def reports() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A partner's report endpoint: (URL, the JSON documents received)."""
    got: list[dict[str, Any]] = []

    async def take(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/dlr", take)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/dlr", got
    await runner.cleanup()


@pytest.fixture
def running(installation: Installation) -> Installation:
    installation.start()
    installation.wait_ready()
    return installation


async def test_rest_v6_send_and_its_report_to_notify_url(
    running: Installation, reports: tuple[str, list[dict[str, Any]]]
) -> None:
    url, got = reports
    request = {
        "login": "demo",
        "password": "demo",
        "id": "curl-1",
        "destAddr": "79161234567",
        "registeredDelivery": 1,
        "notifyUrl": url,
        "message": {"type": "SMS", "data": {"text": "Привет из curl", "serviceNumber": "RCS"}},
    }
    code, body = await asyncio.to_thread(
        curl,
        "-X",
        "POST",
        running.url("/api/v6/send"),
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps(request, ensure_ascii=False),
    )
    assert code == 200, body
    answer = json.loads(body)
    assert answer["id"] == "curl-1"
    assert await wait_until(lambda: got, within=20), running.logs()
    (report,) = got
    assert (report["mtNum"], report["id"], report["status"]) == (answer["mtNum"], "curl-1", 2)
    assert (report["destAddr"], report["sourceAddr"]) == ("79161234567", "RCS")
    assert report["text"] == "Привет из curl"
    bad = dict(request, destAddr="12")
    code, body = await asyncio.to_thread(
        curl,
        "-X",
        "POST",
        running.url("/api/v6/send"),
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps(bad),
    )
    assert (code, json.loads(body)["error"]["code"]) == (406, 8), body  # destAddr incorrect


async def test_http_v5_get_as_xml_and_a_windows_1251_form(
    running: Installation, tmp_path: Path
) -> None:
    code, body = await asyncio.to_thread(
        curl,
        running.url(
            "/api/http/v5/send?serviceId=demo&pass=demo&clientId=79161234567"
            "&message=Hello&source=RCS&ptag=dep-7&output=xml"
        ),
    )
    assert code == 200, body
    root = ET.fromstring(body)
    assert root.findtext("code") == "200"
    assert (root.findtext("payload/id") or "").isdigit()
    form = b"serviceId=demo&pass=demo&clientId=79161234567&source=RCS&message=" + (
        "Код 1234".encode("cp1251").replace(b" ", b"+")
    )
    (tmp_path / "form").write_bytes(form)  # the raw cp1251 octets, as a file
    code, body = await asyncio.to_thread(
        curl,
        running.url("/api/http/v5/send"),
        "-H",
        "Content-Type: application/x-www-form-urlencoded; charset=windows-1251",
        "--data-binary",
        f"@{tmp_path / 'form'}",
    )
    assert code == 200, body
    status, text = body.split("\n", 1)
    assert status == "OK"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.ports['core']}") as channel:
        stub = message_service_pb2_grpc.MessageServiceStub(channel)
        got = await stub.GetMessage(ms.GetMessageRequest(message_id=text.strip()))
    assert got.message.sms.text == "Код 1234"
    assert got.message.ptag == ""


async def test_rest_batch_with_an_api_key_made_over_the_admin_api(running: Installation) -> None:
    code, body = await asyncio.to_thread(
        curl,
        "-X",
        "POST",
        "-u",
        f"{ADMIN_LOGIN}:{ADMIN_PASSWORD}",
        running.url("/api/admin/v1/partners/demo/api-keys"),
        "-H",
        "Content-Type: application/json",
        "-d",
        "{}",
    )
    assert code == 201, body
    key = json.loads(body)["key"]
    batch = {
        "messages": [
            {"from": "RCS", "to": "79161234567", "text": "Code: 1234", "id": "o-1"},
            {"from": "RCS", "to": "12", "text": "Code: 1234"},
        ]
    }
    code, body = await asyncio.to_thread(
        curl,
        running.url("/api/batch/v3/messages"),
        "-H",
        f"Authorization: Key {key}",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps(batch),
    )
    assert code == 200, body
    ok, refused = json.loads(body)["result"]
    assert (ok["code"], ok["id"]) == ("OK", "o-1")
    assert ok["messageId"].isdigit()
    assert refused["code"] == "REJECTED"
    assert refused["reasons"] == [{"key": "invalid", "ref": "messages[1].to"}]
