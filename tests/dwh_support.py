"""What the DWH tests share: the running CDC stack's addresses, throwaway databases,
rcs_dwh as a real process, and Debezium-shaped events for tests that feed Kafka directly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import free_port


def kafka_bootstrap() -> str:
    value = os.environ.get("RCS_TEST_KAFKA")
    if not value:
        pytest.fail(
            "RCS_TEST_KAFKA is not set: run the tests through `make test`, which starts Kafka "
            "and Kafka Connect (scripts/test-services.sh up → scripts/cdc/stack.sh)"
        )
    return value


def connect_url() -> str:
    value = os.environ.get("RCS_TEST_CONNECT_URL")
    if not value:
        pytest.fail("RCS_TEST_CONNECT_URL is not set: run the tests through `make test`")
    return value


def admin_dsn() -> str:
    dsn = os.environ.get("RCS_TEST_DSN")
    if not dsn:
        pytest.fail("RCS_TEST_DSN is not set: run the tests through `make test`")
    return dsn


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """An empty database, dropped afterwards (with its replication slots)."""
    admin = admin_dsn()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(admin, dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for (slot,) in conn.execute(
                "SELECT slot_name FROM pg_replication_slots WHERE database = %s AND NOT active",
                (name,),
            ).fetchall():
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_root() -> str:
    """A topic root of this test's own (topics: <root>.i<installation>.public.<table>)."""
    return f"t{uuid.uuid4().hex[:10]}"


@dataclass
class DwhProcess:
    """``rcs serve dwh`` as its own process."""

    database_url: str
    kafka: str
    topic_root: str
    installations: str
    log_path: Path
    group: str = field(default_factory=lambda: f"dwh-{uuid.uuid4().hex[:8]}")
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "RCS_DWH_DATABASE_URL": self.database_url,
                "RCS_DWH_KAFKA_BOOTSTRAP": self.kafka,
                "RCS_DWH_TOPIC_PATTERN": rf"^{self.topic_root}\.i\d+\.public\..+",
                "RCS_DWH_GROUP": self.group,
                "RCS_DWH_INSTALLATIONS": self.installations,
                "RCS_DWH_BIND": f"127.0.0.1:{self.port}",
                "RCS_METRICS_PORT": str(self.metrics_port),
                "RCS_DWH_REGISTRY_REFRESH_SECONDS": "1",
                **self.extra_env,
            }
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "rcs_cli", "serve", "dwh"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def wait_for(predicate: Any, within: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within}s (last: {value!r})")
        time.sleep(interval)


def envelope(
    table: str,
    op: str,
    row: dict[str, Any] | None,
    *,
    lsn: int,
    ts_ms: int | None = None,
    before: dict[str, Any] | None = None,
    with_schema: bool = False,
) -> bytes:
    """A Debezium PostgreSQL change event as the JSON converter writes it."""
    ts = ts_ms if ts_ms is not None else int(time.time() * 1000)
    payload = {
        "before": before,
        "after": row,
        "source": {
            "version": "3.6.1.Final",
            "connector": "postgresql",
            "name": "test",
            "ts_ms": ts,
            "snapshot": "false",
            "db": "test",
            "schema": "public",
            "table": table,
            "txId": 1,
            "lsn": lsn,
        },
        "transaction": None,
        "op": op,
        "ts_ms": ts,
    }
    if with_schema:
        # The converter's schema part; rcs_dwh reads the payload only.
        return json.dumps({"schema": {"type": "struct", "fields": []}, "payload": payload}).encode()
    return json.dumps(payload).encode()


def message_row(
    mid: int, *, status: int = 1, created_at: str = "2026-12-01T10:00:00Z"
) -> dict[str, Any]:
    return {
        "id": mid,
        "created_at": created_at,
        "partner_id": 1,
        "client_ref": None,
        "channel": 1,
        "destination": "79161234567",
        "sender": "RCS",
        "priority": 0,
        "status": status,
        "error_code": 0,
        "status_at": created_at,
        "interface_id": "smsc-1",
        "part_count": 1,
        "traffic_type": 2,
        "mailing": "",
    }
