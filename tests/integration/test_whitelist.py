"""Mailing white lists in ``dispatch.filtered`` and ``dispatch.record_hold``, on real
PostgreSQL, without a dispatcher: claim, check, record."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from rcs_core.auth import partners_store as partners
from rcs_core.delivery import queue_store as dispatch
from rcs_core.delivery.queue_store import Claimed
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.statuses import Status

pytestmark = pytest.mark.integration

NOT_LISTED = (10, "not_on_mailing_whitelist")


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(database_url) as c:
        for login in ("acme", "other"):
            await partners.upsert(c, login, "pw", senders=["RCS"])
        await c.execute(
            "INSERT INTO whitelist (partner, mailing, number) VALUES"
            " ('acme', 'promo', '79160000001'), ('acme', 'promo', '79160000002'),"
            " ('other', 'shared', '79160000009'), ('other', 'promo', '79160000003')"
        )
        await c.commit()
        yield c


async def accept(
    conn: psycopg.AsyncConnection[Any], login: str, *items: tuple[str, str]
) -> list[int]:
    """(destination, mailing) messages of ``login``; their ids in order."""
    cur = await conn.execute("SELECT id FROM partners WHERE login = %s", (login,))
    row = await cur.fetchone()
    assert row is not None
    out = await messages.accept(
        conn,
        ids=IdAllocator(7),
        partner_id=row[0],
        messages=[
            NewMessage(None, 1, dst, "RCS", "hi", 0, dt.timedelta(hours=1), 2, "", mailing=mailing)
            for dst, mailing in items
        ],
    )
    await conn.commit()
    return [a.message_id for a in out]


async def claim_all(conn: psycopg.AsyncConnection[Any]) -> dict[int, Claimed]:
    return {c.message_id: c for c in await dispatch.claim(conn, 100)}


async def test_claim_carries_traffic_type_and_mailing(conn: psycopg.AsyncConnection[Any]) -> None:
    (mid,) = await accept(conn, "acme", ("79160000001", "promo"))
    await conn.execute("UPDATE messages SET traffic_type = 0 WHERE id = %s", (mid,))
    await conn.commit()
    async with conn.transaction():
        claimed = (await claim_all(conn))[mid]
    assert (claimed.traffic_type, claimed.mailing, claimed.partner) == (0, "promo", "acme")
    (plain,) = await accept(conn, "acme", ("79160000001", ""))
    async with conn.transaction():
        claimed = (await claim_all(conn))[plain]
    assert (claimed.traffic_type, claimed.mailing) == (None, "")


async def test_only_numbers_on_the_mailing_list_pass(conn: psycopg.AsyncConnection[Any]) -> None:
    ids = await accept(
        conn,
        "acme",
        ("79160000001", "promo"),
        ("79160000002", "promo"),
        ("79160000003", "promo"),  # on other's "promo" list, not on acme's
        ("79160000004", ""),
        ("79160000005", "no-list"),  # a mailing without rows restricts nothing
    )
    async with conn.transaction():
        claimed = list((await claim_all(conn)).values())
        assert len(claimed) == 5
        assert await dispatch.filtered(conn, claimed) == {ids[2]: NOT_LISTED}


async def test_another_partners_list_does_not_apply(conn: psycopg.AsyncConnection[Any]) -> None:
    # acme has no "shared" list; other's "promo" list does not restrict acme's promo to it.
    await accept(conn, "acme", ("79160000005", "shared"))
    promo_unlisted, _promo_listed, shared_unlisted = await accept(
        conn,
        "other",
        ("79160000001", "promo"),  # on acme's "promo" list only
        ("79160000003", "promo"),
        ("79160000001", "shared"),
    )
    async with conn.transaction():
        claimed = list((await claim_all(conn)).values())
        assert len(claimed) == 4
        found = await dispatch.filtered(conn, claimed)
    assert found == {promo_unlisted: NOT_LISTED, shared_unlisted: NOT_LISTED}


async def test_black_list_still_applies_to_listed_numbers(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    await conn.execute("INSERT INTO blacklist (partner_id, number) VALUES (NULL, '79160000001')")
    await conn.commit()
    (mid,) = await accept(conn, "acme", ("79160000001", "promo"))
    async with conn.transaction():
        found = await dispatch.filtered(conn, list((await claim_all(conn)).values()))
    assert found == {mid: (10, "blacklisted")}


async def test_whitelist_check_is_one_query_for_the_batch(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    await accept(conn, "acme", *((f"791600000{n:02d}", "promo") for n in range(30)))
    async with conn.transaction():
        claimed = list((await claim_all(conn)).values())
        calls: list[str] = []
        original = conn.execute

        async def counting(query: Any, *args: Any, **kw: Any) -> Any:
            calls.append(str(query))
            return await original(query, *args, **kw)

        conn.execute = counting  # type: ignore[method-assign]
        try:
            found = await dispatch.filtered(conn, claimed)
        finally:
            del conn.execute
    assert len(calls) == 1
    assert len(found) == 28  # all but 79160000001 and 79160000002
    assert set(found.values()) == {NOT_LISTED}


async def test_empty_batch_is_not_filtered(conn: psycopg.AsyncConnection[Any]) -> None:
    assert await dispatch.filtered(conn, []) == {}


async def test_hold_requeues_without_counting_an_attempt(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    held, retried = await accept(conn, "acme", ("79160000001", ""), ("79160000002", ""))
    until = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=3)
    async with conn.transaction():
        claimed = await claim_all(conn)
        await dispatch.record_retry(conn, [(claimed[retried], dt.timedelta(0), "boom", None)])
    async with conn.transaction():
        claimed = await claim_all(conn)
        assert claimed[retried].attempts == 1
        await dispatch.record_hold(
            conn,
            [(claimed[held], until, "outside_hours"), (claimed[retried], until, "outside_hours")],
        )
    cur = await conn.execute(
        "SELECT message_id, attempts, not_before, last_error FROM dispatch_queue"
        " ORDER BY message_id"
    )
    rows = {r[0]: r[1:] for r in await cur.fetchall()}
    assert rows == {
        held: (0, until, "outside_hours"),
        retried: (1, until, "outside_hours"),  # the earlier retry stays counted, no more
    }
    cur = await conn.execute("SELECT DISTINCT status FROM messages")
    assert [r[0] for r in await cur.fetchall()] == [int(Status.ACCEPTED)]
    async with conn.transaction():
        assert await claim_all(conn) == {}  # not due before ``until``
    await dispatch.record_hold(conn, [])  # nothing to do
