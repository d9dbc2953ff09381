"""HTTP edge of the WhatsApp simulator: POST /{version}/{phone-number-id}/messages as the
Cloud API answers it, plus a control API for tests (/sim/...)."""

from __future__ import annotations

import hmac
import json

from aiohttp import web

from rcs_simulators.faults import FAULTS, add_retry_after_control, add_token_control, served
from rcs_simulators.whatsapp.provider import ACCESS_TOKEN, Business, RefusedError, check_request
from rcs_simulators.whatsapp.settings import OUTCOMES

BUSINESS = web.AppKey("business", Business)


def _refused(err: RefusedError) -> web.Response:
    return web.json_response(err.doc(), status=err.http_status)


async def messages_call(request: web.Request) -> web.Response:
    business = request.app[BUSINESS]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), business.access_token.encode()):
        business.faults.append({"to": "", "fault": "token"})
        return _refused(RefusedError(401, ACCESS_TOKEN, "the access token is invalid or expired"))
    if request.match_info["phone_number_id"] != business.phone_number_id:
        return _refused(RefusedError(400, 100, "unknown phone number id"))
    try:
        doc = json.loads(await request.read())
        to, kind = check_request(doc, business.templates)
        outcome = business.outcomes.get(to, business.default_outcome)
        if outcome == "error":
            return web.json_response(
                {"error": {"message": "internal error", "code": 1}}, status=500
            )
        if outcome in FAULTS:
            return await _fault(business, to, outcome)
        wamid = business.send(doc, to, kind)
    except ValueError:
        return _refused(RefusedError(400, 100, "the body is not JSON"))
    except RefusedError as err:
        return _refused(err)
    answer: dict[str, object] = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": doc["to"], "wa_id": to}],
        "messages": [
            {"id": wamid, **({"message_status": "accepted"} if kind == "template" else {})}
        ],
    }
    return web.json_response(answer)


async def _fault(business: Business, to: str, fault: str) -> web.Response:
    await served(business.faults, to, fault)
    if fault == "throttled":  # the Cloud API's throughput limit
        return web.json_response(
            {"error": {"message": "Rate limit hit", "code": 130429}},
            status=429,
            headers={"Retry-After": business.retry_after},
        )
    return web.json_response({"error": {"message": "gateway timeout", "code": 2}}, status=504)


async def faults(request: web.Request) -> web.Response:
    return web.json_response(request.app[BUSINESS].faults)


async def received(request: web.Request) -> web.Response:
    return web.json_response(request.app[BUSINESS].received)


async def notifications(request: web.Request) -> web.Response:
    return web.json_response(request.app[BUSINESS].notifications)


async def set_outcomes(request: web.Request) -> web.Response:
    doc = await request.json()
    if not isinstance(doc, dict) or set(doc.values()) - set(OUTCOMES):
        raise web.HTTPBadRequest(text=f"a JSON object number → one of {', '.join(OUTCOMES)}")
    request.app[BUSINESS].outcomes.update(doc)
    return web.json_response({"ok": True})


async def set_sessions(request: web.Request) -> web.Response:
    """{"open": [numbers]} replaces the set of subscribers inside their 24-hour window."""
    doc = await request.json()
    if not isinstance(doc, dict) or not isinstance(doc.get("open"), list):
        raise web.HTTPBadRequest(text='{"open": [number, ...]}')
    business = request.app[BUSINESS]
    business.open_sessions.clear()
    business.open_sessions.update(str(n) for n in doc["open"])
    return web.json_response({"ok": True})


async def reply(request: web.Request) -> web.Response:
    doc = await request.json()
    said = isinstance(doc, dict) and (doc.get("text") or doc.get("image"))
    if not isinstance(doc, dict) or not doc.get("from") or not said:
        raise web.HTTPBadRequest(
            text='{"from": number, "text": ..., "image": URL, "context": wamid}'
        )
    wamid = request.app[BUSINESS].reply(
        str(doc["from"]),
        str(doc.get("text") or ""),
        str(doc.get("context", "")),
        str(doc.get("image") or ""),
    )
    return web.json_response({"id": wamid})


async def media_url(request: web.Request) -> web.Response:
    """GET /{version}/{media-id}: the media's URL (the Cloud API's "Retrieve Media URL")."""
    business = request.app[BUSINESS]
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), business.access_token.encode()):
        return _refused(RefusedError(401, ACCESS_TOKEN, "the access token is invalid or expired"))
    media_id = request.match_info["media_id"]
    url = business.media.get(media_id)
    if url is None:
        return _refused(RefusedError(404, 100, f"unknown media id {media_id}"))
    doc = {"messaging_product": "whatsapp", "url": url, "mime_type": "image/jpeg", "id": media_id}
    return web.json_response(doc)


def build_app(business: Business) -> web.Application:
    app = web.Application()
    app[BUSINESS] = business
    app.router.add_post("/{version}/{phone_number_id}/messages", messages_call)
    app.router.add_get("/sim/messages", received)
    app.router.add_get("/sim/notifications", notifications)
    app.router.add_post("/sim/outcomes", set_outcomes)
    app.router.add_post("/sim/sessions", set_sessions)
    app.router.add_post("/sim/reply", reply)
    app.router.add_get("/sim/faults", faults)
    add_token_control(app, lambda t: setattr(business, "access_token", t))
    add_retry_after_control(app, lambda r: setattr(business, "retry_after", r))
    app.router.add_get("/{version}/{media_id}", media_url)
    return app
