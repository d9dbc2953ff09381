"""Block id allocation: unique across allocators and processes, installation id kept."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from rcs_core.messages import ids
from rcs_core.messages.idalloc import ID_BLOCK, IdAllocator

pytestmark = pytest.mark.integration


async def test_allocators_never_hand_out_the_same_id(database_url: str) -> None:
    a, b = IdAllocator(7), IdAllocator(7)
    taken: list[int] = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        for n in (1, 999, 2, ID_BLOCK + 5, 3 * ID_BLOCK, 7):
            taken += await a.take(conn, n)
            taken += await b.take(conn, n)
    assert len(taken) == len(set(taken)) == 2 * (1 + 999 + 2 + ID_BLOCK + 5 + 3 * ID_BLOCK + 7)
    assert {ids.installation_of(i) for i in taken} == {7}
    assert all(0 < i <= ids.MAX_ID for i in taken)


async def test_concurrent_takes_are_unique(database_url: str) -> None:
    alloc = IdAllocator(3)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        batches = await asyncio.gather(*(alloc.take(conn, 300) for _ in range(10)))
    flat = [i for b in batches for i in b]
    assert len(flat) == len(set(flat)) == 3000
