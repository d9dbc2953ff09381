"""HTTP edge of the Telegram simulator: POST /sendMessage as the Gateway API answers its
calls, plus a control API for tests (/sim/...)."""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from rcs_simulators.faults import FAULTS, add_retry_after_control, add_token_control, served
from rcs_simulators.telegram.provider import Account, RefusedError, check_request
from rcs_simulators.telegram.settings import OUTCOMES

ACCOUNT = web.AppKey("account", Account)


async def send_message(request: web.Request) -> web.Response:
    account = request.app[ACCOUNT]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), account.token.encode()):
        account.faults.append({"to": "", "fault": "token"})
        return web.json_response({"ok": False, "error": "ACCESS_TOKEN_INVALID"}, status=401)
    try:
        doc = json.loads(await request.read())
        phone, ttl = check_request(doc)
        outcome = account.outcomes.get(phone, account.default_outcome)
        if outcome == "error":
            return web.json_response({"ok": False, "error": "INTERNAL"}, status=500)
        if outcome in FAULTS:
            await served(account.faults, phone, outcome)
            if outcome == "throttled":
                wait = account.retry_after  # FLOOD_WAIT_<seconds>; 1 for an HTTP-date
                return web.json_response(
                    {"ok": False, "error": f"FLOOD_WAIT_{wait if wait.isdigit() else 1}"},
                    status=429,
                    headers={"Retry-After": wait},
                )
            return web.json_response({"ok": False, "error": "TIMEOUT"}, status=504)
        status = account.send(doc, phone, ttl)
    except ValueError:
        return web.json_response({"ok": False, "error": "BODY_INVALID"}, status=400)
    except RefusedError as err:
        return web.json_response({"ok": False, "error": str(err)}, status=400)
    return web.json_response({"ok": True, "result": status})


async def faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[ACCOUNT].faults)


async def received(request: web.Request) -> web.Response:
    return web.json_response(request.app[ACCOUNT].received)


async def reports(request: web.Request) -> web.Response:
    return web.json_response(request.app[ACCOUNT].reports)


async def set_outcomes(request: web.Request) -> web.Response:
    doc = await request.json()
    if not isinstance(doc, dict) or set(doc.values()) - set(OUTCOMES):
        raise web.HTTPBadRequest(text=f"a JSON object number → one of {', '.join(OUTCOMES)}")
    request.app[ACCOUNT].outcomes.update(doc)
    return web.json_response({"ok": True})


def build_app(account: Account) -> web.Application:
    app = web.Application()
    app[ACCOUNT] = account
    app.router.add_post("/sendMessage", send_message)
    app.router.add_get("/sim/messages", received)
    app.router.add_get("/sim/reports", reports)
    app.router.add_post("/sim/outcomes", set_outcomes)
    app.router.add_get("/sim/faults", faults)
    add_token_control(app, lambda t: setattr(account, "token", t))
    add_retry_after_control(app, lambda r: setattr(account, "retry_after", r))
    return app
