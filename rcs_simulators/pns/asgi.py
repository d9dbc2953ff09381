"""The ASGI application hypercorn serves APNs with (HTTP/2 + TLS), and the control API
under /control (GET stats and recent requests, POST tokens / failures / reset) that both
ports answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from rcs_simulators.pns.services import Answer, Services
from rcs_simulators.pns.settings import STATES
from rcs_simulators.pns.state import PROVIDERS, Failure

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def control(services: Services, method: str, path: str, query: str, body: bytes) -> Answer:
    state = services.state
    if method == "GET" and path == "/control/stats":
        return 200, {}, dict(state.counts)
    if method == "GET" and path == "/control/requests":
        provider = query.partition("provider=")[2].split("&")[0]
        if provider not in PROVIDERS:
            return 400, {}, {"error": f"provider is one of {', '.join(PROVIDERS)}"}
        return 200, {}, {"requests": list(state.recent[provider])}
    if method != "POST":
        return 404, {}, {"error": "no such control endpoint"}
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return 400, {}, {"error": "body must be JSON"}
    if path == "/control/reset":
        state.reset()
        return 200, {}, {"ok": True}
    if path == "/control/tokens" and isinstance(data, dict):
        bad = {v for v in data.values() if v not in STATES}
        if bad:
            return 400, {}, {"error": f"states are {', '.join(STATES)}"}
        state.tokens.update({str(k): str(v) for k, v in data.items()})
        return 200, {}, {"ok": True}
    if path == "/control/failures" and isinstance(data, dict):
        provider = str(data.get("provider", ""))
        if provider not in PROVIDERS or not isinstance(data.get("status"), int):
            return 400, {}, {"error": f"need provider ({', '.join(PROVIDERS)}) and status"}
        retry = data.get("retryAfter")
        failure = Failure(
            int(data["status"]), str(data.get("reason", "")), int(retry) if retry else None
        )
        state.fail(provider, failure, int(data.get("count", 1)))
        return 200, {}, {"ok": True}
    return 404, {}, {"error": "no such control endpoint"}


def build_asgi(services: Services, *, answer_delay: float = 0.0) -> Callable[..., Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            event = await receive()
            chunks.append(event.get("body", b""))
            if not event.get("more_body"):
                break
        body = b"".join(chunks)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path: str = scope["path"]
        if path.startswith("/control/"):
            status, extra, answer = control(
                services, scope["method"], path, scope["query_string"].decode(), body
            )
        else:
            if answer_delay:
                await asyncio.sleep(answer_delay)
            status, extra, answer = services.handle(scope["method"], path, headers, body)
        payload = b"" if answer is None else json.dumps(answer).encode()
        out = [(k.encode(), v.encode()) for k, v in extra.items()]
        if answer is not None:
            out.append((b"content-type", b"application/json"))
        out.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": payload})

    return app
