"""Partner channels and messenger interfaces travel the cluster's settings feed like every
other entity (issue 17): the master's revisions applied on a standby give it the same rows,
secrets included (the standby's messenger service sends with them after a failover)."""

from __future__ import annotations

import psycopg
import pytest

from rcs.common.v1 import channel_pb2
from rcs.core.v1 import settings_service_pb2 as ss
from tests.integration.test_settings_sync import (  # noqa: F401 (fixtures)
    ADMIN,
    Core,
    master,
    pull,
    revision,
    standby,
    standby_url,
)

pytestmark = pytest.mark.integration


async def rows(dsn: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        cur = await conn.execute(
            "SELECT partner, channel, identities, templates::text, default_ttl_seconds"
            " FROM partner_channels ORDER BY 1, 2"
        )
        out = list(await cur.fetchall())
        cur = await conn.execute("SELECT * FROM messenger_interfaces ORDER BY id")
        return out + list(await cur.fetchall())


async def test_standby_gets_partner_channels_and_messenger_interfaces(
    master: Core,  # noqa: F811
    standby: Core,  # noqa: F811
    database_url: str,
    standby_url: str,  # noqa: F811
) -> None:
    start = await revision(standby_url)
    await master.settings.CreatePartner(
        ss.CreatePartnerRequest(actor=ADMIN, partner=ss.Partner(login="acme"), password="pw")
    )
    await master.settings.PutPartnerChannel(
        ss.PutPartnerChannelRequest(
            actor=ADMIN,
            partner_channel=ss.PartnerChannel(
                partner="acme",
                channel=channel_pb2.CHANNEL_WHATSAPP,
                identities=["79001112233"],
                templates=[ss.WhatsappTemplate(name="otp", language="ru", parameter_count=1)],
            ),
        )
    )
    await master.settings.PutMessengerInterface(
        ss.PutMessengerInterfaceRequest(
            actor=ADMIN,
            messenger_interface=ss.MessengerInterface(
                id="wa-1",
                channel=channel_pb2.CHANNEL_WHATSAPP,
                enabled=True,
                api_url="https://graph.facebook.com/v21.0",
                account="1234567890",
                token="secret",
                webhook_secret="app-secret",
            ),
        )
    )
    await pull(master, standby, start)
    assert await revision(standby_url) == await revision(database_url)
    assert await rows(standby_url) == await rows(database_url)
    assert len(await rows(standby_url)) == 2
