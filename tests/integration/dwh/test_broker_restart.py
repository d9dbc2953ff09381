"""A broker of this test's own (scripts/cdc/stack.sh with CDC_CONNECT=0 on free ports) is
restarted under rcs_dwh: ingestion resumes by itself, nothing lost, nothing twice."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from tests.conftest import two_free_ports
from tests.dwh_support import DwhProcess, envelope, message_row, wait_for
from tests.integration.dwh.conftest import query

STACK = Path(__file__).resolve().parents[3] / "scripts" / "cdc" / "stack.sh"
KEY = b'{"id": %d, "created_at": "2026-12-01T10:00:00Z"}'


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = two_free_ports()  # the broker's and, on the next port, its controller's
    env = {
        **os.environ,
        "CDC_KAFKA_PORT": str(port),
        "CDC_CONNECT": "0",
        "CDC_RUN_DIR": str(tmp_path / "kafka"),
    }
    started = time.monotonic()
    subprocess.run([str(STACK), "up"], env=env, check=True, capture_output=True, timeout=300)
    print(f"broker up in {time.monotonic() - started:.1f}s")
    try:
        yield f"127.0.0.1:{port}", env
    finally:
        subprocess.run([str(STACK), "down"], env=env, check=False, timeout=120)


def test_ingestion_resumes_by_itself_after_the_broker_restarts(
    broker: tuple[str, dict[str, str]], dwh_db: str, root: str, tmp_path: Path
) -> None:
    bootstrap, env = broker
    dwh = DwhProcess(dwh_db, bootstrap, root, "1=east", tmp_path / "dwh.log")
    topic = f"{root}.i1.public.messages"

    def produce(first: int, n: int) -> None:
        p = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
        for i in range(first, first + n):
            p.send(topic, key=KEY % i, value=envelope("messages", "c", message_row(i), lsn=i))
        p.flush()
        p.close(timeout=5)

    produce(1, 500)
    dwh.start()
    try:
        wait_for(
            lambda: query(dwh_db, "SELECT count(*) FROM dwh_messages")[0][0] == 500,
            180,
            "the first 500 in the DWH",
        )
        started = time.monotonic()
        subprocess.run([str(STACK), "restart-kafka"], env=env, check=True, timeout=300)
        print(f"broker restarted in {time.monotonic() - started:.1f}s")
        produce(501, 500)
        wait_for(
            lambda: query(dwh_db, "SELECT count(*) FROM dwh_messages")[0][0] == 1000,
            180,
            "the 500 produced after the restart in the DWH",
        )
        assert query(
            dwh_db, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM dwh_messages"
        ) == [(1000, 1000, 1, 1000)]
        assert dwh.alive()
    finally:
        dwh.stop()
        print(dwh.log()[-3000:])
