# ruff: noqa: N802 - the RPC methods carry the gRPC service's names, as in *servicer.py
"""SettingsService RPCs of inbound routes: which partner gets the messages subscribers send
(MO) to a number, all of them or those starting with a keyword, and in which format, and
the SMS sessions a route opens (rcs_core.inbound.store routes by them). Put, delete and
list, versioned like every other entity through PolicySettings' shared shapes."""

from __future__ import annotations

import re
from typing import Any

from rcs.core.v1 import message_service_pb2 as ms
from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.inbound import store as inbound
from rcs_core.settings.policy import _RULE_NAME, Ctx, PolicySettings, _require
from rcs_core.settings.store import INBOUND_ROUTE_DEFAULTS, State
from rcs_runtime.errors import RcsError, Reason

# What an MO can be handed over as: deliver_sm, HTTP v5 GET, REST v6 JSON (not REST_BATCH).
_FORMATS = (ms.REPORT_FORMAT_SMPP, ms.REPORT_FORMAT_HTTP_V5, ms.REPORT_FORMAT_REST_V6)
_MAX_NUMBER = 21  # as a sender name: numbers and service names alike
_MAX_KEYWORD = 200
_MAX_TEXT = 2000  # an SMS text, as core accepts it
_MAX_TIMEOUT = 60
_MAX_SESSION_SECONDS = 86400
# The texts sent to the subscriber, all limited alike.
_TEXTS = ("unavailable_text", "session_open_text", "session_close_text", "session_expired_text")
# What only means something with a session_keyword.
_SESSION_FIELDS = (
    "session_close_keyword",
    "session_seconds",
    "session_open_text",
    "session_close_text",
    "session_expired_text",
)


def _bad_keyword(field: str, keyword: str, message: str, position: int) -> RcsError:
    return RcsError(
        Reason.INVALID_REQUEST,
        f"{field} {keyword!r} is not a regular expression (Python syntax):"
        f" {message} at position {position}",
        field=field,
    )


def _check_keyword(keyword: str, field: str = "keyword") -> None:
    """Refuse, with the error's position, a keyword that routing could not match with."""
    if len(keyword) > _MAX_KEYWORD:
        raise RcsError(
            Reason.INVALID_REQUEST, f"{field} is at most {_MAX_KEYWORD} characters", field=field
        )
    try:  # alone first, so that the position is the keyword's own
        re.compile(keyword, re.IGNORECASE)
    except re.error as err:
        raise _bad_keyword(field, keyword, err.msg, err.pos or 0) from err
    try:  # then as routing matches it: e.g. "(?i)" is refused once not at the start
        inbound.keyword_pattern(keyword)
    except re.error as err:
        position = max(0, (err.pos or 0) - len(inbound.KEYWORD_PREFIX))
        raise _bad_keyword(field, keyword, err.msg, position) from err


def _check_session(r: ss.InboundRoute) -> None:
    """Sessions (http_mo.rst): a session keyword needs a lifetime; without one, the other
    session fields would do nothing, so they are refused rather than silently ignored."""
    _check_keyword(r.session_keyword, "session_keyword")
    _check_keyword(r.session_close_keyword, "session_close_keyword")
    if not 0 <= r.session_seconds <= _MAX_SESSION_SECONDS:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"session_seconds: 1-{_MAX_SESSION_SECONDS}, or 0 without sessions",
            field="session_seconds",
        )
    if r.session_keyword and not r.session_seconds:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"a session_keyword needs session_seconds (1-{_MAX_SESSION_SECONDS}), how long"
            " a session lasts after the subscriber's last message",
            field="session_seconds",
        )
    if not r.session_keyword:
        for name in _SESSION_FIELDS:
            if getattr(r, name):
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    f"{name} works only with a session_keyword: set one, or clear {name}",
                    field=name,
                )


