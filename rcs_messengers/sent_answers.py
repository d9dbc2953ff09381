"""messenger_sent_answers (migration 0140): the provider's accepted answer per message,
recorded before SendMessages answers core, so a repeat of that message (the dispatcher
retrying an answer it lost, also after this service restarted or was killed) is answered
from the record instead of being sent to the provider again.

Each answer is recorded as soon as it comes (answers that come together share one INSERT),
not when the whole request is answered. What is left (docs/invariants.md, "Messengers"):
a call the provider took whose answer was not recorded yet when the process died is sent
again: at most the provider calls in flight then (each sender's concurrency) and the
answers being recorded.
A database that is away costs the durability, not the traffic: messages are sent and
answered as before (the in-process memory of ProviderSender still answers repeats)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence

import psycopg
from psycopg_pool import AsyncConnectionPool

from rcs.connector.v1 import connector_service_pb2 as cs
from rcs_runtime.batcher import Batcher

log = logging.getLogger(__name__)
_KEPT_AFTER_VALIDITY = dt.timedelta(hours=1)
_NO_VALIDITY = dt.timedelta(days=2)  # REST v6's longest TTL, for a message core gave none
_WAIT = 2.0  # seconds for a pooled connection: the database must not hold the traffic up


Sent = tuple[cs.OutboundMessage, cs.SendResult]


class SentAnswers:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._batcher: Batcher[None, Sent, None] = Batcher(
            self._insert, max_size=1000, max_in_flight=2, name="messenger_answers"
        )

    async def recorded(self, message_ids: Sequence[str]) -> dict[str, cs.SendResult]:
        """The recorded answers of these messages (none when the database is away)."""
        if not message_ids:
            return {}
        try:
            async with self._pool.connection(timeout=_WAIT) as conn:
                cur = await conn.execute(
                    "SELECT message_id, result FROM messenger_sent_answers"
                    " WHERE message_id = ANY(%s)",
                    (list(message_ids),),
                )
                rows = await cur.fetchall()
        except (psycopg.Error, OSError) as err:
            log.warning("messenger_answers_unreadable", extra={"error": str(err)})
            return {}
        return {str(m): cs.SendResult.FromString(bytes(r)) for m, r in rows}

    async def record(self, m: cs.OutboundMessage, result: cs.SendResult) -> None:
        """Records an ACCEPTED answer as soon as it is known (answers arriving together
        share one INSERT); a message's first answer stays (ON CONFLICT DO NOTHING)."""
        if result.outcome == cs.SEND_OUTCOME_ACCEPTED:
            await self._batcher.submit(None, (m, result))

    async def _insert(self, _: None, rows: list[Sent]) -> list[None]:
        now = dt.datetime.now(dt.UTC)
        try:
            async with self._pool.connection(timeout=_WAIT) as conn:
                await conn.execute(
                    "INSERT INTO messenger_sent_answers"
                    " (message_id, interface_id, result, valid_until)"
                    " SELECT * FROM unnest(%s::text[], %s::text[], %s::bytea[],"
                    " %s::timestamptz[]) ON CONFLICT DO NOTHING",
                    (
                        [m.message_id for m, _ in rows],
                        [r.interface_id for _, r in rows],
                        [r.SerializeToString() for _, r in rows],
                        [
                            m.valid_until.ToDatetime(dt.UTC)
                            if m.HasField("valid_until")
                            else now + _NO_VALIDITY
                            for m, _ in rows
                        ],
                    ),
                )
        except (psycopg.Error, OSError) as err:
            log.warning(
                "messenger_answers_unrecorded", extra={"error": str(err), "count": len(rows)}
            )
        return [None] * len(rows)

    async def close(self) -> None:
        await self._batcher.close()

    async def keep_pruned(self, every: float) -> None:
        """Deletes, this often, the answers of messages an hour past their validity."""
        while True:
            await asyncio.sleep(every)
            try:
                async with self._pool.connection(timeout=_WAIT) as conn:
                    await conn.execute(
                        "DELETE FROM messenger_sent_answers WHERE valid_until < now() - %s",
                        (_KEPT_AFTER_VALIDITY,),
                    )
            except (psycopg.Error, OSError) as err:
                log.warning("messenger_answers_unpruned", extra={"error": str(err)})
