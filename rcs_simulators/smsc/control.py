"""HTTP control of the simulator: GET /stats, POST /mo, POST /reset (loopback only)."""

from __future__ import annotations

from aiohttp import web

from rcs_simulators.smsc.server import Smsc, Stats


def build_control_app(smsc: Smsc) -> web.Application:
    async def stats(_: web.Request) -> web.Response:
        return web.json_response(smsc.stats.as_dict())

    async def reset(_: web.Request) -> web.Response:
        smsc.stats = Stats()
        return web.json_response({"ok": True})

    async def mo(request: web.Request) -> web.Response:
        body = await request.json()
        try:
            source, destination, text = str(body["from"]), str(body["to"]), str(body["text"])
        except (KeyError, TypeError):
            return web.json_response({"error": "need from, to, text"}, status=400)
        await smsc.send_mo(source, destination, text, str(body.get("system_id", "")))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    app.router.add_post("/mo", mo)
    return app
