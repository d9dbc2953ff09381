"""Message id allocation in blocks, so accepting a message costs no sequence round trip.

Each ``nextval('message_seq')`` (INCREMENT BY 1000) reserves the sequence values
[v, v + 1000) for this process; ids are composed from them with the installation id
(rcs_core.messages.ids). A restarted process leaves the rest of its block unused: ids have gaps,
never repeats.
"""

from __future__ import annotations

import asyncio

import psycopg

from rcs_core.messages.ids import compose

ID_BLOCK = 1000  # must equal message_seq's INCREMENT BY


class IdAllocator:
    def __init__(self, installation_id: int) -> None:
        self._installation_id = installation_id
        self._next = 0
        self._end = 0
        self._lock = asyncio.Lock()

    async def take(self, conn: psycopg.AsyncConnection, n: int) -> list[int]:
        async with self._lock:
            if self._end - self._next < n:
                blocks = -(-(n - (self._end - self._next)) // ID_BLOCK)
                cur = await conn.execute(
                    "SELECT nextval('message_seq') FROM generate_series(1, %s)", (blocks,)
                )
                starts = [row[0] for row in await cur.fetchall()]
                # Blocks from one call may not be adjacent (other processes draw too):
                # keep the current remainder only if the new blocks continue it.
                values = list(range(self._next, self._end))
                for start in starts:
                    values.extend(range(start, start + ID_BLOCK))
                taken, rest = values[:n], values[n:]
                if rest and rest[-1] - rest[0] + 1 == len(rest):
                    self._next, self._end = rest[0], rest[-1] + 1
                else:  # leftovers are not one run: drop them (gaps are allowed)
                    self._next = self._end = 0
                return [compose(v, self._installation_id) for v in taken]
            start = self._next
            self._next += n
            return [compose(v, self._installation_id) for v in range(start, start + n)]
