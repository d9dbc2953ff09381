"""Routing reloads a new settings revision under traffic, and never routes on a
half-applied one: every decision names the revision it was made on, and that revision's
interface."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import psycopg
import pytest

from rcs_routing.servicer import TableHolder
from tests.support import seed_demo

pytestmark = pytest.mark.integration


async def test_decisions_match_their_revision_while_settings_change(
    pool: Any, database_url: str
) -> None:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO interfaces (id, host, port, system_id, password)"
            " VALUES ('other', '127.0.0.1', 2777, 'rcs', 'x')"
        )
        await conn.commit()
    holder = TableHolder(pool)
    await holder.load()
    watcher = asyncio.create_task(holder.watch(0.05))
    seen: dict[int, set[str]] = {}
    stop = asyncio.Event()

    async def traffic() -> None:
        while not stop.is_set():
            table = holder.table
            assert table is not None
            d = table.resolve("79161234567", "RCS")
            seen.setdefault(d.revision, set()).add(d.interface_id)
            await asyncio.sleep(0)

    async def flip(times: int) -> None:
        for i in range(times):
            target = "other" if i % 2 == 0 else "smsc-sim"
            async with await psycopg.AsyncConnection.connect(database_url) as conn:
                # One transaction: the route and the revision move together.
                await conn.execute("DELETE FROM operator_routes")
                await conn.execute(
                    "INSERT INTO operator_routes (operator_id, interface_id)"
                    " SELECT id, %s FROM operators WHERE name = 'Demo Mobile'",
                    (target,),
                )
                await conn.execute("UPDATE settings_revision SET revision = revision + 1")
                await conn.commit()
            await asyncio.sleep(0.2)
        stop.set()

    first = holder.table.revision if holder.table else 0
    await asyncio.gather(traffic(), flip(6))
    watcher.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watcher
    # Each revision routed to exactly one interface, the one its settings named.
    assert all(len(ifaces) == 1 for ifaces in seen.values()), seen
    for revision, ifaces in seen.items():
        flips = revision - first
        expected = "smsc-sim" if flips % 2 == 0 else "other"
        assert ifaces == {expected}, (revision, ifaces)
    assert len(seen) >= 4  # the reloads happened while traffic ran
