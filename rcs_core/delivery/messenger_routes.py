"""Which provider interfaces a messenger channel's messages go to (issue 17): the enabled
messenger interfaces of the channel in priority order (settings_read.messenger_interfaces,
migration 0121), as a route whose first interface is tried first and the others after it
(the messenger service fails over along them as the SMPP connector does along an
operator's interfaces). A channel without any keeps the messenger service's own account.

Read again when the settings revision moves, looked at no more than once a second and only
for batches that hold messenger messages, so SMS dispatch pays nothing."""

from __future__ import annotations

import time

import psycopg

from rcs.routing.v1 import routing_service_pb2

_CHECK_SECONDS = 1.0


class MessengerRoutes:
    def __init__(self, default: routing_service_pb2.Route) -> None:
        self._default = default
        self._revision = -1
        self._checked = -_CHECK_SECONDS
        self._routes: dict[int, routing_service_pb2.Route] = {}

    async def refresh(self, conn: psycopg.AsyncConnection) -> None:
        now = time.monotonic()
        if now - self._checked < _CHECK_SECONDS:
            return
        self._checked = now
        cur = await conn.execute("SELECT revision FROM settings_read.revision")
        row = await cur.fetchone()
        revision = int(row[0]) if row is not None else 0
        if revision == self._revision:
            return
        cur = await conn.execute(
            "SELECT channel, id FROM settings_read.messenger_interfaces WHERE enabled"
            " ORDER BY channel, priority, id"
        )
        by_channel: dict[int, list[str]] = {}
        for channel, interface_id in await cur.fetchall():
            by_channel.setdefault(channel, []).append(interface_id)
        self._routes = {
            channel: routing_service_pb2.Route(
                found=True, interface_id=ids[0], fallback_interface_ids=ids[1:]
            )
            for channel, ids in by_channel.items()
        }
        self._revision = revision

    def route(self, channel: int) -> routing_service_pb2.Route:
        return self._routes.get(channel, self._default)
