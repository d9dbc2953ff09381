"""Handing out reports: leases that wait for new reports, settlements, and their metrics.

Used by ReportLeaseService (LeaseReports / SettleReports, for the SMPP gateways' deliver_sm
receipts) and by the HTTP report sender in core. A waiting lease wakes on the NOTIFY that
finalize sends with new reports (one shared listening connection, ``ChannelWaker``), and
looks again at least every second for reports whose backoff ended.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence

from google.protobuf import timestamp_pb2
from prometheus_client import Counter
from psycopg_pool import AsyncConnectionPool

from rcs.core.v1 import message_service_pb2
from rcs_core.reports import store as reports
from rcs_core.reports.store import LeasedReport
from rcs_runtime.db import autocommit_connection
from rcs_runtime.pg_notify import ChannelWaker
from rcs_runtime.timestamps import timestamp

log = logging.getLogger(__name__)
SETTLED = Counter(
    "rcs_reports_settled_total", "Reports settled, by format and outcome", ["format", "outcome"]
)
RECHECK_SECONDS = 1.0
MAX_WAIT = dt.timedelta(seconds=30)
DEFAULT_LEASE = dt.timedelta(seconds=30)
MAX_LEASE = dt.timedelta(minutes=10)
# Leases and settlements run in autocommit: each statement is a transaction of its own, one
# round trip, with no BEGIN and COMMIT around it. Before, each was a transaction that began
# with `SET LOCAL synchronous_commit = off` so as not to wait for the WAL flush: three round
# trips more per lease or settlement (0.14 statements per SMS end to end), while dropping
# the flush wait alone was within noise (docs/benchmarks.md, sessions 13 and 14).


class ReportDesk:
    def __init__(
        self,
        pool: AsyncConnectionPool,
        *,
        retry_base_seconds: float = 5.0,
        retry_max_seconds: float = 600.0,
    ) -> None:
        self._pool = pool
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        conninfo = pool.conninfo
        assert isinstance(conninfo, str)  # open_pool passes the DSN
        self._arrived = ChannelWaker(conninfo, reports.REPORTS_CHANNEL)

    async def close(self) -> None:
        await self._arrived.close()

    async def lease(
        self,
        *,
        formats: Sequence[int],
        partner_id: int | None,
        limit: int,
        lease_for: dt.timedelta,
        wait: dt.timedelta,
        exclude_partners: Sequence[int] = (),
        room: reports.PartnerRoom | None = None,
        wake: asyncio.Event | None = None,
    ) -> list[LeasedReport]:
        """Due reports (none of ``exclude_partners``; with ``room``, no more of a partner
        than it has room for), waiting up to ``wait`` for one to become due. ``wake`` set
        ends the wait at once, with nothing: the caller's room changed (a request ended)."""
        self._arrived.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(wait, MAX_WAIT).total_seconds()
        while True:
            seen = self._arrived.generation  # before looking: a report made meanwhile wakes us
            async with autocommit_connection(self._pool) as conn:
                leased = await reports.lease(
                    conn,
                    formats=formats,
                    partner_id=partner_id,
                    limit=limit,
                    lease_for=min(lease_for, MAX_LEASE),
                    exclude_partners=exclude_partners,
                    room=room,
                )
            remaining = deadline - loop.time()
            if leased or remaining <= 0 or (wake is not None and wake.is_set()):
                return leased
            await self._arrived.wait_past(seen, min(remaining, RECHECK_SECONDS), or_until=wake)

    async def settle(
        self,
        *,
        delivered: Sequence[int] = (),
        failed: Sequence[int] = (),
        released: Sequence[int] = (),
        error: str = "",
    ) -> int:
        # Delivered, failed and released are settled one statement each: a crash between
        # them leaves the rest leased until their leases end, then due again.
        async with autocommit_connection(self._pool) as conn:
            settled = await reports.settle(
                conn,
                delivered=delivered,
                failed=failed,
                released=released,
                error=error,
                retry_base_seconds=self._retry_base,
                retry_max_seconds=self._retry_max,
            )
        for fmt, outcome in settled:
            SETTLED.labels(format_name(fmt), outcome).inc()
        return len(settled)


_FORMAT_NAMES: dict[int, str] = {
    message_service_pb2.REPORT_FORMAT_SMPP: "smpp",
    message_service_pb2.REPORT_FORMAT_HTTP_V5: "http_v5",
    message_service_pb2.REPORT_FORMAT_REST_V6: "rest_v6",
    message_service_pb2.REPORT_FORMAT_BATCH_V3: "batch_v3",
}


def format_name(fmt: int) -> str:
    return _FORMAT_NAMES.get(fmt, str(fmt))


def _ts(value: str | None) -> timestamp_pb2.Timestamp | None:
    """A time the outbox body keeps in ISO form."""
    return timestamp(dt.datetime.fromisoformat(value)) if value else None


def to_proto(r: LeasedReport) -> message_service_pb2.Report:
    b = r.body
    traffic_type = b.get("traffic_type")
    return message_service_pb2.Report(
        report_id=r.id,
        kind=r.kind,  # type: ignore[arg-type]
        message_id=str(r.message_id),
        client_ref=b.get("client_ref") or "",
        ptag=b.get("ptag") or "",
        destination=b.get("destination") or "",
        sender=b.get("sender") or "",
        text=b.get("text") or "",
        part_count=int(b.get("part_count") or 0),
        status=int(b.get("status") or 0),  # type: ignore[arg-type]
        error_code=int(b.get("error_code") or 0),
        submit_time=_ts(b.get("submit_time")),
        done_time=_ts(b.get("done_time")),
        traffic_type=None if traffic_type is None else int(traffic_type),
        channel=int(b.get("channel") or 0),  # type: ignore[arg-type]
        attempts=r.attempts,
        receipt_copies=int(b.get("receipt_copies") or 0),
        media_url=b.get("media_url") or "",
        reply_to_message_id=b.get("reply_to") or "",
        reply_to_client_ref=b.get("reply_to_ref") or "",
    )
