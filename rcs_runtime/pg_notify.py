"""Waking on PostgreSQL NOTIFY: one listening connection per channel, shared by every waiter.

A waiter notes the generation before it looks for work and, finding none, waits for a later
one (or its timeout): a notification that arrives between the look and the wait is never
missed, and any number of waiters share one connection. Used by StreamStatusEvents, the
dispatcher's workers and the report desk's lease waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0


class ChannelWaker:
    def __init__(self, dsn: str, channel: str) -> None:
        self._dsn = dsn
        self._channel = channel
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.generation = 0

    def start(self) -> None:
        """Listen from now on (idempotent; restarts the listener if it ended)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name=f"listen-{self._channel}")

    async def wait_past(
        self, generation: int, at_most: float, *, or_until: asyncio.Event | None = None
    ) -> None:
        """Return once a notification after ``generation`` came, ``or_until`` is set, or
        after ``at_most`` seconds."""
        self.start()
        if self.generation != generation or (or_until is not None and or_until.is_set()):
            return
        changed = self._changed
        if or_until is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), at_most)
            return
        waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(or_until.wait())]
        try:
            await asyncio.wait(waits, timeout=at_most, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _notified(self) -> None:
        self.generation += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._dsn, autocommit=True) as c:
                    await c.execute(f"LISTEN {self._channel}")
                    # Whatever happened while not listening counts as a change.
                    self._notified()
                    async for _ in c.notifies():
                        self._notified()
            except psycopg.OperationalError:
                log.warning("listen_lost", extra={"channel": self._channel})
                await asyncio.sleep(RECONNECT_SECONDS)
