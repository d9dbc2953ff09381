"""Installation reports on a million messages, read from the streaming replica.

Makes a throwaway database on the replica's primary (RCS_TEST_REPLICA_PRIMARY_DSN), fills
it with SQL (generate_series: ``--messages`` MT messages over yesterday and today, 20 partners, 3
operators), waits until the replica (RCS_TEST_REPLICA_DSN) has replayed it, then times on
the replica: the summary by partner/day/status, the summary by operator/direction/channel,
a first search page filtered by partner, and the whole-search Excel export through
ReportService (rows → xlsxwriter constant-memory → bytes), with the process's peak RSS
above its level before the export. Drops the database at the end.

    python -m bench.reports --messages 1000000 [--export-rows 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import threading
import time
from typing import Any

import psycopg

from rcs.core.v1 import report_service_pb2 as rs
from rcs_core.db.migrate import migrate
from rcs_core.traffic_reports.servicer import ReportServicer
from rcs_runtime.db import open_pool
from rcs_runtime.replica import ReadPools

D = rs.SummaryDimension
NO_CONTEXT: Any = None  # the servicer's methods called in-process use no gRPC context


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """Samples this process's resident memory every 20 ms while running."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _fill(dsn: str, n: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO partners (login, password_hash)"
            " SELECT 'partner' || g, 'x' FROM generate_series(1, 20) g"
        )
        for i, op in enumerate(("MTS", "Beeline", "Megafon")):
            conn.execute("INSERT INTO operators (name) VALUES (%s)", (op,))
            conn.execute(
                "INSERT INTO interfaces (id, host, port, system_id, password)"
                " VALUES (%s, '127.0.0.1', 2775, 'rcs', 'pw')",
                (f"if-{i}",),
            )
            conn.execute(
                "INSERT INTO operator_routes (operator_id, interface_id)"
                " SELECT id, %s FROM operators WHERE name = %s",
                (f"if-{i}", op),
            )
        # Spread over yesterday and today (both partitions exist after migrate).
        conn.execute(
            "INSERT INTO messages (id, created_at, partner_id, channel, destination, sender,"
            " body, valid_until, receipt_request, status, status_at, interface_id, part_count)"
            " SELECT 10^12 + g, at, (SELECT min(id) FROM partners) + g %% 20, 1,"
            "  '7900' || lpad((g %% 1000000)::text, 7, '0'), 'Sender' || g %% 7,"
            "  'Your code is ' || g, at + interval '1 day', 0, 2 + g %% 5, at,"
            "  'if-' || g %% 3, 1 + g %% 2"
            " FROM (SELECT g, date_trunc('day', now()) - interval '1 day'"
            "        + (g::float8 / %s) * (now() - (date_trunc('day', now()) - interval '1 day'))"
            "        AS at FROM generate_series(1, %s) g) s",
            (n, n),
        )
        conn.execute("VACUUM ANALYZE messages")


async def _wait_replica(replica_dsn: str, n: int) -> float:
    start = time.monotonic()
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(replica_dsn) as conn:
                row = await (await conn.execute("SELECT count(*) FROM messages")).fetchone()
                if row and row[0] == n:
                    return time.monotonic() - start
        except psycopg.errors.Error:
            pass
        await asyncio.sleep(0.5)


async def _timed(label: str, work: Any) -> Any:
    start = time.perf_counter()
    result = await work
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return result


async def run(args: argparse.Namespace) -> None:
    admin = os.environ["RCS_TEST_REPLICA_PRIMARY_DSN"]
    replica_admin = os.environ["RCS_TEST_REPLICA_DSN"]
    name = f"rcs_bench_reports_{os.getpid()}"
    dsn = psycopg.conninfo.make_conninfo(admin, dbname=name)
    replica_dsn = psycopg.conninfo.make_conninfo(replica_admin, dbname=name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        await migrate(dsn, 1)
        start = time.perf_counter()
        _fill(dsn, args.messages)
        print(
            f"filled {args.messages} messages on the master in {time.perf_counter() - start:.1f} s"
        )
        print(f"replica caught up {await _wait_replica(replica_dsn, args.messages):.1f} s later")
        master = await open_pool(dsn, min_size=1, max_size=2)
        reads = await ReadPools.open(
            master, replica_dsn, max_lag_seconds=60, check_seconds=60, max_size=2
        )
        servicer = ReportServicer(reads, zone="UTC")
        try:
            by_partner = rs.SummarizeRequest(
                group_by=[
                    D.SUMMARY_DIMENSION_PARTNER,
                    D.SUMMARY_DIMENSION_DAY,
                    D.SUMMARY_DIMENSION_STATUS,
                ]
            )
            answer = await _timed(
                "summary partner/day/status", servicer.Summarize(by_partner, NO_CONTEXT)
            )
            assert answer.from_replica, "the replica did not answer"
            assert answer.total_messages == args.messages, answer.total_messages
            print(f"  {len(answer.rows)} rows, {answer.total_messages} messages, from replica")
            by_op = rs.SummarizeRequest(
                group_by=[
                    D.SUMMARY_DIMENSION_OPERATOR,
                    D.SUMMARY_DIMENSION_DIRECTION,
                    D.SUMMARY_DIMENSION_CHANNEL,
                ]
            )
            answer = await _timed(
                "summary operator/direction/channel", servicer.Summarize(by_op, NO_CONTEXT)
            )
            print(f"  {len(answer.rows)} rows")
            page = rs.SearchMessagesRequest(
                filter=rs.ReportFilter(partner="partner7"), page_size=100
            )
            found = await _timed(
                "search first page, one partner (50,000 matches)",
                servicer.SearchMessages(page, NO_CONTEXT),
            )
            page.page_token = found.next_page_token
            await _timed("search next page", servicer.SearchMessages(page, NO_CONTEXT))
            number = rs.SearchMessagesRequest(filter=rs.ReportFilter(number="79000000042"))
            await _timed("search by number", servicer.SearchMessages(number, NO_CONTEXT))

            export = rs.ExportSearchRequest()
            if args.export_rows < args.messages:
                # The newest export_rows messages: a run short enough for a shared box.
                async with await psycopg.AsyncConnection.connect(replica_dsn) as conn:
                    cur = await conn.execute(
                        "SELECT created_at FROM messages"
                        " ORDER BY created_at DESC OFFSET %s LIMIT 1",
                        (args.export_rows - 1,),
                    )
                    row = await cur.fetchone()
                    assert row is not None
                    export.filter.since.FromDatetime(row[0])
            before = _rss_mb()
            size = rows = 0
            start = time.perf_counter()
            cpu = time.process_time()
            with PeakRss() as peak:
                async for chunk in servicer.ExportSearch(export, NO_CONTEXT):
                    if chunk.WhichOneof("chunk") == "rows_done":
                        rows = chunk.rows_done
                    else:
                        size += len(chunk.data)
            took = time.perf_counter() - start
            cpu = time.process_time() - cpu
            print(
                f"excel export: {rows} rows, {size / 2**20:.1f} MiB in {took:.1f} s"
                f" ({rows / took:,.0f} rows/s), {cpu:.1f} s of this process's CPU"
                f" ({rows / cpu:,.0f} rows per CPU second); RSS {before:.0f} MiB before,"
                f" peak {peak.peak:.0f} MiB (+{peak.peak - before:.0f});"
                f" ru_maxrss {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
            )
        finally:
            await reads.close()
            await master.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--messages", type=int, default=1_000_000)
    p.add_argument(
        "--export-rows", type=int, default=1_000_000, help="export only the newest this many"
    )
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
