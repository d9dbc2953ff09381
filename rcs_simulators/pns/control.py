"""The control API under /control (GET stats and recent requests, POST tokens / failures /
reset), which both ports answer: tests set token states and inject failures through it."""

from __future__ import annotations

import json

from rcs_simulators.pns.services import Answer, Services
from rcs_simulators.pns.settings import STATES
from rcs_simulators.pns.state import PROVIDERS, Failure


def control(services: Services, method: str, path: str, query: str, body: bytes) -> Answer:
    state = services.state
    if method == "GET" and path == "/control/stats":
        return 200, {}, dict(state.counts)
    if method == "GET" and path == "/control/requests":
        provider = query.partition("provider=")[2].split("&")[0]
        if provider not in PROVIDERS:
            return 400, {}, {"error": f"provider is one of {', '.join(PROVIDERS)}"}
        recent = [{"headers": h, "body": b.decode()} for h, b in state.recent[provider]]
        return 200, {}, {"requests": recent}
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
