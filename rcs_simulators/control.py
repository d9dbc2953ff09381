"""What every provider simulator has besides the provider's API: a control API for tests
(/sim/<list>, /sim/stats, POST /sim/outcomes) and its start-up as a process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


def add_control(
    app: web.Application,
    *,
    lists: Mapping[str, Callable[[], Any]],
    outcomes: dict[str, str],
    allowed: tuple[str, ...],
) -> None:
    """GET /sim/<name> for each of ``lists`` (what the simulator got or sent, as JSON) and
    POST /sim/outcomes ({number: outcome}) updating ``outcomes``."""

    def getter(read: Callable[[], Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def get(_: web.Request) -> web.Response:
            return web.json_response(read())

        return get

    async def set_outcomes(request: web.Request) -> web.Response:
        doc = await request.json()
        if not isinstance(doc, dict) or set(doc.values()) - set(allowed):
            raise web.HTTPBadRequest(text=f"a JSON object number → one of {', '.join(allowed)}")
        outcomes.update(doc)
        return web.json_response({"ok": True})

    for name, read in lists.items():
        app.router.add_get(f"/sim/{name}", getter(read))
    app.router.add_post("/sim/outcomes", set_outcomes)


async def run(
    app: web.Application, host: str, port: int, name: str, close: Callable[[], Awaitable[None]]
) -> None:
    """Serve ``app`` until cancelled, then ``close`` the simulator's own tasks."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info(f"{name}_serving", extra={"port": port})
    try:
        await asyncio.Event().wait()
    finally:
        await close()
        await runner.cleanup()
