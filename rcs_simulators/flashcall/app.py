"""HTTP edge of the FlashingCall simulator: POST /apps/flash/calls/flash as the provider
answers it, and a control API for tests (/sim/...)."""

from __future__ import annotations

import asyncio
import hmac
import json

from aiohttp import web

from rcs_simulators.control import add_control
from rcs_simulators.flashcall.provider import AUTH_REQUIRED, Provider, RefusedError
from rcs_simulators.flashcall.settings import OUTCOMES

PROVIDER = web.AppKey("provider", Provider)


def _error(http_status: int, code: int, reason: str) -> web.Response:
    return web.json_response({"errorCode": code, "errorReason": reason}, status=http_status)


async def flash(request: web.Request) -> web.Response:
    provider = request.app[PROVIDER]
    given = request.headers.get("X-Authorization") or request.query.get("X-Authorization", "")
    key = given[len("AccessKey ") :] if given.startswith("AccessKey ") else ""
    if not key or not hmac.compare_digest(key.encode(), provider.key.encode()):
        return _error(401, AUTH_REQUIRED, "Authentication required")
    try:
        doc = json.loads(await request.read())
    except ValueError:
        return _error(400, 10, "Invalid request: the body is not JSON")
    if provider.answer_delay:
        await asyncio.sleep(provider.answer_delay)
    if isinstance(doc, dict) and provider.outcome(str(doc.get("number"))) == "error":
        return web.json_response({"errorReason": "internal error"}, status=500)
    try:
        request_id, caller = provider.call(doc)
    except RefusedError as err:
        return _error(err.http_status, err.code, str(err))
    return web.json_response({"requestId": request_id, "from": caller})


def build_app(provider: Provider) -> web.Application:
    app = web.Application()
    app[PROVIDER] = provider
    app.router.add_post("/apps/flash/calls/flash", flash)
    add_control(
        app,
        lists={
            "calls": lambda: provider.calls,
            "callbacks": lambda: provider.callbacks,
            "stats": lambda: {"sent": len(provider.calls), "repeats": provider.repeats},
        },
        outcomes=provider.outcomes,
        allowed=OUTCOMES,
    )
    return app
