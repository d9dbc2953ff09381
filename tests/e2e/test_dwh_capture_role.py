"""Switching an installation's capture between standby and master, as the cluster agent
does on a role change, on the real Kafka Connect + Debezium: the slot and topics stay, only
what is captured changes, with no gap and no repeat in the transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from rcs_capture.publication import (
    CaptureTarget,
    capture_role,
    configure_capture,
    connector_state,
    remove_capture,
)
from rcs_core.db.migrate import migrate
from rcs_dwh.storage import migrate as migrate_dwh
from tests.dwh_support import (
    DwhProcess,
    connect_url,
    kafka_bootstrap,
    scratch_database,
    unique_root,
    wait_for,
)

pytestmark = pytest.mark.e2e


def rows(dsn: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql.encode()).fetchall()


def insert_messages(dsn: str, first: int, n: int) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO messages (id, created_at, partner_id, channel, destination, sender,"
            " body, valid_until, receipt_request, status, status_at, traffic_type)"
            " SELECT g, now(), 1, 1, '79161234567', 'RCS', 'x', now() + interval '1 day', 1, 1,"
            " now(), 2 FROM generate_series(%s::bigint, %s::bigint) g",
            (first, first + n - 1),
        )


def set_tariff(dsn: str, price: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute("INSERT INTO tariffs (partner, price) VALUES ('', %s)", (price,))


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[tuple[str, str, CaptureTarget, DwhProcess]]:
    root = unique_root()
    with scratch_database("inst31") as dsn, scratch_database("dwh") as dwh_db:
        asyncio.run(migrate(dsn, installation_id=31))
        asyncio.run(migrate_dwh(dwh_db))
        target = CaptureTarget(connect_url(), 31, dsn, root)
        dwh = DwhProcess(dwh_db, kafka_bootstrap(), root, "31=north", tmp_path / "dwh.log")
        try:
            yield dsn, dwh_db, target, dwh
        finally:
            asyncio.run(remove_capture(target))
            dwh.stop()
            print(dwh.log())


def test_switching_capture_between_standby_and_master(
    installation: tuple[str, str, CaptureTarget, DwhProcess],
) -> None:
    dsn, dwh_db, target, dwh = installation

    def running() -> bool:
        return asyncio.run(connector_state(target)) == ("RUNNING", ["RUNNING"])

    asyncio.run(configure_capture(target, "standby"))
    assert asyncio.run(capture_role(target)) == "standby"
    wait_for(running, 120, "the standby connector running")
    dwh.start()
    insert_messages(dsn, 1, 10)
    set_tariff(dsn, "1.0")  # on a standby: never sent
    wait_for(
        lambda: rows(dwh_db, "SELECT count(*) FROM dwh_messages") == [(10,)],
        120,
        "the standby's transactions",
    )
    # Promotion: the same connector now captures settings too.
    asyncio.run(configure_capture(target, "master"))
    assert asyncio.run(capture_role(target)) == "master"
    wait_for(running, 120, "the master connector running")
    insert_messages(dsn, 11, 10)
    set_tariff(dsn, "2.0")
    wait_for(
        lambda: (
            rows(dwh_db, "SELECT count(*) FROM dwh_messages") == [(20,)]
            and rows(
                dwh_db, "SELECT count(*) FROM dwh_settings_current WHERE table_name = 'tariffs'"
            )
            == [(1,)]
        ),
        120,
        "the master's transactions and settings",
    )
    assert rows(dwh_db, "SELECT data->>'price' FROM dwh_settings_history") == [("2.0000",)]
    # Demotion: settings stop again, transactions go on.
    asyncio.run(configure_capture(target, "standby"))
    wait_for(running, 120, "the standby connector running again")
    set_tariff(dsn, "3.0")
    insert_messages(dsn, 21, 10)
    wait_for(
        lambda: rows(dwh_db, "SELECT count(*) FROM dwh_messages") == [(30,)],
        120,
        "the transactions after demotion",
    )
    assert rows(
        dwh_db, "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM dwh_messages"
    ) == [(30, 30, 1, 30)]
    assert rows(dwh_db, "SELECT count(*) FROM dwh_settings_history") == [(1,)]
    assert rows(dwh_db, "SELECT count(*) FROM dwh_dead_letters") == [(0,)]
