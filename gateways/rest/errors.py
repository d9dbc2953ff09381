"""Rapporto's face of the error catalogue: the error body and its exact descriptions.

Every error goes through ``rcs_runtime.errors``: the catalogue entry gives the HTTP status
and Rapporto's code; this module only renders them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from gateways.rest.pushback import retry_after
from rcs_runtime.errors import CatalogueEntry, RcsError

# Rapporto's descriptions, verbatim (rest_sms.rst, "Коды ошибок отправки").
DESCRIPTIONS: dict[int, str] = {
    1: "Service is unavailable",
    2: "Invalid IP-address",
    3: "Too many connections",
    4: "Invalid request",
    5: "Invalid login",
    6: "Invalid password",
    7: "serviceNumber is not defined",
    8: "destAddr is not correct",
    9: "Message type is not correct",
    10: "Prohibited sending duplicates",
    11: "Invalid TTL",
    100: "100",
}

BASIC_CHALLENGE = 'Basic realm="rcs"'


def error_body(entry: CatalogueEntry, extended: str) -> dict[str, Any]:
    return {
        "error": {
            "code": entry.rest_code,
            "description": DESCRIPTIONS.get(entry.rest_code, entry.summary),
        },
        "extendedDescription": extended or entry.summary,
    }


def error_response(
    entry: CatalogueEntry, extended: str, *, headers: Mapping[str, str] | None = None
) -> web.Response:
    return json_response(error_body(entry, extended), status=entry.http_status, headers=headers)


def response_for(err: RcsError, *, challenge: bool = False) -> web.Response:
    """The response for a catalogued error; ``challenge`` adds WWW-Authenticate to 401s."""
    headers = (
        {"WWW-Authenticate": BASIC_CHALLENGE} if challenge and err.entry.http_status == 401 else {}
    )
    if err.retry_after > 0:  # the delay the refusal names (a throttled login)
        headers["Retry-After"] = retry_after_header(err.retry_after)
    else:  # THROTTLED, QUEUE_FULL, … without one: the default
        headers.update(retry_after(err.entry.http_status))
    return error_response(err.entry, err.message, headers=headers or None)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, rounded up (RFC 9110: delay-seconds)."""
    return str(max(1, math.ceil(seconds)))


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )
