"""A process started while its database restarts waits for it instead of exiting: the
schema step (the first thing every core, dispatcher and DWH process does) retries its
connection until the database is back."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from rcs_core.db.migrate import migrate
from tests.e2e.installation import database_down


async def test_migrate_waits_for_a_database_that_comes_back(database_url: str) -> None:
    with database_down(database_url):
        started = asyncio.create_task(migrate(database_url, installation_id=7))
        await asyncio.sleep(1.0)
        assert not started.done()  # refused so far, still waiting
    assert await asyncio.wait_for(started, 30) == []  # already up to date


async def test_a_wrong_database_still_fails_with_its_error(database_url: str) -> None:
    wrong = psycopg.conninfo.make_conninfo(database_url, dbname="rcs_no_such_database")
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        await migrate(wrong, installation_id=7, wait=0.5)
