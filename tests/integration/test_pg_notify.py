"""ChannelWaker: waiters wake on a real NOTIFY, never miss one sent between their look and
their wait, and stop waiting when their own event is set or their time is up."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from rcs_runtime.pg_notify import ChannelWaker

pytestmark = pytest.mark.integration
CHANNEL = "rcs_test_waker"


async def notify(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(f"NOTIFY {CHANNEL}")


async def listening(waker: ChannelWaker) -> int:
    """The generation once the listener is connected (connecting counts as a change)."""
    waker.start()
    for _ in range(500):
        if waker.generation:
            return waker.generation
        await asyncio.sleep(0.01)
    raise AssertionError("the waker never listened")


async def test_waiters_wake_on_notify_and_a_notify_before_the_wait_is_not_lost(
    database_url: str,
) -> None:
    waker = ChannelWaker(database_url, CHANNEL)
    try:
        seen = await listening(waker)
        loop = asyncio.get_running_loop()
        waiters = [asyncio.ensure_future(waker.wait_past(seen, 30)) for _ in range(3)]
        started = loop.time()
        await notify(database_url)
        await asyncio.wait_for(asyncio.gather(*waiters), 10)
        assert loop.time() - started < 10  # woken, not timed out
        # A NOTIFY that comes after the look but before the wait: no wait at all.
        seen = waker.generation
        await notify(database_url)
        for _ in range(500):
            if waker.generation != seen:
                break
            await asyncio.sleep(0.01)
        started = loop.time()
        await waker.wait_past(seen, 30)
        assert loop.time() - started < 1
    finally:
        await waker.close()


async def test_a_wait_ends_on_its_own_event_or_its_timeout(database_url: str) -> None:
    waker = ChannelWaker(database_url, CHANNEL)
    try:
        seen = await listening(waker)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await waker.wait_past(seen, 0.2)
        assert 0.15 <= loop.time() - started < 5
        stop = asyncio.Event()
        waiting = asyncio.ensure_future(waker.wait_past(seen, 30, or_until=stop))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        stop.set()
        await asyncio.wait_for(waiting, 5)
        started = loop.time()
        await waker.wait_past(seen, 30, or_until=stop)  # already set: at once
        assert loop.time() - started < 1
    finally:
        await waker.close()
