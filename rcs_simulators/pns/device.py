"""The simulated devices: a push accepted for a valid token is confirmed to rpns's SDK
endpoint after a short delay (delivered), and opened for a share of them — the path a real
app's receipts take."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import httpx

log = logging.getLogger(__name__)


class Devices:
    def __init__(
        self,
        sdk_url: str,
        *,
        delay_ms: tuple[int, int],
        open_ratio: float,
        rng: random.Random | None = None,
        on_confirmed: Callable[[str], None] = lambda _: None,
    ) -> None:
        self._sdk = sdk_url.rstrip("/")
        self._delay = delay_ms
        self._open_ratio = open_ratio
        self._rng = rng or random.Random()
        self._client = httpx.AsyncClient(timeout=10) if sdk_url else None
        self._tasks: set[asyncio.Task[None]] = set()
        self._on_confirmed = on_confirmed  # "delivered" or "opened", for the stats

    def push(self, token: str, push_id: str) -> None:
        if self._client is None:
            return
        task = asyncio.get_running_loop().create_task(self._confirm(token, push_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _confirm(self, token: str, push_id: str) -> None:
        await asyncio.sleep(self._rng.uniform(*self._delay) / 1000)
        if not await self._post(push_id, "delivered", token):
            return
        self._on_confirmed("delivered")
        if self._rng.random() < self._open_ratio:
            await asyncio.sleep(self._rng.uniform(*self._delay) / 1000)
            if await self._post(push_id, "opened", token):
                self._on_confirmed("opened")

    async def _post(self, push_id: str, what: str, token: str) -> bool:
        assert self._client is not None
        url = f"{self._sdk}/api/sdk/v1/pushes/{push_id}/{what}"
        for attempt in range(3):  # the SDK retries a receipt it could not send
            try:
                response = await self._client.post(url, json={"token": token})
            except httpx.HTTPError as err:
                log.warning("device_receipt_failed", extra={"error": type(err).__name__})
            else:
                if response.status_code < 500:
                    return response.status_code == 200
            await asyncio.sleep(0.5 * (attempt + 1))
        return False

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
