"""Feeds running mailings into the ordinary pipeline: each tick, for each mailing, the
next recipients its rate allows become messages through ``messages.store.accept`` (the
path every partner API takes: message rows, ACCEPTED events, queue rows, wake-up), and the
mailing's cursor moves in the same transaction — so a crash anywhere either fed them and
moved the cursor, or did neither. Mailings are locked with SKIP LOCKED: several core
processes share them without feeding one twice, and the rate is kept in the row."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from psycopg_pool import AsyncConnectionPool

from rcs_core.mailings import domain, store
from rcs_core.mailings.domain import State
from rcs_core.messages import model
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.validation import CHANNEL_SMS, MAX_TTL, MIN_TTL, RECEIPT_ALL

log = logging.getLogger(__name__)
# Most recipients fed by one transaction: a fast mailing catches up over several.
MAX_FEED = 1000
MOSCOW_OFFSET_MINUTES = 180


class Feeder:
    def __init__(
        self, pool: AsyncConnectionPool, installation_id: int, *, interval: float = 0.2
    ) -> None:
        self._pool = pool
        self._ids = IdAllocator(installation_id)
        self._interval = interval

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("mailing_feed_failed")
            await asyncio.sleep(self._interval)

    async def tick(self) -> int:
        """One pass over the active mailings; returns how many messages were fed."""
        async with self._pool.connection() as conn:
            ids = await store.active_ids(conn)
        total = 0
        for mailing_id in ids:
            total += await self.feed(mailing_id)
        return total

    async def feed(self, mailing_id: int) -> int:
        async with self._pool.connection() as conn, conn.transaction():
            c = await store.claim(conn, mailing_id)
            if c is None:
                return 0
            m, now = c.mailing, c.now
            if m.end_at is not None and now >= m.end_at:
                await store.set_state(conn, m.id, State.FINISHED)
                log.info("mailing_ended", extra={"mailing": m.id, "fed": m.fed})
                return 0
            if m.state is State.SCHEDULED:
                if m.start_at is not None and m.start_at > now:
                    return 0
                await store.set_state(conn, m.id, State.RUNNING, reset_credit=True)
                log.info("mailing_running", extra={"mailing": m.id})
                return 0  # the rate counts from now
            if m.fed >= m.total:
                await store.set_state(conn, m.id, State.FINISHED)
                return 0
            if not domain.window_open(m.window, m.window_subscriber_zone, now):
                await store.hold(conn, m.id, now)
                return 0
            budget, start = domain.feed_budget(c.credit_at, m.rate_per_second, now)
            if budget == 0:
                return 0
            pending = await store.next_recipients(conn, m.id, m.fed, min(budget, MAX_FEED))
            ttl = _ttl(c.default_ttl_seconds, m.end_at, now)
            window = _window(m)
            batch = [
                model.NewMessage(
                    # A SID id is the partner's key for the message, as a REST clientId:
                    # a line whose id an earlier message of the partner holds (the same
                    # file uploaded again under another name) gets that message, not a
                    # second send.
                    client_ref=p.external_id,
                    channel=CHANNEL_SMS,
                    destination=p.destination,
                    sender=m.sender,
                    body=domain.recipient_text(p.text, m.text, p.params),
                    priority=m.priority,
                    ttl=ttl,
                    receipt_request=RECEIPT_ALL,
                    trace_parent="",
                    window=window,
                    mailing_id=m.id,
                )
                for p in pending
            ]
            accepted = await messages.accept(
                conn, ids=self._ids, partner_id=m.partner_id, messages=batch
            )
            fed = m.fed + len(pending)
            await store.record_fed(
                conn,
                m.id,
                [p.seq for p in pending],
                [a.message_id for a in accepted],
                fed=fed,
                credit_at=domain.credit_after(start, len(pending), m.rate_per_second),
                state=State.FINISHED if fed >= m.total else State.RUNNING,
            )
        return len(pending)


def _ttl(default_seconds: int, end_at: dt.datetime | None, now: dt.datetime) -> dt.timedelta:
    """The partner's validity, cut at the mailing's end, within what any message may have."""
    ttl = dt.timedelta(seconds=default_seconds)
    if end_at is not None:
        ttl = min(ttl, end_at - now)
    return max(MIN_TTL, min(ttl, MAX_TTL))


def _window(m: store.MailingRow) -> model.StoredWindow | None:
    """The mailing's window on each message, so that routing holds one delayed past it."""
    if m.window is None:
        return None
    offset = None if m.window_subscriber_zone else MOSCOW_OFFSET_MINUTES
    return (m.window[0], m.window[1], 0, offset)
