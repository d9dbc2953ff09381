"""The one I/O seam of the push service clients: POST bytes, get (status, headers, body).

FCM, HMS and RuStore speak HTTP/1.1: aiohttp, whose C parser costs a fraction of the CPU
per request of httpx + h11 (pure Python), which dominated rpns's profile. APNs needs
HTTP/2 over TLS, which aiohttp has not: httpx with h2, one multiplexed pool."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx


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


class Http2:
    """httpx with h2: APNs multiplexes many streams on few connections."""

    def __init__(self, *, ssl_context: ssl.SSLContext | bool, timeout: float, connections: int):
        self._client = httpx.AsyncClient(
            http2=True,
            verify=ssl_context,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        try:
            r = await self._client.post(url, content=body, headers=dict(headers))
        except httpx.HTTPError as err:
            raise TransportError(type(err).__name__) from err
        return Reply(r.status_code, r.headers, r.content)

    async def close(self) -> None:
        await self._client.aclose()
