"""Load: capture latency while the installation carries its end-to-end load.

A whole installation (every component its own process, as bench.rest_e2e) captured by the
real Debezium connector (Kafka Connect) into rcs_dwh: REST v6 sends with --concurrency in
flight for --seconds, each message going core → dispatcher → connector → SMSC simulator →
receipt → DELIVERED, so ``messages`` gets an insert and its status updates and
``status_events`` its rows, all captured. When the DWH has caught up with the installation,
prints commit on the installation (Debezium's ``source.ts_ms``) → row written in the DWH
(``ingested_at``) p50 / p99 / max over the rows the load changed, with the load average;
that latency cut at each record's Kafka timestamp (Debezium + Connect, then rcs_dwh); and
rcs_dwh's per-batch stages (rcs_dwh_batch_stage_seconds). One message goes through first,
so that the topics Debezium creates with a table's first change (a rebalance of rcs_dwh's
group) exist before the measured window.

    eval "$(scripts/test-services.sh env)"; .venv/bin/python -m bench.dwh_e2e_latency
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import urllib.request
from pathlib import Path

import aiohttp
import orjson
import psycopg
from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

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


def _quantiles(delays: list[float]) -> str:
    if not delays:
        return "no records"
    delays.sort()
    p50, p99 = delays[len(delays) // 2], delays[min(len(delays) - 1, len(delays) * 99 // 100)]
    return f"p50 {p50:.2f}s, p99 {p99:.2f}s, max {delays[-1]:.2f}s over {len(delays)}"


def _split(kafka: str, root: str, since_ms: int, dwh_db: str) -> tuple[str, str]:
    """The latency cut at the record's Kafka timestamp (CreateTime, stamped by Kafka
    Connect's producer): commit → Kafka (Debezium + Connect), read back from the transaction
    topics, and Kafka → DWH commit (rcs_dwh) for each DWH row, matched by table and LSN."""
    topics = [f"{root}.i{_INSTALLATION}.public.{t}" for t in ("messages", "status_events")]
    consumer = KafkaConsumer(
        bootstrap_servers=kafka, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    consumer.subscribe(topics=topics)
    debezium = []
    kafka_ms: dict[tuple[str, int], int] = {}
    for record in consumer:
        if record.value is None:
            continue
        source = orjson.loads(record.value)["source"]
        if source["ts_ms"] >= since_ms:
            debezium.append((record.timestamp - source["ts_ms"]) / 1000)
            kafka_ms[(source["table"], int(source["lsn"]))] = record.timestamp
    consumer.close()
    with psycopg.connect(dwh_db) as conn:
        rows = conn.execute(
            "SELECT 'messages', lsn, extract(epoch FROM ingested_at) FROM dwh_messages"
            " WHERE source_at >= to_timestamp(%(t)s) UNION ALL"
            " SELECT 'status_events', lsn, extract(epoch FROM ingested_at) FROM dwh_status_events"
            " WHERE source_at >= to_timestamp(%(t)s)",
            {"t": since_ms / 1000},
        ).fetchall()
    ours = [
        float(at) - kafka_ms[(t, int(lsn))] / 1000 for t, lsn, at in rows if (t, lsn) in kafka_ms
    ]
    return _quantiles(debezium) + " records", _quantiles(ours) + " rows"


Stages = dict[str, dict[float, float]]  # stage → {bucket upper bound: cumulative count}


def _stages(metrics_port: int) -> Stages:
    """rcs_dwh's per-batch stage histograms (rcs_dwh_batch_stage_seconds), read from its
    Prometheus endpoint; ``_sum`` under the key -1."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
        text = r.read().decode()
    out: Stages = {}
    for family in text_string_to_metric_families(text):
        if family.name != "rcs_dwh_batch_stage_seconds":
            continue
        for sample in family.samples:
            stage = sample.labels.get("stage", "")
            if sample.name.endswith("_bucket"):
                out.setdefault(stage, {})[float(sample.labels["le"])] = sample.value
            elif sample.name.endswith("_sum"):
                out.setdefault(stage, {})[-1.0] = sample.value
    return out


def _stage_report(before: Stages, after: Stages) -> str:
    """Per stage over the load: batches, mean, and the bucket bound under which 50 % / 99 %
    of the batches fell."""
    parts = []
    for stage in ("in_kafka", "build", "apply", "side"):
        a, b = after.get(stage, {}), before.get(stage, {})
        cum = {le: n - b.get(le, 0.0) for le, n in a.items() if le >= 0}
        total = cum.get(float("inf"), 0.0)
        if not total:
            continue
        mean = (a.get(-1.0, 0.0) - b.get(-1.0, 0.0)) / total

        def bound(q: float, cum: dict[float, float] = cum, total: float = total) -> str:
            le = min(le for le, n in cum.items() if n >= q * total)
            return "inf" if le == float("inf") else f"≤{le:g}s"

        parts.append(
            f"{stage}: {total:.0f} batches, mean {mean:.3f}s, p50 {bound(0.5)}, p99 {bound(0.99)}"
        )
    return "; ".join(parts) or "no batches"


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
            # One message first: Debezium creates a table's topic with its first change, and
            # a new topic is a rebalance of rcs_dwh's group (seconds under load). That happens
            # once in an installation's life, not in its steady state, measured here.
            asyncio.run(_send_for(inst, 0.5, 1))
            wait_for(
                lambda: one(dwh_db, "SELECT count(*) FROM dwh_status_events"),
                120,
                "the first message's rows in the DWH",
            )
            started = time.time()
            stages_before = _stages(dwh.metrics_port)
            sent, loads = asyncio.run(_send_for(inst, seconds, concurrency))
            took = time.time() - started
            wait_for(
                lambda: inst.smsc_stats()["receipts_acked"] >= sent, 120, "every receipt stored"
            )
            final = _shape(dsn, "")
            wait_for(lambda: _shape(dwh_db, "dwh_") == final, 120, "the DWH caught up")
            stages = _stage_report(stages_before, _stages(dwh.metrics_port))
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
            debezium, ours = _split(kafka, root, int(started * 1000), dwh_db)
            print(f"of which commit → record in Kafka (Debezium + Kafka Connect): {debezium}")
            print(f"and record in Kafka → row committed in the DWH (rcs_dwh): {ours}")
            print(f"rcs_dwh per batch (Kafka timestamp → DWH commit): {stages}")
            log = (log_dir / "dwh.log").read_text(errors="replace")
            print(
                f"rcs_dwh's group over the whole run: {log.count('dwh_subscribed')} topic-set"
                f" changes, {log.count('dwh_partitions_assigned')} assignments"
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
