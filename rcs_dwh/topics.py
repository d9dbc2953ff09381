"""Which topics rcs_dwh reads: every topic matching the pattern, looked for on a thread and
a Kafka admin client of its own.

The consumer's own ``topics()`` fetches the metadata of every topic in the cluster on the
consumer's I/O loop and blocks the poll loop meanwhile: with 1,300 topics on the shared test
broker that was 0.2-2 s every refresh (load 17-30), a stop in ingestion each time. Here the
poll loop only compares two sets.
"""

from __future__ import annotations

import asyncio
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from rcs_dwh.settings import DwhSettings

log = logging.getLogger(__name__)


class TopicWatcher:
    def __init__(self, s: DwhSettings) -> None:
        self._s = s
        self._pattern = re.compile(s.dwh_topic_pattern)
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="kafka-topics")
        self._admin: KafkaAdminClient | None = None
        self.wanted: frozenset[str] = frozenset()
        self.found = asyncio.Event()  # set after the first successful look

    def _look(self) -> frozenset[str]:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self._s.dwh_kafka_bootstrap.split(","),
                client_id="rcs-dwh-topics",
                reconnect_backoff_max_ms=2000,
            )
        return frozenset(t for t in self._admin.list_topics() if self._pattern.search(t))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    self.wanted = await loop.run_in_executor(self._thread, self._look)
                    self.found.set()
                except KafkaError as err:
                    # The broker is away (a restart): keep the topics known, look again.
                    log.warning("dwh_topics_unavailable", extra={"error": str(err)})
                await asyncio.sleep(self._s.dwh_topic_refresh_seconds)
        finally:
            if self._admin is not None:
                await loop.run_in_executor(self._thread, self._admin.close)
            self._thread.shutdown(wait=False)
