# ruff: noqa: N802 - the RPC methods carry the gRPC service's names, as in *servicer.py
"""SettingsService RPCs of partner channels (rcs_core.settings.partner_channels) and
messenger interfaces (rcs_core.settings.messenger_interfaces): put, delete and list,
versioned like every other entity through the generic writes."""

from __future__ import annotations

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings import writes
from rcs_core.settings.messenger_interfaces import MESSENGER_INTERFACE, keep_secrets
from rcs_core.settings.messenger_interfaces import out as interface_out
from rcs_core.settings.partner_channels import PARTNER_CHANNEL, PartnerChannelState, key_of, out
from rcs_core.settings.policy import SettingsBase, _require
from rcs_core.settings.spec import Conn
from rcs_core.settings.writes import Ctx


class PartnerChannelSettings(SettingsBase):
    async def PutPartnerChannel(
        self, request: ss.PutPartnerChannelRequest, context: Ctx
    ) -> ss.PutPartnerChannelResponse:
        after = PARTNER_CHANNEL.validate(request.partner_channel)

        async def check(conn: Conn, before: PartnerChannelState | None) -> None:
            await _require(conn, "partner", after["partner"], "partner")

        return await writes.put(
            self._pool,
            request,
            ss.PutPartnerChannelResponse,
            PARTNER_CHANNEL,
            after,
            lambda st, rev: ss.PutPartnerChannelResponse(partner_channel=out(st), revision=rev),
            check,
        )

    async def DeletePartnerChannel(
        self, request: ss.DeletePartnerChannelRequest, context: Ctx
    ) -> ss.DeletePartnerChannelResponse:
        return await writes.delete(
            self._pool,
            request,
            ss.DeletePartnerChannelResponse,
            PARTNER_CHANNEL,
            key_of(request.partner, request.channel),
        )

    async def ListPartnerChannels(
        self, request: ss.ListPartnerChannelsRequest, context: Ctx
    ) -> ss.ListPartnerChannelsResponse:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT partner, channel FROM partner_channels WHERE %s = '' OR partner = %s"
                " ORDER BY partner, channel",
                (request.partner, request.partner),
            )
            keys = [key_of(p, c) for p, c in await cur.fetchall()]
            states = [await PARTNER_CHANNEL.read(conn, k) for k in keys]
        return ss.ListPartnerChannelsResponse(
            partner_channels=[out(s) for s in states if s is not None]
        )


class MessengerInterfaceSettings(SettingsBase):
    async def PutMessengerInterface(
        self, request: ss.PutMessengerInterfaceRequest, context: Ctx
    ) -> ss.PutMessengerInterfaceResponse:
        state = MESSENGER_INTERFACE.validate(request.messenger_interface)
        return await writes.put(
            self._pool,
            request,
            ss.PutMessengerInterfaceResponse,
            MESSENGER_INTERFACE,
            state,
            lambda st, rev: ss.PutMessengerInterfaceResponse(
                messenger_interface=interface_out(st), revision=rev
            ),
            merge=keep_secrets,
        )

    async def DeleteMessengerInterface(
        self, request: ss.DeleteMessengerInterfaceRequest, context: Ctx
    ) -> ss.DeleteMessengerInterfaceResponse:
        return await writes.delete(
            self._pool,
            request,
            ss.DeleteMessengerInterfaceResponse,
            MESSENGER_INTERFACE,
            request.id,
        )

    async def ListMessengerInterfaces(
        self, request: ss.ListMessengerInterfacesRequest, context: Ctx
    ) -> ss.ListMessengerInterfacesResponse:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id FROM messenger_interfaces ORDER BY channel, priority, id"
            )
            keys = [row[0] for row in await cur.fetchall()]
            states = [await MESSENGER_INTERFACE.read(conn, k) for k in keys]
        return ss.ListMessengerInterfacesResponse(
            messenger_interfaces=[interface_out(s) for s in states if s is not None]
        )
