"""The cascade engine: claims due cascades, decides (rcs_core.delivery.cascade) and
records the decision in the same transaction: the cascade's final outcome, or the next
link accepted as a new message (its own id, queue row and report) with the running link
expired first when it is still open.

It runs in the dispatcher process (``RCS_CASCADE_WORKERS``). A cascade is due when its
running link's validity ends, and at once when that link gets a final status (finalize
pokes the row and NOTIFYs ``rcs_cascade``). Timers are those rows: a process that dies
mid-decision leaves its transaction rolled back and the row due, so another engine (or
this one after a restart) takes it; nothing is decided twice, because the decision and
its effects commit together under the row's lock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field

import psycopg
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import message_service_pb2
from rcs_core.delivery import cascade_store, links
from rcs_core.delivery.cascade import Action, decide
from rcs_core.delivery.cascade_store import DueCascade, RunningLink
from rcs_core.delivery.finalize import finalize
from rcs_core.messages import model
from rcs_core.messages import store as messages
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.statuses import ExtendedError, Status
from rcs_core.messages.validation import validate_link
from rcs_runtime.errors import RcsError
from rcs_runtime.pg_notify import ChannelWaker

log = logging.getLogger(__name__)
CASCADE_STEPS = Counter("rcs_cascade_steps_total", "Cascade engine decisions", ["action"])
BUSY_RETRY = dt.timedelta(seconds=0.5)  # a running link a receipt or the dispatcher holds


@dataclass(slots=True)
class _Plan:
    """What one batch decided, written set-wise by CascadeEngine._apply."""

    waits: list[tuple[int, dt.datetime | None]] = field(default_factory=list)
    finishes: list[tuple[int, int, int]] = field(default_factory=list)
    expire: list[tuple[int, dt.datetime]] = field(default_factory=list)
    dequeue: list[int] = field(default_factory=list)
    advances: dict[int, list[tuple[int, model.NewMessage, int | None]]] = field(
        default_factory=dict
    )


class CascadeEngine:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        database_url: str,
        installation_id: int,
        *,
        batch: int = 50,
        poll_seconds: float = 1.0,
    ) -> None:
        self._pool = pool
        self._ids = IdAllocator(installation_id)
        self._batch = batch
        self._poll = poll_seconds
        self._due = ChannelWaker(database_url, cascade_store.CASCADE_CHANNEL)

    async def run(self) -> None:
        self._due.start()
        try:
            await self._loop()
        finally:
            await self._due.close()

    async def _loop(self) -> None:
        while True:
            seen = self._due.generation  # before looking: a NOTIFY meanwhile wakes us
            try:
                count = await self.step_once()
            except (psycopg.OperationalError, OSError):
                log.exception("cascade_step_failed")
                await asyncio.sleep(1)
                continue
            if count < self._batch:
                await self._due.wait_past(seen, self._poll)

    async def step_once(self) -> int:
        """Decide every due cascade of one batch; returns how many were due."""
        async with self._pool.connection() as conn, conn.transaction():
            due = await cascade_store.claim(conn, self._batch)
            if not due:
                return 0
            running = await cascade_store.lock_running(conn, due)
            cur = await conn.execute("SELECT now()")
            row = await cur.fetchone()
            now: dt.datetime = row[0] if row else dt.datetime.now(dt.UTC)
            plan = _Plan()
            for c in due:
                link = running.get(c.current_id)
                if link is None:  # a receipt or the dispatcher holds it: look again soon
                    plan.waits.append((c.id, now + BUSY_RETRY))
                    CASCADE_STEPS.labels("busy").inc()
                    continue
                self._decide(plan, c, link, now)
            await self._apply(conn, plan)
            return len(due)

    def _decide(self, plan: _Plan, c: DueCascade, link: RunningLink, now: dt.datetime) -> None:
        wait_for = Status(c.wait_for) if c.wait_for is not None else None
        d = decide(Status(link.status), link.error_code, wait_for, c.deadline, now)
        CASCADE_STEPS.labels(d.action.value).inc()
        if d.action is Action.WAIT:
            plan.waits.append((c.id, d.due))
            return
        if d.action is Action.FINISH:
            assert d.status is not None
            plan.finishes.append((c.id, int(d.status), d.error))
            return
        if d.expire_current:
            plan.expire.append((c.current_id, c.current_created))
            if link.queued:
                plan.dequeue.append(c.current_id)
        nxt = message_service_pb2.CascadeLink.FromString(c.links[c.link_no])
        try:
            new = self._message_of(c, link, nxt)
        except RcsError as err:  # checked at acceptance; only a changed partner gets here
            log.warning("cascade_link_refused", extra={"cascade": c.id, "reason": err.reason})
            plan.finishes.append((c.id, int(Status.REJECTED), 0))
            return
        after = c.link_no + 1
        wait_next = (
            int(links.wait_for_of(message_service_pb2.CascadeLink.FromString(c.links[after]).state))
            if after < len(c.links)
            else None
        )
        plan.advances.setdefault(c.partner_id, []).append((c.id, new, wait_next))

    async def _apply(self, conn: psycopg.AsyncConnection, plan: _Plan) -> None:
        """The batch's decisions, set-wise: a few statements whatever its size."""
        if plan.expire:
            # Still open at the deadline: EXPIRED (its report owed), so its own late
            # receipt finds it final and changes nothing.
            await finalize(
                conn,
                [
                    (mid, Status.EXPIRED, int(ExtendedError.TIMEOUT), "cascade_ttl")
                    for mid, _ in plan.expire
                ],
                created_at=dict(plan.expire),
            )
        if plan.dequeue:
            await cascade_store.drop_from_queue(conn, plan.dequeue)
        started: list[tuple[int, int, int | None, dt.timedelta]] = []
        for partner_id, items in plan.advances.items():
            accepted = await messages.accept(
                conn, ids=self._ids, partner_id=partner_id, messages=[n for _, n, _ in items]
            )
            started += [
                (cid, a.message_id, wait_next, new.ttl)
                for (cid, new, wait_next), a in zip(items, accepted, strict=True)
            ]
        await cascade_store.record(conn, plan.waits, plan.finishes, started)
        if plan.finishes or started:
            log.info(
                "cascade_steps", extra={"finished": len(plan.finishes), "advanced": len(started)}
            )

    @staticmethod
    def _message_of(
        c: DueCascade, link: RunningLink, nxt: message_service_pb2.CascadeLink
    ) -> model.NewMessage:
        body, sender, ttl, push, binary = validate_link(
            nxt,
            link.destination,
            link.default_sender,
            dt.timedelta(seconds=link.default_ttl_seconds),
            field=f"cascade[{c.link_no + 1}].",
        )
        return model.NewMessage(
            client_ref=link.client_ref,
            channel=nxt.channel,
            destination=link.destination,
            sender=sender,
            body=body,
            priority=link.priority,
            ttl=ttl,
            receipt_request=link.receipt_request,
            trace_parent=link.trace_parent,
            traffic_type=link.traffic_type,
            mailing=link.mailing,
            ptag=link.ptag,
            report_format=link.report_format,
            report_url=link.report_url,
            window=None if link.window[0] is None else link.window,
            data_coding=binary[0] if binary else None,
            esm_class=binary[1] if binary else None,
            push=push,
            cascade_id=c.id,
        )
