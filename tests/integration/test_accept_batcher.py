"""Group commit: concurrent small submits share transactions, each caller gets its own ids
only after the commit, duplicates across calls are found, and a failure reaches everyone."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from rcs_core.auth import partners_store as partners
from rcs_core.messages.accept_batcher import AcceptBatcher
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage

pytestmark = pytest.mark.integration


def msg(ref: str | None = None) -> NewMessage:
    return NewMessage(ref, 1, "79161234567", "RCS", "x", 0, dt.timedelta(hours=1), 2, "")


async def test_concurrent_calls_are_stored_and_answered_each(
    pool: AsyncConnectionPool, database_url: str
) -> None:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        a = await partners.upsert(conn, "a", "pw", senders=["RCS"])
        b = await partners.upsert(conn, "b", "pw", senders=["RCS"])
        await conn.commit()
    batcher = AcceptBatcher(pool, IdAllocator(7), transactions=1)
    calls = [batcher.accept(a if i % 2 else b, [msg(f"r{i}")]) for i in range(40)]
    calls.append(batcher.accept(a, [msg("r1")]))  # same partner id as call 1: a repeat
    calls.append(batcher.accept(b, [msg("r1"), msg()]))  # r1 is new for partner b
    results = await asyncio.gather(*calls)
    await batcher.close()
    assert results[-2][0].message_id == results[1][0].message_id
    assert results[-2][0].duplicate
    assert not results[-1][0].duplicate
    ids = [r.message_id for rs in results for r in rs if not r.duplicate]
    assert len(ids) == len(set(ids)) == 42
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM messages")
        assert await cur.fetchone() == (42,)


async def test_failed_transaction_fails_every_caller(database_url: str) -> None:
    pool = AsyncConnectionPool(database_url, min_size=1, max_size=2, open=False)
    await pool.open(wait=True)
    batcher = AcceptBatcher(pool, IdAllocator(7))
    # Make every transaction fail at its last insert, after messages were written.
    async with pool.connection() as conn:
        await conn.execute("ALTER TABLE dispatch_queue ADD CONSTRAINT no_rows CHECK (false)")
    outcomes = await asyncio.gather(
        *(batcher.accept(1, [msg()]) for _ in range(5)), return_exceptions=True
    )
    await batcher.close()
    await pool.close()
    assert all(isinstance(o, psycopg.errors.CheckViolation) for o in outcomes)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM messages")
        assert await cur.fetchone() == (0,)


async def test_a_call_the_database_refuses_fails_alone_not_its_group(
    pool: AsyncConnectionPool, database_url: str
) -> None:
    """Partner a's reference overflows the client_refs index (as a 3,000-character REST v6
    id did before the gateways limited it): its group is tried again call by call, and
    only a's call fails; b's calls in the same group are stored."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        a = await partners.upsert(conn, "a", "pw")
        b = await partners.upsert(conn, "b", "pw")
        await conn.commit()
    batcher = AcceptBatcher(pool, IdAllocator(7), transactions=1)
    huge = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000))  # 9,000 bytes
    outcomes = await asyncio.gather(
        batcher.accept(b, [msg("b-1")]),
        batcher.accept(a, [msg(huge)]),
        batcher.accept(b, [msg("b-2"), msg()]),
        return_exceptions=True,
    )
    await batcher.close()
    first, bad, second = outcomes
    assert isinstance(bad, psycopg.errors.ProgramLimitExceeded), bad
    assert not isinstance(first, BaseException), first
    assert not isinstance(second, BaseException), second
    assert [len(first), len(second)] == [1, 2]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT partner_id, count(*) FROM messages GROUP BY 1")
        assert await cur.fetchall() == [(b, 3)]
