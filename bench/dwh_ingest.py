"""Load: the DWH's ingest rate and its capture latency.

1. Ingest: --events Debezium-shaped change events (messages: an insert then an update per
   row, as Debezium writes them without schemas) are produced to Kafka first; then rcs_dwh
   starts (its own process) and the run measures from its first applied batch until every
   event is in the DWH: events/s.
2. Capture latency: an installation database with a real Debezium connector (Kafka
   Connect), rows inserted at --rate per second for --seconds in small transactions;
   latency = the row's commit on the installation (Debezium's source.ts_ms) → the row
   committed in the DWH (``ingested_at``): p50 / p99.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.dwh_ingest
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import psycopg
from kafka import KafkaProducer

from rcs_capture.publication import (
    CaptureTarget,
    configure_capture,
    connector_state,
    remove_capture,
)
from rcs_core.db.migrate import migrate
from rcs_dwh.storage import migrate as migrate_dwh
from tests.dwh_support import (
    DwhProcess,
    envelope,
    message_row,
    scratch_database,
    unique_root,
    wait_for,
)


def _one(dsn: str, sql: str) -> object:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql.encode()).fetchone()
        assert row is not None
        return row[0]


def ingest(kafka: str, events: int, topics: int, log_dir: Path) -> None:
    root = unique_root()
    key = b'{"id": %d, "created_at": "2026-12-01T10:00:00Z"}'
    producer = KafkaProducer(bootstrap_servers=kafka, linger_ms=20, batch_size=512 * 1024)
    rows = events // 2
    started = time.monotonic()
    for i in range(1, rows + 1):
        topic = f"{root}.i{1 + i % topics}.public.messages"
        producer.send(topic, key=key % i, value=envelope("messages", "c", message_row(i), lsn=i))
    for i in range(1, rows + 1):
        topic = f"{root}.i{1 + i % topics}.public.messages"
        row = message_row(i, status=3)
        producer.send(topic, key=key % i, value=envelope("messages", "u", row, lsn=rows + i))
    producer.flush()
    producer.close()
    print(f"produced {2 * rows} events in {time.monotonic() - started:.1f}s")
    installations = ",".join(f"{i}=bench" for i in range(1, topics + 1))
    with scratch_database("dwh_bench") as dwh_db:
        asyncio.run(migrate_dwh(dwh_db))
        dwh = DwhProcess(dwh_db, kafka, root, installations, log_dir / "dwh.log")
        dwh.start()
        try:
            wait_for(
                lambda: _one(dwh_db, "SELECT count(*) FROM dwh_offsets"),
                120,
                "the first batch",
                interval=0.02,
            )
            first = time.monotonic()
            before = int(str(_one(dwh_db, "SELECT coalesce(sum(next_offset), 0) FROM dwh_offsets")))
            wait_for(
                lambda: _one(dwh_db, "SELECT sum(next_offset) FROM dwh_offsets") == 2 * rows,
                600,
                "every event applied",
                interval=0.05,
            )
            took = time.monotonic() - first
            done = 2 * rows - before
            print(f"ingest: {done} events in {took:.2f}s = {done / took:,.0f} events/s")
            assert _one(dwh_db, "SELECT count(*) FROM dwh_messages WHERE status = 3") == rows
        except AssertionError:
            print(dwh.log())
            raise
        finally:
            dwh.stop()


def latency(kafka: str, connect: str, rate: int, seconds: int, log_dir: Path) -> None:
    root = unique_root()
    with scratch_database("inst_bench") as dsn, scratch_database("dwh_bench") as dwh_db:
        asyncio.run(migrate(dsn, installation_id=41))
        asyncio.run(migrate_dwh(dwh_db))
        target = CaptureTarget(connect, 41, dsn, root)
        asyncio.run(configure_capture(target, "master"))
        dwh = DwhProcess(dwh_db, kafka, root, "41=bench", log_dir / "dwh-latency.log")
        try:
            wait_for(
                lambda: asyncio.run(connector_state(target)) == ("RUNNING", ["RUNNING"]),
                120,
                "the connector running",
            )
            dwh.start()
            # A warm-up row first, so that rcs_dwh's start-up is not in the numbers.
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO messages (id, created_at, partner_id, channel, destination,"
                    " sender, body, valid_until, receipt_request, status, status_at)"
                    " VALUES (0, now(), 1, 1, '7916', 'RCS', 'x', now() + interval '1 day',"
                    " 1, 1, now())"
                )
            wait_for(lambda: _one(dwh_db, "SELECT count(*) FROM dwh_messages") == 1, 120, "warm-up")
            total = rate * seconds
            per_tx = max(1, rate // 20)  # 20 commits a second
            with psycopg.connect(dsn, autocommit=True) as conn:
                start = time.monotonic()
                for n in range(0, total, per_tx):
                    conn.execute(
                        "INSERT INTO messages (id, created_at, partner_id, channel, destination,"
                        " sender, body, valid_until, receipt_request, status, status_at)"
                        " SELECT g, now(), 1, 1, '79161234567', 'RCS', 'x',"
                        " now() + interval '1 day', 1, 1, now()"
                        " FROM generate_series(%s::bigint, %s::bigint) g",
                        (n + 1, min(total, n + per_tx)),
                    )
                    pause = start + (n + per_tx) / rate - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
            wait_for(
                lambda: _one(dwh_db, "SELECT count(*) FROM dwh_messages") == total + 1,
                120,
                "every row in the DWH",
            )
            with psycopg.connect(dwh_db) as conn:
                p50, p99, worst = conn.execute(
                    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d),"
                    " percentile_cont(0.99) WITHIN GROUP (ORDER BY d), max(d) FROM"
                    " (SELECT extract(epoch FROM ingested_at - source_at) AS d"
                    "  FROM dwh_messages WHERE id > 0) s"
                ).fetchone() or (0, 0, 0)
            print(
                f"capture latency at {rate} rows/s for {seconds}s: p50 {p50:.2f}s,"
                f" p99 {p99:.2f}s, max {worst:.2f}s"
            )
        finally:
            dwh.stop()
            asyncio.run(remove_capture(target))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--topics", type=int, default=2, help="installations (one topic each)")
    ap.add_argument("--rate", type=int, default=500, help="rows/s for the latency run")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    kafka = os.environ["RCS_TEST_KAFKA"]
    with tempfile.TemporaryDirectory(prefix="rcs-dwh-bench-") as tmp:
        if not args.skip_ingest:
            ingest(kafka, args.events, args.topics, Path(tmp))
        if not args.skip_latency:
            latency(kafka, os.environ["RCS_TEST_CONNECT_URL"], args.rate, args.seconds, Path(tmp))


if __name__ == "__main__":
    main()
