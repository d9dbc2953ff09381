from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaProducer

from rcs_dwh.storage import migrate
from tests.dwh_support import DwhProcess, kafka_bootstrap, scratch_database, unique_root


@pytest.fixture
def dwh_db() -> Iterator[str]:
    with scratch_database("dwh") as dsn:
        asyncio.run(migrate(dsn))
        yield dsn


@pytest.fixture
def root() -> str:
    return unique_root()


@pytest.fixture
def producer() -> Iterator[KafkaProducer]:
    p = KafkaProducer(bootstrap_servers=kafka_bootstrap(), linger_ms=5, acks="all")
    yield p
    p.close(timeout=5)


@pytest.fixture
def dwh(dwh_db: str, root: str, tmp_path: Path) -> Iterator[DwhProcess]:
    """rcs_dwh on the shared Kafka, reading this test's topics; installations 1 and 2 in
    cluster "east", 3 in "west"."""
    proc = DwhProcess(dwh_db, kafka_bootstrap(), root, "1=east,2=east,3=west", tmp_path / "dwh.log")
    proc.start()
    yield proc
    proc.stop()
    print(proc.log())  # shown when the test failed


def query(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql.encode(), args).fetchall()
