"""The declared read contract of settings (migration 0090): routing and the connector read
core's settings only through the settings_read views. Core's own tables are moved out of
their reach (another schema: the views follow, unqualified names no longer resolve) and
both readers must still load the same settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import psycopg
import pytest

from rcs_connectors import interfaces
from rcs_messengers import provider_interfaces
from rcs_routing.storage import load_table
from tests.support import seed_demo

pytestmark = pytest.mark.integration


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


async def _hide_core_tables(conn: psycopg.AsyncConnection) -> list[str]:
    """Move every table of the public schema into core_private; returns their names."""
    cur = await conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    )
    tables = [row[0] for row in await cur.fetchall()]
    await conn.execute("CREATE SCHEMA core_private")
    for table in tables:
        await conn.execute(
            psycopg.sql.SQL("ALTER TABLE public.{} SET SCHEMA core_private").format(
                psycopg.sql.Identifier(table)
            )
        )
    return tables


async def test_routing_and_connector_read_settings_only_through_the_views(
    conn: psycopg.AsyncConnection, database_url: str
) -> None:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)
    await conn.execute(
        "INSERT INTO routing_rules (name, priority, action, sender) VALUES ('no-spam', 1,"
        " 'reject', 'SPAM')"
    )
    table = await load_table(conn)
    revision, binds = await interfaces.load(database_url)
    await conn.execute(
        "INSERT INTO messenger_interfaces (id, channel, api_url, token) VALUES"
        " ('viber-a', 3, 'http://127.0.0.1:1', 't')"
    )
    providers = await provider_interfaces.load(database_url)
    assert [p.id for p in providers[1]] == ["viber-a"]
    route = table.resolve("79001234567", "ACME")
    assert binds
    assert route.found
    assert route.interface_id

    hidden = await _hide_core_tables(conn)
    assert {"directions", "interfaces", "routing_rules", "settings_revision"} <= set(hidden)
    with pytest.raises(psycopg.errors.UndefinedTable):
        await conn.execute("SELECT 1 FROM directions")

    after = await load_table(conn)
    assert after.revision == table.revision == revision
    assert after.resolve("79001234567", "ACME") == route
    assert after.resolve("79001234567", "SPAM").rule == "no-spam"
    assert await interfaces.load(database_url) == (revision, binds)
    assert await provider_interfaces.load(database_url) == providers
