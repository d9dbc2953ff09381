# ruff: noqa: N802 - the RPC methods carry the gRPC service's names, as in *servicer.py
"""SettingsService RPCs of inbound routes: which partner gets the messages subscribers send
(MO) to a number, all of them or those starting with a keyword, and in which format, and
the SMS sessions a route opens (rcs_core.inbound.store routes by them). Put, delete and
list, versioned like every other entity through the generic writes."""

from __future__ import annotations

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings import entities, writes
from rcs_core.settings.policy import SettingsBase, _require
from rcs_core.settings.spec import Conn
from rcs_core.settings.states import InboundRouteState
from rcs_core.settings.writes import Ctx
from rcs_runtime.errors import RcsError, Reason


def _route_out(st: InboundRouteState) -> ss.InboundRoute:
    return ss.InboundRoute(**st)


class InboundRouteSettings(SettingsBase):
    async def PutInboundRoute(
        self, request: ss.PutInboundRouteRequest, context: Ctx
    ) -> ss.PutInboundRouteResponse:
        after = entities.INBOUND_ROUTE.validate(request.route)

        async def check(conn: Conn, before: InboundRouteState | None) -> None:
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

        return await writes.put(
            self._pool,
            request,
            ss.PutInboundRouteResponse,
            entities.INBOUND_ROUTE,
            after,
            lambda st, rev: ss.PutInboundRouteResponse(route=_route_out(st), revision=rev),
            check,
        )

    async def DeleteInboundRoute(
        self, request: ss.DeleteInboundRouteRequest, context: Ctx
    ) -> ss.DeleteInboundRouteResponse:
        return await writes.delete(
            self._pool, request, ss.DeleteInboundRouteResponse, entities.INBOUND_ROUTE, request.name
        )

    async def ListInboundRoutes(
        self, request: ss.ListInboundRoutesRequest, context: Ctx
    ) -> ss.ListInboundRoutesResponse:
        states, next_token = await writes.list_page(
            self._pool, entities.INBOUND_ROUTE, request.page_token, request.page_size
        )
        return ss.ListInboundRoutesResponse(
            routes=[_route_out(s) for s in states], next_page_token=next_token
        )
