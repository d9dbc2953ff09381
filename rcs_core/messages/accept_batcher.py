"""Group commit for small submits.

A gateway sends one message per call (a REST request, an SMPP submit_sm), and a
transaction per message spends most of its time on round trips and the commit. Calls
that arrive while a transaction is running wait here and are accepted together in the
next one: each caller still gets its ids only after the commit that stored its messages,
so "stored before acknowledged" holds. A group whose transaction fails (one partner's
request that the database refuses) is tried again call by call, so that only the call that
fails learns of it; when the database itself is away (connection lost, pool exhausted) every
caller in the group gets that error at once (none of them was acknowledged).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from prometheus_client import Counter, Histogram
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.store import Accepted, NewMessage

log = logging.getLogger(__name__)
GROUP_SIZE = Histogram(
    "rcs_accept_group_messages",
    "Messages accepted per grouped transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000),
)
ALONE = Counter(
    "rcs_accept_groups_split_total",
    "Grouped accepts whose transaction failed and whose calls were tried again one by one",
)


def _database_away(exc: Exception) -> bool:
    """No connection, or the server going down (SQLSTATE 08…, 57P…): trying each call
    again alone would only wait as long again, once per call. Other OperationalErrors
    (e.g. 54000, an index row too large) belong to one call's data."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate or ""
    return not state or state.startswith(("08", "57P"))


@dataclass(slots=True)
class _Call:
    partner_id: int
    messages: Sequence[NewMessage]
    duplicate_window: dt.timedelta | None
    done: asyncio.Future[list[Accepted]]


class AcceptBatcher:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        ids: IdAllocator,
        *,
        max_messages: int = 2000,
        transactions: int = 2,
    ) -> None:
        self._pool = pool
        self._ids = ids
        self._max = max_messages
        self._transactions = transactions
        self._pending: list[_Call] = []
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def accept(
        self,
        partner_id: int,
        batch: Sequence[NewMessage],
        duplicate_window: dt.timedelta | None = None,
    ) -> list[Accepted]:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._flush_loop(), name=f"accept-{i}")
                for i in range(self._transactions)
            ]
        call = _Call(
            partner_id, batch, duplicate_window, asyncio.get_running_loop().create_future()
        )
        self._pending.append(call)
        self._ready.set()
        return await call.done

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _take(self) -> list[_Call]:
        taken: list[_Call] = []
        size = 0
        while self._pending and (not taken or size + len(self._pending[0].messages) <= self._max):
            call = self._pending.pop(0)
            taken.append(call)
            size += len(call.messages)
        if not self._pending:
            self._ready.clear()
        return taken

    async def _flush_loop(self) -> None:
        while True:
            await self._ready.wait()
            calls = self._take()
            if calls:
                await self._flush(calls)

    async def _flush(self, calls: list[_Call]) -> None:
        results: list[list[Accepted]] = []
        try:
            async with self._pool.connection() as conn, conn.transaction():
                # One accept per partner (client_ref keys are per partner), in arrival order.
                by_partner: dict[int, list[int]] = {}
                for i, call in enumerate(calls):
                    by_partner.setdefault(call.partner_id, []).append(i)
                results = [[] for _ in calls]
                for partner_id, indexes in by_partner.items():
                    joined = [m for i in indexes for m in calls[i].messages]
                    accepted = await messages.accept(
                        conn,
                        ids=self._ids,
                        partner_id=partner_id,
                        messages=joined,
                        duplicate_window=calls[indexes[0]].duplicate_window,
                    )
                    pos = 0
                    for i in indexes:
                        n = len(calls[i].messages)
                        results[i] = accepted[pos : pos + n]
                        pos += n
        except Exception as exc:
            log.warning("accept_group_failed", extra={"calls": len(calls), "error": str(exc)})
            if len(calls) > 1 and not _database_away(exc):
                # Nothing of the group was stored: each call again on its own, so that a
                # call the database refuses fails alone, not the other partners' with it.
                ALONE.inc()
                for call in calls:
                    await self._flush([call])
                return
            for call in calls:
                if not call.done.done():
                    call.done.set_exception(exc)
            return
        GROUP_SIZE.observe(sum(len(c.messages) for c in calls))
        for call, result in zip(calls, results, strict=True):
            if not call.done.done():
                call.done.set_result(result)
