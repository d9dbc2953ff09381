"""FCM, HMS, RuStore and /control on the plain-HTTP port, served by aiohttp (its C parser
answers several times the requests per CPU second of hypercorn's pure-Python h11; APNs
needs HTTP/2 + TLS and stays on hypercorn)."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from rcs_simulators.pns.asgi import control
from rcs_simulators.pns.services import Services


def build_plain_app(services: Services, *, answer_delay: float = 0.0) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        if request.path.startswith("/control/"):
            status, extra, answer = control(
                services, request.method, request.path, request.query_string, body
            )
        else:
            if answer_delay:
                await asyncio.sleep(answer_delay)
            headers = {k.lower(): v for k, v in request.headers.items()}
            status, extra, answer = services.handle(request.method, request.path, headers, body)
        if answer is None:
            return web.Response(status=status, headers=extra)
        return web.Response(
            status=status, headers=extra, body=json.dumps(answer), content_type="application/json"
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
