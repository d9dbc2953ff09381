"""Provider-side faults a simulator can play for a number, besides its subscribers'
behaviour (tests of retries and failover): ``throttled`` answers the provider's rate-limit
refusal (HTTP 429 with Retry-After), ``slow`` holds the call past the client's timeout and
then refuses it without sending (a gateway timeout). Each fault served is logged, so a
test can see the client came back; POST /sim/token replaces the account's credential
(revoked, then restored)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

FAULTS = ("throttled", "slow")
SLOW_SECONDS = 5.0
RETRY_AFTER_SECONDS = 1


async def served(log: list[dict[str, Any]], number: str, fault: str) -> None:
    """Log the fault; a slow one also waits (the caller then answers 504)."""
    log.append({"to": number, "fault": fault})
    if fault == "slow":
        await asyncio.sleep(SLOW_SECONDS)


def add_token_control(app: web.Application, set_token: Callable[[str], None]) -> None:
    """POST /sim/token {"token": ...}: calls with another credential are refused from now."""

    async def token(request: web.Request) -> web.Response:
        doc = await request.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("token"), str):
            raise web.HTTPBadRequest(text='{"token": "..."}')
        set_token(doc["token"])
        return web.json_response({"ok": True})

    app.router.add_post("/sim/token", token)
