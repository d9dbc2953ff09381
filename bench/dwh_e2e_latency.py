"""Load: capture latency while the installation carries its end-to-end load.

A whole installation (every component its own process, as bench.rest_e2e) captured by the
real Debezium connector (Kafka Connect) into rcs_dwh: REST v6 sends with --concurrency in
flight for --seconds, each message going core → dispatcher → connector → SMSC simulator →
receipt → DELIVERED, so ``messages`` gets an insert and its status updates and
``status_events`` its rows, all captured. When the DWH has caught up with the installation,
prints commit on the installation (Debezium's ``source.ts_ms``) → row written in the DWH
(``ingested_at``) p50 / p99 / max over the rows the load changed, with the load average.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.dwh_e2e_latency
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
import psycopg
from kafka import KafkaConsumer

from bench.dwh_ingest import one
from rcs_capture.publication import (
    CaptureTarget,
    configure_capture,
    connector_state,
    remove_capture,
)
from rcs_core.db.migrate import migrate
from rcs_dwh.storage import migrate as migrate_dwh
from tests.dwh_support import DwhProcess, scratch_database, unique_root, wait_for
from tests.e2e.installation import Installation
from tests.support import seed_demo

_INSTALLATION = 41
# Messages (their latest change) and status events, the rows the load wrote.
_LATENCY = (
    "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY d),"
    " percentile_cont(0.99) WITHIN GROUP (ORDER BY d), max(d) FROM"
    " (SELECT extract(epoch FROM ingested_at - source_at) AS d FROM dwh_messages"
    "  WHERE source_at >= to_timestamp(%(t)s)"
    "  UNION ALL SELECT extract(epoch FROM ingested_at - source_at) FROM dwh_status_events"
    "  WHERE source_at >= to_timestamp(%(t)s)) s"
)
_SHAPE = "SELECT (SELECT count(*) FROM {m}), (SELECT coalesce(sum(status), 0) FROM {m}),"
_SHAPE += " (SELECT count(*) FROM {e})"


def _shape(dsn: str, prefix: str) -> tuple[int, int, int]:
    """Rows and statuses of the captured transaction tables: equal on both sides once the
    DWH has every change."""
    q = _SHAPE.format(m=f"{prefix}messages", e=f"{prefix}status_events")
    with psycopg.connect(dsn) as conn:
        row = conn.execute(q.encode()).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


async def _send_for(
    inst: Installation, seconds: float, concurrency: int
) -> tuple[int, list[float]]:
    """REST v6 sends, ``concurrency`` in flight, for ``seconds``: how many were accepted, and
    the 1-minute load average sampled every second meanwhile."""
    sent = 0
    loads: list[float] = []
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker(w: int) -> None:
            nonlocal sent
            while time.monotonic() < deadline:
                body = {
                    "login": "demo",
                    "password": "demo",
                    "destAddr": f"7916{w:03d}{sent:04d}",
                    "message": {"type": "SMS", "data": {"text": "dwh", "serviceNumber": "RCS"}},
                }
                async with http.post(inst.url("/api/v6/send"), json=body) as r:
                    if r.status != 200:
                        raise RuntimeError(f"send failed: {r.status} {await r.text()}")
                sent += 1

        async def sample() -> None:
            while time.monotonic() < deadline:
                loads.append(os.getloadavg()[0])
                await asyncio.sleep(1)

        await asyncio.gather(sample(), *(worker(w) for w in range(concurrency)))
    return sent, loads


def _debezium_share(kafka: str, root: str, since_ms: int) -> str:
    """Commit → the record in Kafka (its CreateTime, stamped by Kafka Connect's producer):
    the part of the latency before rcs_dwh, read back from the transaction topics."""
    topics = [f"{root}.i{_INSTALLATION}.public.{t}" for t in ("messages", "status_events")]
    consumer = KafkaConsumer(
        bootstrap_servers=kafka, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    consumer.subscribe(topics=topics)
    delays = []
    for record in consumer:
        if record.value is None:
            continue
        ts_ms = orjson.loads(record.value)["source"]["ts_ms"]
        if ts_ms >= since_ms:
            delays.append((record.timestamp - ts_ms) / 1000)
    consumer.close()
    if not delays:
        return "no records"
    delays.sort()
    p50, p99 = delays[len(delays) // 2], delays[min(len(delays) - 1, len(delays) * 99 // 100)]
    return f"p50 {p50:.2f}s, p99 {p99:.2f}s, max {delays[-1]:.2f}s over {len(delays)} records"


def run(kafka: str, connect: str, seconds: int, concurrency: int, log_dir: Path) -> None:
    root = unique_root()
    with scratch_database("inst_bench") as dsn, scratch_database("dwh_bench") as dwh_db:
        asyncio.run(migrate(dsn, installation_id=_INSTALLATION))
        asyncio.run(migrate_dwh(dwh_db))
        env = {"RCS_INSTALLATION_ID": str(_INSTALLATION), "RCS_LOG_LEVEL": "WARNING"}
        inst = Installation(dsn, log_dir / "installation", extra_env=env)
        asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
        target = CaptureTarget(connect, _INSTALLATION, dsn, root)
        dwh = DwhProcess(dwh_db, kafka, root, f"{_INSTALLATION}=bench", log_dir / "dwh.log")
        try:
            asyncio.run(configure_capture(target, "master"))
            inst.start()
            dwh.start()
            wait_for(
                lambda: asyncio.run(connector_state(target)) == ("RUNNING", ["RUNNING"]),
                120,
                "the connector running",
            )
            inst.wait_ready(120)
            # The settings snapshot in the DWH: capture and ingestion are both under way.
            wait_for(
                lambda: one(dwh_db, "SELECT count(*) FROM dwh_settings_current"),
                120,
                "the settings snapshot in the DWH",
            )
            started = time.time()
            sent, loads = asyncio.run(_send_for(inst, seconds, concurrency))
            took = time.time() - started
            wait_for(
                lambda: inst.smsc_stats()["receipts_acked"] >= sent, 120, "every receipt stored"
            )
            final = _shape(dsn, "")
            wait_for(lambda: _shape(dwh_db, "dwh_") == final, 120, "the DWH caught up")
            with psycopg.connect(dwh_db) as conn:
                rows, p50, p99, worst = conn.execute(_LATENCY, {"t": started}).fetchone() or (
                    0,
                    0,
                    0,
                    0,
                )
            print(
                f"end-to-end load: {sent} REST v6 messages in {took:.1f}s ="
                f" {sent / took:.0f} msg/s accepted ({concurrency} in flight), every receipt"
                f" stored; {final[2]} status events"
            )
            print(
                f"capture latency under that load over {rows} changed rows: p50 {p50:.2f}s,"
                f" p99 {p99:.2f}s, max {worst:.2f}s; load average during the load"
                f" {min(loads):.1f}–{max(loads):.1f}"
            )
            print(
                "of which commit → record in Kafka (Debezium + Kafka Connect):"
                f" {_debezium_share(kafka, root, int(started * 1000))}"
            )
        except (AssertionError, RuntimeError, TimeoutError):
            print(inst.logs())
            print(dwh.log())
            raise
        finally:
            dwh.stop()
            inst.stop()
            asyncio.run(remove_capture(target))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=30, help="how long the load runs")
    ap.add_argument("--concurrency", type=int, default=16, help="REST sends in flight")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rcs-dwh-e2e-") as tmp:
        run(
            os.environ["RCS_TEST_KAFKA"],
            os.environ["RCS_TEST_CONNECT_URL"],
            args.seconds,
            args.concurrency,
            Path(tmp),
        )


if __name__ == "__main__":
    main()
