"""HTTP edge of the Viber simulator: /pa/send_message as Viber answers it (HTTP 200 with a
status code in the body), plus a control API for tests (/sim/...)."""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from rcs_simulators.viber.provider import (
    INVALID_AUTH_TOKEN,
    OK,
    STATUS_MESSAGES,
    Account,
    RefusedError,
    check_request,
)
from rcs_simulators.viber.settings import OUTCOMES

ACCOUNT = web.AppKey("account", Account)


def _answer(status: int, detail: str = "", token: int | None = None) -> web.Response:
    doc: dict[str, object] = {"status": status, "status_message": detail or STATUS_MESSAGES[status]}
    if token is not None:
        doc["message_token"] = token
    return web.json_response(doc)


async def send_message(request: web.Request) -> web.Response:
    account = request.app[ACCOUNT]
    given = request.headers.get("X-Viber-Auth-Token", "")
    if not hmac.compare_digest(given.encode(), account.token.encode()):
        return _answer(INVALID_AUTH_TOKEN)
    try:
        doc = json.loads(await request.read())
        receiver, ttl = check_request(doc)
    except ValueError:
        return _answer(3, "the body is not JSON")
    except RefusedError as err:
        return _answer(err.status, str(err))
    if account.outcomes.get(receiver, account.default_outcome) == "error":
        return web.json_response({"status_message": "internal error"}, status=500)
    status, token = account.send(doc, receiver, ttl)
    return _answer(status, token=token) if status == OK else _answer(status)


async def messages(request: web.Request) -> web.Response:
    return web.json_response(request.app[ACCOUNT].received)


async def callbacks(request: web.Request) -> web.Response:
    return web.json_response(request.app[ACCOUNT].callbacks)


async def set_outcomes(request: web.Request) -> web.Response:
    doc = await request.json()
    if not isinstance(doc, dict) or set(doc.values()) - set(OUTCOMES):
        raise web.HTTPBadRequest(text=f"a JSON object number → one of {', '.join(OUTCOMES)}")
    request.app[ACCOUNT].outcomes.update(doc)
    return web.json_response({"ok": True})


async def reply(request: web.Request) -> web.Response:
    doc = await request.json()
    said = isinstance(doc, dict) and (doc.get("text") or doc.get("image"))
    if not isinstance(doc, dict) or not doc.get("from") or not said:
        raise web.HTTPBadRequest(
            text='{"from": number, "text": ..., "image": URL, "tracking_data": ...}'
        )
    request.app[ACCOUNT].reply(
        str(doc["from"]),
        str(doc.get("text") or ""),
        str(doc.get("tracking_data", "")),
        str(doc.get("image") or ""),
    )
    return web.json_response({"ok": True})


def build_app(account: Account) -> web.Application:
    app = web.Application()
    app[ACCOUNT] = account
    app.router.add_post("/pa/send_message", send_message)
    app.router.add_get("/sim/messages", messages)
    app.router.add_get("/sim/callbacks", callbacks)
    app.router.add_post("/sim/outcomes", set_outcomes)
    app.router.add_post("/sim/reply", reply)
    return app
