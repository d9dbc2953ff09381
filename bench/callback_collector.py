"""An independent partner endpoint for the callback benchmark: a separate process that
answers every status callback 200 at once (``/hang`` never answers: a partner whose server
hangs) and records when each ``mtNum`` arrived; ``GET /stats`` returns those times.

    .venv/bin/python -m bench.callback_collector PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from aiohttp import web

arrived: dict[str, float] = {}
hung = 0


async def callback(request: web.Request) -> web.Response:
    body = await request.read()
    arrived.setdefault(str(json.loads(body).get("mtNum", "")), time.time())
    return web.Response()


async def hang(request: web.Request) -> web.Response:
    global hung
    hung += 1
    await asyncio.Event().wait()  # never answers; the sender's timeout ends it
    return web.Response()


async def stats(request: web.Request) -> web.Response:
    return web.json_response({"arrived": arrived, "hung": hung})


def main() -> None:
    app = web.Application()
    app.router.add_post("/dlr", callback)
    app.router.add_post("/hang", hang)
    app.router.add_get("/stats", stats)
    web.run_app(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        print=None,
        access_log=None,
        shutdown_timeout=1,  # the hanging requests end with it
    )


if __name__ == "__main__":
    main()
