"""Provider-side faults a simulator can play for a number, besides its subscribers'
behaviour (tests of retries and failover): ``throttled`` answers the provider's rate-limit
refusal (HTTP 429 with Retry-After: 1 s, or what POST /sim/retry-after set), ``slow``
holds the call past the client's timeout and then refuses it without sending (a gateway
timeout). Each fault served is logged, so a
test can see the client came back; POST /sim/token replaces the account's credential
(revoked, then restored)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

FAULTS = ("throttled", "slow")
SLOW_SECONDS = 5.0
RETRY_AFTER = "1"  # a throttled call's Retry-After until POST /sim/retry-after


async def served(log: list[dict[str, Any]], number: str, fault: str) -> None:
    """Log the fault (with its time: a test checks when the client came back); a slow one
    also waits (the caller then answers 504)."""
    log.append({"to": number, "fault": fault, "at": time.time()})
    if fault == "slow":
        await asyncio.sleep(SLOW_SECONDS)


def _string_control(
    app: web.Application, path: str, key: str, usage: str, set_value: Callable[[str], None]
) -> None:
    """POST ``path`` {key: "<string>"} calls ``set_value`` with it; anything else is 400."""

    async def handle(request: web.Request) -> web.Response:
        doc = await request.json()
        if not isinstance(doc, dict) or not isinstance(doc.get(key), str):
            raise web.HTTPBadRequest(text=usage)
        set_value(doc[key])
        return web.json_response({"ok": True})

    app.router.add_post(path, handle)


def add_token_control(app: web.Application, set_token: Callable[[str], None]) -> None:
    """POST /sim/token {"token": ...}: calls with another credential are refused from now."""
    _string_control(app, "/sim/token", "token", '{"token": "..."}', set_token)


def add_retry_after_control(app: web.Application, set_retry_after: Callable[[str], None]) -> None:
    """POST /sim/retry-after {"retry_after": "5"}: the Retry-After a throttled call is answered
    with from now (delay-seconds or an HTTP-date, RFC 9110 10.2.3)."""
    usage = '{"retry_after": "<seconds or HTTP-date>"}'
    _string_control(app, "/sim/retry-after", "retry_after", usage, set_retry_after)
