"""HTTP edge of the VK simulator: /method/messages.send as VK answers it, and a control
API for tests (/sim/...)."""

from __future__ import annotations

import asyncio
import hmac

from aiohttp import web

from rcs_simulators.control import add_control
from rcs_simulators.vk.community import AUTH_FAILED, Community, VkError
from rcs_simulators.vk.settings import OUTCOMES

COMMUNITY = web.AppKey("community", Community)


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": {"error_code": code, "error_msg": message}})


async def messages_send(request: web.Request) -> web.Response:
    community = request.app[COMMUNITY]
    params = {**request.query, **(await request.post())}
    token = str(params.pop("access_token", ""))
    bearer = request.headers.get("Authorization", "")
    if bearer.startswith("Bearer "):
        token = token or bearer[len("Bearer ") :]
    if not hmac.compare_digest(token.encode(), community.token.encode()):
        return _error(AUTH_FAILED, "User authorization failed: invalid access_token")
    text_params = {k: str(v) for k, v in params.items()}
    if community.answer_delay:
        await asyncio.sleep(community.answer_delay)
    if community.outcome(text_params.get("phone", "")) == "error":
        return web.json_response({"error": "internal error"}, status=500)
    try:
        return web.json_response({"response": community.send(text_params)})
    except VkError as err:
        return _error(err.code, str(err))


async def user_reply(request: web.Request) -> web.Response:
    """POST /sim/reply {"phone" (a number the community wrote to) or "user_id" (anyone),
    "text", "quote" (answer our last message), "photo" (its URL)}: that user writes to
    the community; answers the message_new callback, once the community's server took it."""
    community = request.app[COMMUNITY]
    doc = await request.json()
    if not isinstance(doc, dict):
        raise web.HTTPBadRequest(text="a JSON object: phone or user_id, text, quote, photo")
    user = doc.get("user_id")
    if not isinstance(user, int):
        user = community.user_id_of(str(doc.get("phone") or ""))
    if user is None:
        raise web.HTTPNotFound(text="the community never wrote to that number")
    sent = await community.user_writes(
        user, str(doc.get("text") or ""), bool(doc.get("quote")), str(doc.get("photo") or "")
    )
    return web.json_response(sent)


def build_app(community: Community) -> web.Application:
    app = web.Application()
    app[COMMUNITY] = community
    app.router.add_post("/method/messages.send", messages_send)
    app.router.add_post("/sim/reply", user_reply)
    add_control(
        app,
        lists={
            "messages": lambda: community.received,
            "callbacks": lambda: community.callbacks,
            "stats": lambda: {"sent": len(community.received), "repeats": community.repeats},
        },
        outcomes=community.outcomes,
        allowed=OUTCOMES,
    )
    return app
