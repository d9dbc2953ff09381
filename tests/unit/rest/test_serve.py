"""The process entry point serves until cancelled and shuts down cleanly."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest

from gateways.rest.__main__ import serve
from gateways.rest.settings import RestSettings
from tests.conftest import free_port
from tests.unit.rest.fakes import FakeCore


async def test_serve_answers_until_cancelled_then_releases_its_port(core: FakeCore) -> None:
    port = free_port()
    settings = RestSettings(rest_port=port, core_target=core.target)
    task = asyncio.create_task(serve(settings))
    url = f"http://127.0.0.1:{port}/healthz"
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(url) as resp:
                    assert (resp.status, await resp.text()) == (200, "ok")
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("serve() did not start listening")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert task.cancelled()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


def test_settings_defaults_match_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REST_HOST", "REST_PORT", "CORE_TARGET", "RPC_TIMEOUT_SECONDS"):
        monkeypatch.delenv(f"RCS_{name}", raising=False)
    monkeypatch.delenv("RCS_AUTH_CACHE_SECONDS", raising=False)
    s = RestSettings()
    assert (s.rest_host, s.rest_port, s.core_target) == ("127.0.0.1", 8080, "127.0.0.1:50051")
    assert (s.rpc_timeout_seconds, s.auth_cache_seconds) == (10, 30)


def test_settings_come_from_rcs_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCS_REST_PORT", "9191")
    monkeypatch.setenv("RCS_AUTH_CACHE_SECONDS", "0")
    s = RestSettings()
    assert (s.rest_port, s.auth_cache_seconds) == (9191, 0)
