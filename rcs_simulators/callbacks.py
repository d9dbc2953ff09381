"""Callbacks from a simulated provider to its client's webhook, sent again until taken."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx

log = logging.getLogger(__name__)


async def post_until_taken(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    attempts: int,
    retry_seconds: float,
    taken: Callable[[httpx.Response], bool] = lambda r: r.is_success,
) -> bool:
    """POST ``body`` until the webhook takes it (``taken``), at most ``attempts`` times."""
    for _ in range(attempts):
        try:
            r = await http.post(url, content=body, headers=headers)
            if taken(r):
                return True
        except httpx.HTTPError as err:
            log.info("sim_callback_failed", extra={"url": url, "error": str(err)[:200]})
        await asyncio.sleep(retry_seconds)
    log.warning("sim_callback_dropped", extra={"url": url})
    return False
