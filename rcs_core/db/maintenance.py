"""Periodic housekeeping: partitions ahead/behind and statistics for a new day's, the
sweep that gives every message a final status even when an operator never sends its
receipt, the end of expired MO sessions, and the rows of SMPP sessions whose lease ended
(a gateway that died)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

from rcs_core.auth import failures_store as auth_failures
from rcs_core.auth import smpp_sessions_store as smpp_sessions
from rcs_core.config import CoreSettings
from rcs_core.db import partitions
from rcs_core.delivery import cascade_store
from rcs_core.delivery.finalize import finalize
from rcs_core.inbound import store as inbound
from rcs_core.messages import concatenated
from rcs_core.messages.idalloc import IdAllocator
from rcs_core.messages.statuses import ExtendedError, Status
from rcs_core.reports import store as reports
from rcs_core.reports.desk import format_name
from rcs_runtime.db import autocommit_connection

log = logging.getLogger(__name__)
QUEUE_DEPTH = Gauge("rcs_queue_depth", "Messages waiting in the dispatch queue", ["state"])
QUEUE_OLDEST = Gauge("rcs_queue_oldest_due_seconds", "Age of the oldest due queue entry")
REPORT_BACKLOG = Gauge("rcs_report_backlog", "Reports waiting to be delivered", ["format"])
REPORT_OLDEST = Gauge("rcs_report_oldest_seconds", "Age of the oldest waiting report", ["format"])
REPORTS_ABANDONED = Counter(
    "rcs_reports_abandoned_total",
    "Reports dropped undelivered after RCS_REPORT_MAX_AGE_HOURS",
    ["format"],
)
_LOCK_KEY = 0x7263735F6D6E74  # "rcs_mnt": one installation-wide maintainer at a time
_ANALYZE_LOCK_KEY = _LOCK_KEY + 1  # one process analyzes young partitions at a time
_SESSIONS_PER_TRANSACTION = 1000
_SWEEP_BATCH = 10_000
_MARK_MARGIN = dt.timedelta(minutes=10)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


async def run_once(
    pool: AsyncConnectionPool, s: CoreSettings, ids: IdAllocator | None = None
) -> int:
    """One pass; returns how many overdue messages were expired."""
    ids = ids or IdAllocator(s.installation_id)
    async with autocommit_connection(pool) as conn:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,))
        row = await cur.fetchone()
        if not row or not row[0]:
            return 0
        try:
            await partitions.maintain(
                conn,
                days_ahead=s.partitions_ahead_days,
                retention_days=s.retention_days,
                audit_retention_days=s.audit_retention_days,
            )
            await conn.execute("DELETE FROM inactive_numbers WHERE expires_at <= now()")
            await smpp_sessions.delete_expired(conn)
            await cascade_store.forget_finished(conn, dt.timedelta(days=s.retention_days))
            await auth_failures.forget_older_than(
                conn, dt.timedelta(seconds=s.auth_failure_window_seconds)
            )
            dropped = await reports.drop_older_than(
                conn, dt.timedelta(hours=s.report_max_age_hours)
            )
            for fmt, count in dropped.items():
                REPORTS_ABANDONED.labels(format_name(fmt)).inc(count)
                log.warning(
                    "reports_abandoned",
                    extra={"format": format_name(fmt), "count": count},
                )
            # Parts whose siblings never came are dropped after a day (logged by count).
            cur = await conn.execute(
                "DELETE FROM inbound_parts WHERE received_at < now() - interval '1 day'"
            )
            if cur.rowcount:
                log.warning("inbound_parts_abandoned", extra={"count": cur.rowcount})
            for table in ("client_refs", "request_log", "pending_receipts", "inbound_messages"):
                column = "created_at" if table in ("client_refs", "request_log") else "received_at"
                await conn.execute(
                    f"DELETE FROM {table} WHERE {column} < now() - make_interval(days => %s)",  # noqa: S608 (constant names)
                    (s.retention_days,),
                )
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    async with pool.connection() as conn, conn.transaction():
        await concatenated.give_up_overdue(
            conn, ids, dt.timedelta(seconds=s.submit_parts_timeout_seconds)
        )
    await _end_expired_sessions(pool, ids)
    changed = await _expire_without_receipt(pool, s.receipt_grace_seconds)
    if changed:
        log.info("messages_expired_without_receipt", extra={"count": changed})
    return changed


async def _expire_without_receipt(pool: AsyncConnectionPool, grace_seconds: int) -> int:
    """SENT messages whose validity ended more than the grace ago get EXPIRED (code 7).

    No index knows the status (status updates stay HOT, migration 0024), so the sweep walks
    valid_until from where the last one stopped (maintenance_marks 'expired_until', less a
    margin for transactions that were still open then) to now - grace. A message cannot
    become SENT after its validity, so what is behind the mark stays done."""
    expired = 0
    while True:
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT at, now() - make_interval(secs => %s) FROM maintenance_marks"
                " WHERE name = 'expired_until' FOR UPDATE",
                (grace_seconds,),
            )
            row = await cur.fetchone()
            since, until = row if row is not None else (_EPOCH, None)
            cur = await conn.execute(
                "SELECT id, created_at, valid_until FROM messages WHERE status = %s"
                " AND valid_until > %s - %s::interval"
                " AND valid_until < coalesce(%s, now() - make_interval(secs => %s))"
                " ORDER BY valid_until LIMIT %s",
                (int(Status.SENT), since, _MARK_MARGIN, until, grace_seconds, _SWEEP_BATCH),
            )
            rows = await cur.fetchall()
            overdue = {mid: created for mid, created, _ in rows}
            expired += len(
                await finalize(
                    conn,
                    [
                        (mid, Status.EXPIRED, int(ExtendedError.TIMEOUT), "no_receipt")
                        for mid in overdue
                    ],
                    created_at=overdue,
                )
            )
            full = len(rows) == _SWEEP_BATCH
            if until is not None:
                await conn.execute(
                    "UPDATE maintenance_marks SET at = %s WHERE name = 'expired_until'",
                    (rows[-1][2] if full else until,),
                )
        if not full:
            return expired


async def _end_expired_sessions(pool: AsyncConnectionPool, ids: IdAllocator) -> None:
    """Expired MO sessions end, their subscribers told, a transaction per batch (several
    cores may do this at once: each takes sessions the others have not locked)."""
    async with pool.connection() as conn:
        while True:
            async with conn.transaction():
                ended = await inbound.end_expired_sessions(conn, ids, _SESSIONS_PER_TRANSACTION)
            if ended < _SESSIONS_PER_TRANSACTION:
                return


async def observe_queue(pool: AsyncConnectionPool) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) FILTER (WHERE not_before <= now()),"
            " count(*) FILTER (WHERE not_before > now()),"
            " coalesce(extract(epoch FROM now() - min(not_before)"
            "  FILTER (WHERE not_before <= now())), 0)"
            " FROM dispatch_queue"
        )
        row = await cur.fetchone()
        waiting = await reports.backlog(conn)
    if row is not None:
        QUEUE_DEPTH.labels("due").set(row[0])
        QUEUE_DEPTH.labels("retry_later").set(row[1])
        QUEUE_OLDEST.set(float(row[2]))
    for fmt in (1, 2, 3, 4):
        count, age = waiting.get(fmt, (0, 0.0))
        REPORT_BACKLOG.labels(format_name(fmt)).set(count)
        REPORT_OLDEST.labels(format_name(fmt)).set(age)


async def _analyze_young(pool: AsyncConnectionPool) -> None:
    # ANALYZE takes its own transaction per table.
    async with autocommit_connection(pool) as conn:
        cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (_ANALYZE_LOCK_KEY,))
        row = await cur.fetchone()
        if not row or not row[0]:
            return
        try:
            await partitions.analyze_young(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_ANALYZE_LOCK_KEY,))


async def run_forever(pool: AsyncConnectionPool, s: CoreSettings) -> None:
    last = -1e9
    loop = asyncio.get_running_loop()
    ids = IdAllocator(s.installation_id)
    while True:
        # Each step on its own: a failing one (metrics, statistics) must never keep the
        # partitions from being created or messages from getting their final status.
        for step in (observe_queue, _analyze_young):
            try:
                await step(pool)
            except Exception:
                log.exception("maintenance_step_failed", extra={"step": step.__name__})
        if loop.time() - last >= s.maintenance_interval_seconds:
            last = loop.time()
            try:
                await run_once(pool, s, ids)
            except Exception:
                log.exception("maintenance_failed")
        await asyncio.sleep(min(5.0, s.maintenance_interval_seconds))
