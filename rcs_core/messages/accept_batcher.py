"""Group commit for small submits.

A gateway sends one message per call (a REST request, an SMPP submit_sm), and a
transaction per message spends most of its time on round trips and the commit. Calls
that arrive while a transaction is running wait here and are accepted together in the
next one: each caller still gets its ids only after the commit that stored its messages,
so "stored before acknowledged" holds. A group whose transaction fails (one partner's
request that the database refuses) is tried again call by call, so that only the call that
fails learns of it; when the database itself is away (connection lost, pool exhausted) every
caller in the group gets that error at once (none of them was acknowledged).

The grouping is an ``rcs_runtime.batcher.Batcher`` with one lane: calls weigh their
message count, a group holds up to ``max_messages`` (a larger call goes alone), and
``transactions`` groups run at once; calls that arrive meanwhile wait for the next.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg
from prometheus_client import Counter, Histogram
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.model import NewMessage
from rcs_core.messages.store import Accepted
from rcs_runtime.batcher import Batcher, Failed

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


@dataclass(frozen=True, slots=True)
class _Call:
    partner_id: int
    messages: Sequence[NewMessage]
    duplicate_window: dt.timedelta | None


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
        self._batcher: Batcher[None, _Call, list[Accepted]] = Batcher(
            self._flush,
            max_size=max_messages,
            max_in_flight=transactions,
            weight=lambda call: len(call.messages),
            name="accept-group",
        )

    async def accept(
        self,
        partner_id: int,
        batch: Sequence[NewMessage],
        duplicate_window: dt.timedelta | None = None,
    ) -> list[Accepted]:
        return await self._batcher.submit(None, _Call(partner_id, batch, duplicate_window))

    async def close(self) -> None:
        """At shutdown, after the gRPC server stopped: no caller waits any more, so the
        running transactions are cancelled (rolled back) rather than waited for (a pool
        with the database away would hold the exit up to its timeout)."""
        await self._batcher.abort()

    async def _flush(self, _: None, calls: list[_Call]) -> list[list[Accepted] | Failed]:
        try:
            return list[list[Accepted] | Failed](await self._accept(calls))
        except Exception as exc:
            log.warning("accept_group_failed", extra={"calls": len(calls), "error": str(exc)})
            if len(calls) == 1 or _database_away(exc):
                raise
        # Nothing of the group was stored: each call again on its own, so that a call the
        # database refuses fails alone, not the other partners' with it.
        ALONE.inc()
        outcomes: list[list[Accepted] | Failed] = []
        for call in calls:
            try:
                outcomes.extend(await self._accept([call]))
            except Exception as exc:
                log.warning("accept_group_failed", extra={"calls": 1, "error": str(exc)})
                outcomes.append(Failed(exc))
        return outcomes

    async def _accept(self, calls: list[_Call]) -> list[list[Accepted]]:
        """Every call's messages in one transaction, one accept per partner (client_ref
        keys are per partner), in arrival order."""
        async with self._pool.connection() as conn, conn.transaction():
            by_partner: dict[int, list[int]] = {}
            for i, call in enumerate(calls):
                by_partner.setdefault(call.partner_id, []).append(i)
            results: list[list[Accepted]] = [[] for _ in calls]
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
        GROUP_SIZE.observe(sum(len(c.messages) for c in calls))
        return results
