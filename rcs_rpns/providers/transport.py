"""The one I/O seam of the push service clients: POST bytes, get (status, headers, body).

FCM, HMS and RuStore speak HTTP/1.1: aiohttp, whose C parser costs a fraction of the CPU
per request of httpx + h11 (pure Python), which dominated rpns's profile. APNs needs
HTTP/2 over TLS, which aiohttp has not: h2 on asyncio (http2.py)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # case-insensitive (both libraries' header maps are)
    body: bytes


class TransportError(Exception):
    """The request got no answer (connect, TLS, timeout, reset): ``kind`` names it."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Transport(Protocol):
    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply: ...

    async def close(self) -> None: ...


class Http1:
    """aiohttp: a keep-alive pool of ``connections`` per process."""

    def __init__(self, *, ssl_context: ssl.SSLContext | bool, timeout: float, connections: int):
        self._ssl = ssl_context
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._connections, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, skip_auto_headers=("User-Agent",)
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        try:
            async with self._open().post(url, data=body, headers=headers) as r:
                return Reply(r.status, r.headers, await r.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise TransportError(type(err).__name__) from err

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