def _route_state(r: ss.InboundRoute) -> dict[str, Any]:
    if not _RULE_NAME.fullmatch(r.name):
        raise RcsError(Reason.INVALID_REQUEST, "name: 1-64 of A-Z a-z 0-9 _ . -", field="name")
    number = inbound.number_key(r.number)  # as messages are matched: without a "+"
    if not 1 <= len(number) <= _MAX_NUMBER:
        raise RcsError(
            Reason.INVALID_REQUEST, f"number: 1-{_MAX_NUMBER} characters", field="number"
        )
    _check_keyword(r.keyword)
    _check_session(r)
    if not r.partner:
        raise RcsError(Reason.INVALID_REQUEST, "a route needs its partner", field="partner")
    if r.format not in _FORMATS:
        raise RcsError(
            Reason.INVALID_REQUEST,
            "format must be REPORT_FORMAT_SMPP, REPORT_FORMAT_HTTP_V5 or REPORT_FORMAT_REST_V6"
            " (1, 2 or 3)",
            field="format",
        )
    for name in _TEXTS:
        text = getattr(r, name)
        if len(text) > _MAX_TEXT or "\x00" in text:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"{name}: at most {_MAX_TEXT} characters, no NUL",
                field=name,
            )
    if not 0 <= r.timeout_seconds <= _MAX_TIMEOUT:
        raise RcsError(
            Reason.INVALID_REQUEST,
            f"timeout_seconds: 1-{_MAX_TIMEOUT}, or 0 for the report sender's",
            field="timeout_seconds",
        )
    return {
        "name": r.name,
        "number": number,
        "keyword": r.keyword,
        "partner": r.partner,
        "format": int(r.format),
        "unavailable_text": r.unavailable_text,
        "timeout_seconds": r.timeout_seconds,
        "session_keyword": r.session_keyword,
        "session_close_keyword": r.session_close_keyword,
        "session_seconds": r.session_seconds,
        "session_open_text": r.session_open_text,
        "session_close_text": r.session_close_text,
        "session_expired_text": r.session_expired_text,
    }


def _route_out(st: dict[str, Any]) -> ss.InboundRoute:
    return ss.InboundRoute(**{**INBOUND_ROUTE_DEFAULTS, **st})


class InboundRouteSettings(PolicySettings):
    async def PutInboundRoute(
        self, request: ss.PutInboundRouteRequest, context: Ctx
    ) -> ss.PutInboundRouteResponse:
        after = _route_state(request.route)

        async def check(conn: Any, before: State) -> None:
            await _require(conn, "partner", after["partner"], "partner")
            # Under the settings lock (_put), so no other writer takes the pair meanwhile.
            cur = await conn.execute(
                "SELECT name FROM inbound_routes WHERE number = %s AND keyword = %s AND name <> %s",
                (after["number"], after["keyword"], after["name"]),
            )
            row = await cur.fetchone()
            if row is not None:
                what = f"keyword {after['keyword']!r}" if after["keyword"] else "no keyword"
                raise RcsError(
                    Reason.INVALID_REQUEST,
                    f"inbound route {row[0]!r} already takes number {after['number']!r} with"
                    f" {what}: change or delete it first",
                    field="keyword",
                )

        return await self._put(
            request,
            ss.PutInboundRouteResponse,
            "inbound_route",
            after["name"],
            after,
            lambda st, rev: ss.PutInboundRouteResponse(route=_route_out(st), revision=rev),
            check,
        )

    async def DeleteInboundRoute(
        self, request: ss.DeleteInboundRouteRequest, context: Ctx
    ) -> ss.DeleteInboundRouteResponse:
        return await self._delete(
            request, ss.DeleteInboundRouteResponse, "inbound_route", request.name
        )

    async def ListInboundRoutes(
        self, request: ss.ListInboundRoutesRequest, context: Ctx
    ) -> ss.ListInboundRoutesResponse:
        states, next_token = await self._list_page(
            "SELECT name FROM inbound_routes WHERE name > %s ORDER BY name LIMIT %s",
            (),
            "inbound_route",
            request.page_token,
            request.page_size,
        )
        return ss.ListInboundRoutesResponse(
            routes=[_route_out(s) for s in states], next_page_token=next_token
        )
