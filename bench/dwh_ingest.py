"""Load: the DWH's ingest rate and its capture latency.

1. Ingest: --events Debezium-shaped change events (messages: an insert then an update per
   row, as Debezium writes them without schemas) are produced to Kafka first; then rcs_dwh
   starts (its own process; --workers of them in one group, over --partitions per topic)
   and the run measures from its first applied batch until every event is in the DWH:
   events/s and CPU per event (rcs_dwh, the DWH database's backends). --harness also
   times kafka-python's fetch alone (rcs_dwh's consumer options, records discarded).
2. Capture latency: an installation database with a real Debezium connector (Kafka
   Connect), rows inserted at --rate per second for --seconds in small transactions;
   latency = the row's commit on the installation (Debezium's source.ts_ms) → the row
   committed in the DWH (``ingested_at``): p50 / p99. Under end-to-end load instead:
   bench.dwh_e2e_latency.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.dwh_ingest
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from bench.cpu import CpuMeter, cpu_seconds
from rcs_capture.publication import (
    CaptureTarget,
    configure_capture,
    connector_state,
    remove_capture,
)
from rcs_core.db.migrate import migrate
from rcs_dwh.ingest import consumer_options
from rcs_dwh.settings import DwhSettings
from rcs_dwh.storage import migrate as migrate_dwh
from tests.dwh_support import (
    DwhProcess,
    envelope,
    message_row,
    scratch_database,
    unique_root,
    wait_for,
)


def one(dsn: str, sql: str) -> object:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(sql.encode()).fetchone()
        assert row is not None
        return row[0]


def _template(op: str, status: int) -> bytes:
    """A Debezium-shaped ``messages`` event with ``%d`` for the row id and the LSN: the lean
    producer formats bytes instead of building and dumping a dict per event."""
    row = message_row(111_111_111, status=status)
    raw = envelope("messages", op, row, lsn=222_222_222)
    assert raw.count(b"111111111") == 1
    assert raw.count(b"222222222") == 1
    return raw.replace(b"111111111", b"%d").replace(b"222222222", b"%d")


def produce(kafka: str, root: str, events: int, topics: int, partitions: int) -> list[str]:
    """``events`` events (an insert then an update per row) on ``topics`` installations'
    ``messages`` topics of ``partitions`` partitions each; a row's two events share a
    partition, as Debezium's key hash keeps them."""
    names = [f"{root}.i{n}.public.messages" for n in range(1, topics + 1)]
    admin = KafkaAdminClient(bootstrap_servers=kafka)
    admin.create_topics([NewTopic(t, partitions, 1) for t in names])
    admin.close()
    key = b'{"id":%d,"created_at":"2026-12-01T10:00:00Z"}'
    insert, update = _template("c", 1), _template("u", 3)
    producer = KafkaProducer(bootstrap_servers=kafka, linger_ms=50, batch_size=1024 * 1024, acks=1)
    rows = events // 2
    cpu, started = time.process_time(), time.monotonic()
    for template, lsn0 in ((insert, 0), (update, rows)):
        for i in range(1, rows + 1):
            producer.send(
                names[i % topics],
                key=key % i,
                value=template % (i, lsn0 + i),
                partition=(i // topics) % partitions,
            )
    producer.flush()
    took, cpu = time.monotonic() - started, time.process_time() - cpu
    producer.close()
    print(
        f"produce: {2 * rows} events in {took:.2f}s = {2 * rows / took:,.0f} events/s,"
        f" {cpu * 1e6 / (2 * rows):.1f} µs CPU per event"
    )
    return names


def fetch_alone(kafka: str, names: list[str], events: int) -> None:
    """kafka-python's fetch and decoding with rcs_dwh's consumer options, records discarded."""
    s = DwhSettings(dwh_kafka_bootstrap=kafka, dwh_group=f"fetch-{uuid.uuid4().hex[:8]}")
    consumer = KafkaConsumer(**consumer_options(s))
    consumer.subscribe(topics=names)
    seen = 0
    deadline = time.monotonic() + 120
    while seen == 0 and time.monotonic() < deadline:
        seen = sum(len(r) for r in consumer.poll(timeout_ms=200).values())
    cpu, started = time.process_time(), time.monotonic()
    while seen < events and time.monotonic() < deadline:
        seen += sum(len(r) for r in consumer.poll(timeout_ms=200).values())
    took, cpu = time.monotonic() - started, time.process_time() - cpu
    consumer.close()
    print(
        f"fetch alone (consume and discard): {seen} events, after the first poll"
        f" {took:.2f}s = {seen / took:,.0f} events/s, {cpu * 1e6 / seen:.1f} µs CPU per event"
    )


def _dwh_backends(dsn: str) -> list[int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(r[0]) for r in rows]


def ingest(kafka: str, root: str, events: int, topics: int, workers: int, log_dir: Path) -> None:
    installations = ",".join(f"{i}=bench" for i in range(1, topics + 1))
    with scratch_database("dwh_bench") as dwh_db:
        asyncio.run(migrate_dwh(dwh_db))
        group = f"dwh-{uuid.uuid4().hex[:8]}"
        dwhs = [
            DwhProcess(dwh_db, kafka, root, installations, log_dir / f"dwh{n}.log", group=group)
            for n in range(workers)
        ]
        for dwh in dwhs:
            dwh.start()
        try:
            wait_for(
                lambda: one(dwh_db, "SELECT count(*) FROM dwh_offsets"),
                120,
                "the first batch",
                interval=0.02,
            )
            first = time.monotonic()
            meter = CpuMeter(
                {"rcs_dwh": [d.proc.pid for d in dwhs if d.proc], "dwh postgres": []},
                postgres=False,
            )
            backends = _dwh_backends(dwh_db)
            meter.start()
            pg_before = {p: cpu_seconds(p) for p in backends}
            before = int(str(one(dwh_db, "SELECT coalesce(sum(next_offset), 0) FROM dwh_offsets")))
            wait_for(
                lambda: one(dwh_db, "SELECT sum(next_offset) FROM dwh_offsets") == events,
                600,
                "every event applied",
                interval=0.05,
            )
            took = time.monotonic() - first
            meter.stop()
            meter.seconds["dwh postgres"] = sum(cpu_seconds(p) - t for p, t in pg_before.items())
            done = events - before
            print(
                f"ingest ({workers} rcs_dwh): {done} events in {took:.2f}s ="
                f" {done / took:,.0f} events/s"
            )
            print(meter.report(done).replace("per message (ms)", "per event (ms)"))
            assert one(dwh_db, "SELECT count(*) FROM dwh_messages WHERE status = 3") == events // 2
        except AssertionError:
            for dwh in dwhs:
                print(dwh.log())
            raise
        finally:
            for dwh in dwhs:
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
            wait_for(lambda: one(dwh_db, "SELECT count(*) FROM dwh_messages") == 1, 120, "warm-up")
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
                lambda: one(dwh_db, "SELECT count(*) FROM dwh_messages") == total + 1,
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
    ap.add_argument("--partitions", type=int, default=1, help="partitions per topic")
    ap.add_argument("--workers", type=int, default=1, help="rcs_dwh processes in the group")
    ap.add_argument("--harness", action="store_true", help="also time kafka-python's fetch alone")
    ap.add_argument("--rate", type=int, default=500, help="rows/s for the latency run")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args()
    kafka = os.environ["RCS_TEST_KAFKA"]
    with tempfile.TemporaryDirectory(prefix="rcs-dwh-bench-") as tmp:
        if not args.skip_ingest:
            events = args.events // 2 * 2
            root = unique_root()
            names = produce(kafka, root, events, args.topics, args.partitions)
            if args.harness:
                fetch_alone(kafka, names, events)
            ingest(kafka, root, events, args.topics, args.workers, Path(tmp))
        if not args.skip_latency:
            latency(kafka, os.environ["RCS_TEST_CONNECT_URL"], args.rate, args.seconds, Path(tmp))


if __name__ == "__main__":
    main()
