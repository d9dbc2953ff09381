"""A fake core on a real gRPC port and the REST gateway on a real HTTP port."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from gateways.rest.app import build_app
from gateways.rest.settings import RestSettings
from rcs_runtime.grpc_client import open_channel
from tests.unit.rest.fakes import FakeCore

Client = TestClient[web.Request, web.Application]
PASSWORDS = {"acme": "s3cret", "other": "pw-2"}


@contextlib.asynccontextmanager
async def gateway(target: str, **settings: Any) -> AsyncIterator[Client]:
    """The app from ``build_app`` on 127.0.0.1, an ephemeral port, against ``target``."""
    channel = open_channel(target)
    app = build_app(RestSettings(core_target=target, **settings), channel)
    client: Client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await channel.close()


@pytest.fixture
async def core() -> AsyncIterator[FakeCore]:
    fake = FakeCore(dict(PASSWORDS))
    await fake.server.start()
    yield fake
    await fake.server.stop(0)


@pytest.fixture
async def client(core: FakeCore) -> AsyncIterator[Client]:
    async with gateway(core.target, rpc_timeout_seconds=5) as c:
        yield c


def sms_body(**overrides: Any) -> dict[str, Any]:
    """A valid v6 body for partner acme; keyword arguments replace top-level fields,
    ``data`` entries replace message/data fields (None removes a field)."""
    data: dict[str, Any] = {"text": "Hello", "serviceNumber": "RCS"}
    for key, value in overrides.pop("data", {}).items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    body: dict[str, Any] = {
        "login": "acme",
        "password": "s3cret",
        "destAddr": "79161234567",
        "message": {"type": "SMS", "data": data},
    }
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


async def post_send(
    client: Client,
    body: Any,
    *,
    content_type: str = "application/json",
    charset: str = "utf-8",
) -> tuple[ClientResponse, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode(charset)
    resp = await client.post("/api/v6/send", data=raw, headers={"Content-Type": content_type})
    return resp, json.loads(await resp.read())
