"""rcs_dwh's Prometheus metrics (bounded labels only)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "rcs_dwh_events_total",
    "Change events consumed, by outcome (applied, parked, tombstone); rate() is the ingest rate",
    ["outcome"],
)
LAG = Gauge("rcs_dwh_consumer_lag", "Records in the assigned partitions not yet applied")
CAPTURE_LATENCY = Histogram(
    "rcs_dwh_capture_latency_seconds",
    "Commit on the installation → row committed in the DWH (snapshot reads excluded)",
    buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60),
)
BATCH_SECONDS = Histogram(
    "rcs_dwh_batch_seconds",
    "Time to apply one batch in the DWH (one transaction)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
BATCH_STAGE_SECONDS = Histogram(
    "rcs_dwh_batch_stage_seconds",
    "Where a batch's capture latency goes, per batch: in_kafka (its oldest record's Kafka"
    " timestamp → the poll that returned it), build (parse and check), apply (the DWH"
    " transaction, commit included), side (topic refresh, lag, registry between polls)",
    ["stage"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)
