"""The consumer: Debezium topics → DWH, a batch per poll, exactly once.

kafka-python is synchronous and its consumer not thread-safe, so every call to it runs on
one dedicated thread; the DWH writes are async. Offsets are kept in the DWH, written in the
same transaction as the rows (``dwh_offsets``), and read back whenever partitions are
assigned: a crash at any point replays at most the uncommitted batch, and the LSN guard
makes a replay a no-op. Nothing is committed to Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from typing import Any, TypeVar

import psycopg
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from rcs_dwh import metrics
from rcs_dwh.envelope import BadEventError, parse
from rcs_dwh.group_guard import hold_rejoin_while_rebalancing
from rcs_dwh.settings import DwhSettings
from rcs_dwh.storage import Batch, DwhStore, Parked
from rcs_dwh.topics import TopicWatcher

log = logging.getLogger(__name__)
T = TypeVar("T")


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, continue every partition from the offset stored in the DWH."""

    def __init__(self, ingester: Ingester) -> None:
        self._ingester = ingester

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Batches are applied between polls, so nothing is in flight here.
        pass

    def on_partitions_assigned(self, assigned: Any) -> None:
        self._ingester.seek_to_stored(list(assigned))


class Ingester:
    def __init__(self, s: DwhSettings, store: DwhStore) -> None:
        self._s = s
        self._store = store
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kafka")
        self._consumer: KafkaConsumer | None = None
        self._registry: dict[int, str] = {}
        self._topics: frozenset[str] = frozenset()
        self._applied: dict[tuple[str, int], int] = {}  # next offset, as in dwh_offsets

    async def _on_kafka(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn)

    def _open(self) -> None:
        self._consumer = KafkaConsumer(**consumer_options(self._s))

    def _subscribe(self, topics: frozenset[str]) -> None:
        """An explicit topic list rather than kafka-python's pattern subscription: with the
        latter a topic created while the group was rebalancing was seen to stay unassigned
        until the next rebalance."""
        assert self._consumer is not None
        self._consumer.subscribe(topics=sorted(topics), listener=_SeekToStored(self))
        self._topics = topics
        log.info("dwh_subscribed", extra={"topics": len(topics)})

    def seek_to_stored(self, partitions: list[TopicPartition]) -> None:
        """Runs on the Kafka thread (inside poll): a short synchronous read of the DWH."""
        assert self._consumer is not None
        with psycopg.connect(self._s.dwh_database_url) as conn:
            rows = conn.execute(
                "SELECT topic, kafka_partition, next_offset FROM dwh_offsets"
                " WHERE consumer_group = %s",
                (self._s.dwh_group,),
            ).fetchall()
        stored = {(t, int(p)): int(o) for t, p, o in rows}
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                self._consumer.seek_to_beginning(tp)
            else:
                self._consumer.seek(tp, offset)
                self._applied[(tp.topic, tp.partition)] = offset
        log.info("dwh_partitions_assigned", extra={"partitions": len(partitions)})

    def _poll(self) -> dict[Any, list[Any]]:
        assert self._consumer is not None
        if not self._topics:
            time.sleep(self._s.dwh_poll_ms / 1000)
            return {}
        hold_rejoin_while_rebalancing(self._consumer)
        polled: dict[Any, list[Any]] = self._consumer.poll(
            timeout_ms=self._s.dwh_poll_ms, max_records=self._s.dwh_batch_max
        )
        return polled

    def _lag(self) -> int:
        """From the high watermarks the fetches brought and the offsets applied: no request
        to the broker (end_offsets was a round trip on the poll loop every 2 s). A partition
        counts once a batch of it was applied or its stored offset read."""
        assert self._consumer is not None
        lag = 0
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            applied = self._applied.get((tp.topic, tp.partition))
            if high is not None and applied is not None:
                lag += max(0, high - applied)
        return lag

    def build(self, polled: dict[Any, list[Any]]) -> Batch:
        batch = Batch()
        for tp, records in polled.items():
            for r in records:
                try:
                    change = parse(r.topic, r.key, r.value)
                    if change is None:
                        metrics.EVENTS.labels("tombstone").inc()
                    else:
                        cluster = self._registry.get(change.installation_id)
                        if cluster is None:
                            raise BadEventError(
                                "unknown_installation",
                                f"installation {change.installation_id} is not in the registry"
                                " (RCS_DWH_INSTALLATIONS or the cluster agent)",
                            )
                        batch.changes.append((cluster, change))
                except BadEventError as bad:
                    batch.parked.append(
                        Parked(
                            r.topic, r.partition, r.offset, bad.reason, bad.detail, r.key, r.value
                        )
                    )
            if records:
                batch.offsets[(tp.topic, tp.partition)] = records[-1].offset + 1
        return batch

    async def run(self, ready: asyncio.Event | None = None) -> None:
        await self._store.register(_registry_seed(self._s))
        self._registry = await self._store.registry()
        await self._on_kafka(self._open)
        if ready is not None:
            ready.set()
        refreshed = lag_at = time.monotonic()
        watcher = TopicWatcher(self._s)
        watching = asyncio.create_task(watcher.run())
        try:
            while True:
                polled = await self._on_kafka(self._poll)
                if polled:
                    await self._ingest(polled)
                now = time.monotonic()
                if watching.done():
                    watching.result()  # the watcher failed: fail loudly, not stay deaf
                if watcher.wanted and watcher.wanted != self._topics:
                    await self._on_kafka(partial(self._subscribe, watcher.wanted))
                if now - refreshed >= self._s.dwh_registry_refresh_seconds:
                    self._registry = await self._store.registry()
                    refreshed = now
                if now - lag_at >= 2:
                    lag = await self._best_effort(self._lag)
                    if lag is not None:
                        metrics.LAG.set(lag)
                    lag_at = now
                metrics.BATCH_STAGE_SECONDS.labels("side").observe(time.monotonic() - now)
        finally:
            watching.cancel()
            with suppress(asyncio.CancelledError):
                await watching
            if self._consumer is not None:
                await self._on_kafka(self._consumer.close)
            self._thread.shutdown(wait=False)

    async def _ingest(self, polled: dict[Any, list[Any]]) -> None:
        """One poll's records into the DWH, timing each stage of the batch."""
        polled_at = time.time()
        # A partition's records come in offset order: its first is its oldest.
        oldest_ms = min(
            (records[0].timestamp for records in polled.values() if records),
            default=polled_at * 1000,
        )
        batch = self.build(polled)
        built_at = time.time()
        await self._apply(batch)
        self._applied.update(batch.offsets)
        stage = metrics.BATCH_STAGE_SECONDS
        stage.labels("in_kafka").observe(max(0.0, polled_at - oldest_ms / 1000))
        stage.labels("build").observe(built_at - polled_at)
        stage.labels("apply").observe(time.time() - built_at)

    async def _best_effort(self, fn: Callable[[], T]) -> T | None:
        """Side calls (topic list, lag) while the broker may be away (a restart): skipped
        until it is back, while poll reconnects by itself."""
        try:
            return await self._on_kafka(fn)
        except KafkaError as err:
            log.warning("dwh_kafka_unavailable", extra={"error": str(err)})
            return None

    async def _apply(self, batch: Batch) -> None:
        while True:
            started = time.monotonic()
            try:
                await self._store.apply(batch)
            except (psycopg.OperationalError, psycopg.errors.SerializationFailure) as err:
                # The DWH is down or busy: keep the batch, try again; offsets did not move.
                log.warning("dwh_apply_retry", extra={"error": str(err)})
                await asyncio.sleep(1)
                continue
            break
        metrics.BATCH_SECONDS.observe(time.monotonic() - started)
        wall_ms = time.time() * 1000
        for _, ch in batch.changes:
            if ch.op != "r":
                metrics.CAPTURE_LATENCY.observe(max(0.0, (wall_ms - ch.source_ts_ms) / 1000))
        metrics.EVENTS.labels("applied").inc(len(batch.changes))
        if batch.parked:
            metrics.EVENTS.labels("parked").inc(len(batch.parked))
            for p in batch.parked:
                log.warning(
                    "dwh_event_parked",
                    extra={"topic": p.topic, "offset": p.offset, "reason": p.reason},
                )


def consumer_options(s: DwhSettings) -> dict[str, Any]:
    """rcs_dwh's KafkaConsumer configuration (bench.dwh_ingest measures the fetch alone
    with exactly these)."""
    return {
        "bootstrap_servers": s.dwh_kafka_bootstrap.split(","),
        "group_id": s.dwh_group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_records": s.dwh_batch_max,
        "fetch_max_bytes": 64 * 1024 * 1024,
        "max_partition_fetch_bytes": 16 * 1024 * 1024,
        "reconnect_backoff_max_ms": 2000,
        # kafka-python checks record batches' CRC-32C in pure Python: it cost more than
        # all of the rest of ingestion (with the C `crc32c` package, fetch alone took 11.7
        # µs an event against 5.5-11.3 without the check). TCP and the broker's own
        # checks cover the bytes; the DWH still refuses malformed events.
        "check_crcs": False,
        "client_id": "rcs-dwh",
    }


def _registry_seed(s: DwhSettings) -> dict[int, str]:
    from rcs_dwh.settings import parse_installations

    return parse_installations(s.dwh_installations)


def topic_pattern(root: str) -> str:
    """The subscription pattern for every installation under a topic root."""
    return rf"^{re.escape(root)}\.i\d+\.public\..+"
