"""rpns's queue on real PostgreSQL: a claimed delivery is nobody else's for its lease and is
claimed again after it (a sender killed mid-send loses nothing); recorded outcomes move a
push to UNDELIVERED only when every delivery failed."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
import pytest

from rcs_rpns.model import InstallFields, Platform
from rcs_rpns.providers.credentials import Credentials
from rcs_rpns.storage import apps, installs, pushes

pytestmark = pytest.mark.integration


async def _push_to_two_installs(conn: psycopg.AsyncConnection) -> tuple[int, list[str]]:
    app = await apps.put(
        conn, partner="acme", service_number="APP", min_version="", credentials=Credentials()
    )
    ids = [
        (
            await installs.register(
                conn,
                app.id,
                InstallFields(Platform.ANDROID, f"tok-{n}", "79160000001", None),
            )
        ).id
        for n in (1, 2)
    ]
    (push_id,) = await pushes.create(
        conn,
        [
            pushes.NewPush(
                message_id="1",
                interface_id="rpns",
                app_id=app.id,
                content=b"",
                valid_until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                install_ids=ids,
            )
        ],
    )
    await conn.commit()
    return push_id, ids


async def test_a_claimed_delivery_comes_back_after_its_lease(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await _push_to_two_installs(conn)
        first = await pushes.claim(conn, limit=10, lease=0.5)
        assert len(first) == 2
        assert await pushes.claim(conn, limit=10, lease=0.5) == []  # leased
        await asyncio.sleep(0.7)  # the sender that claimed them died
        again = await pushes.claim(conn, limit=10, lease=0.5)
        assert sorted(c.install_id for c in again) == sorted(c.install_id for c in first)
        assert {c.attempts for c in again} == {2}


async def test_a_push_fails_only_when_every_delivery_has(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        push_id, (one, two) = await _push_to_two_installs(conn)
        failed = await pushes.record(
            conn, pushes.Results([], [], [(push_id, one, 26, "fcm_404_UNREGISTERED")], [])
        )
        assert failed == []
        failed = await pushes.record(
            conn, pushes.Results([], [], [(push_id, two, 28, "fcm_403_X")], [])
        )
        assert failed == [push_id]
        (row,) = await pushes.unreported(conn, 10)
        assert (row.status, row.error_code) == (pushes.UNDELIVERED, 28)
        await pushes.mark_reported(conn, [(push_id, pushes.UNDELIVERED)])
        assert await pushes.unreported(conn, 10) == []
