"""Replica reads (SPEC F21): a read is served by the streaming replica while it is usable,
and by the master, counted and logged, when the replica is down or too far behind."""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import psycopg
import pytest
from prometheus_client import REGISTRY

from rcs.core.v1 import message_service_pb2, message_service_pb2_grpc, report_service_pb2_grpc
from rcs.core.v1 import report_service_pb2 as rs
from rcs_core.db.migrate import migrate
from rcs_core.messages.servicer import MessageServicer
from rcs_core.traffic_reports.servicer import ReportServicer
from rcs_runtime.db import open_pool
from rcs_runtime.replica import ReadPools
from tests.integration.test_reports import seed_report_data
from tests.pg_clusters import master_and_replica
from tests.support import start_server

pytestmark = pytest.mark.integration


def _fallbacks(reason: str) -> float:
    value = REGISTRY.get_sample_value("rcs_replica_fallback_total", {"reason": reason})
    return value or 0.0


async def _in_recovery(reads: ReadPools) -> bool:
    async with (await reads.reader()).connection() as conn:
        row = await (await conn.execute("SELECT pg_is_in_recovery()")).fetchone()
    assert row is not None
    return bool(row[0])


async def _wait_on_replica(replica_dsn: str, query: str, expected: object) -> None:
    """Until ``query`` answers ``expected`` on the replica (CREATE DATABASE and rows
    reach it by streaming, a moment after the master committed them)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(replica_dsn) as conn:
                if conn.execute(query).fetchone() == expected:
                    return
        except psycopg.errors.Error:
            pass
        assert time.monotonic() < deadline, f"the replica never answered {expected} to {query}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def replicated() -> AsyncIterator[tuple[str, str]]:
    """A fresh migrated database (installation 7) on the shared replica's primary: its DSN
    there and on the replica. The primary is not the other tests' server, whose every test
    database a replica would have to create and drop again (scripts/test-services.sh)."""
    primary = os.environ.get("RCS_TEST_REPLICA_PRIMARY_DSN")
    replica = os.environ.get("RCS_TEST_REPLICA_DSN")
    if not primary or not replica:
        pytest.fail(
            "RCS_TEST_REPLICA_PRIMARY_DSN / RCS_TEST_REPLICA_DSN are not set: "
            "run scripts/test-services.sh up and env"
        )
    name = f"rcs_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(primary, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        dsn = psycopg.conninfo.make_conninfo(primary, dbname=name)
        await migrate(dsn, installation_id=7)
        yield dsn, psycopg.conninfo.make_conninfo(replica, dbname=name)
    finally:
        with psycopg.connect(primary, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_read_served_by_the_shared_replica_sees_the_masters_rows(
    replicated: tuple[str, str],
) -> None:
    database_url, replica_dsn = replicated
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE replica_probe (n int)")
        conn.execute("INSERT INTO replica_probe VALUES (42)")
    master = await open_pool(database_url, min_size=1, max_size=2)
    await _wait_on_replica(replica_dsn, "SELECT count(*) FROM replica_probe", (1,))
    reads = await ReadPools.open(
        master, replica_dsn, max_lag_seconds=30, check_seconds=0, max_size=2
    )
    try:
        assert await _in_recovery(reads)
        async with (await reads.reader()).connection() as conn:
            rows = await (await conn.execute("SELECT n FROM replica_probe")).fetchall()
        assert rows == [(42,)]
        state = await reads.state()
        assert state.usable
        assert 0 <= state.lag_seconds <= 30
    finally:
        await reads.close()
        await master.close()


async def test_without_a_replica_reads_go_to_the_master_without_a_fallback(
    database_url: str,
) -> None:
    master = await open_pool(database_url, min_size=1, max_size=2)
    reads = await ReadPools.open(master, "", max_lag_seconds=30, check_seconds=0, max_size=2)
    before = _fallbacks("not_configured")
    try:
        assert not await _in_recovery(reads)
        assert _fallbacks("not_configured") == before
    finally:
        await reads.close()
        await master.close()


async def test_replica_stopped_then_lagging_reads_fall_back_to_the_master(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with master_and_replica() as (master_server, replica_server):
        master = await open_pool(master_server.dsn, min_size=1, max_size=2)
        reads = await ReadPools.open(
            master, replica_server.dsn, max_lag_seconds=0.5, check_seconds=0, max_size=2
        )
        try:
            assert await _in_recovery(reads), "a usable replica serves the read"

            # Replay paused while the master writes: the replica falls behind.
            with psycopg.connect(replica_server.dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_pause()")
            with psycopg.connect(master_server.dsn, autocommit=True) as conn:
                conn.execute("CREATE TABLE t (n int)")
                conn.execute("INSERT INTO t VALUES (1)")
            lagging = _fallbacks("lagging")
            deadline = time.monotonic() + 20
            while (await reads.state()).reason != "lagging":
                assert time.monotonic() < deadline, "the paused replica never counted as lagging"
                await asyncio.sleep(0.2)
            assert not await _in_recovery(reads)
            assert _fallbacks("lagging") > lagging
            with psycopg.connect(replica_server.dsn, autocommit=True) as conn:
                conn.execute("SELECT pg_wal_replay_resume()")
            deadline = time.monotonic() + 20
            while not (await reads.state()).usable:
                assert time.monotonic() < deadline, "the replica never caught up again"
                await asyncio.sleep(0.2)
            assert await _in_recovery(reads)

            # Replica down: the read still succeeds, on the master, loudly.
            caplog.set_level(logging.WARNING, logger="rcs_runtime.replica")
            down = _fallbacks("down")
            replica_server.stop()
            assert not await _in_recovery(reads)
            assert _fallbacks("down") == down + 1
            assert (await reads.state()).lag_seconds == -1
            assert any(
                r.getMessage() == "replica_unusable_reading_from_master" for r in caplog.records
            )
        finally:
            await reads.close()
            await master.close()


async def test_core_reports_and_message_lists_read_from_the_replica(
    replicated: tuple[str, str],
) -> None:
    database_url, replica_dsn = replicated
    pool = await open_pool(database_url, min_size=1, max_size=4)
    seed_report_data(database_url)
    await _wait_on_replica(replica_dsn, "SELECT count(*) FROM messages", (10,))
    reads = await ReadPools.open(pool, replica_dsn, max_lag_seconds=30, check_seconds=0, max_size=2)
    server = await start_server(
        lambda s: report_service_pb2_grpc.add_ReportServiceServicer_to_server(
            ReportServicer(reads, zone="UTC"), s
        ),
        lambda s: message_service_pb2_grpc.add_MessageServiceServicer_to_server(
            MessageServicer(pool, 7, reads=reads), s
        ),
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        reports = report_service_pb2_grpc.ReportServiceStub(channel)
        answer = await reports.Summarize(rs.SummarizeRequest())
        assert answer.from_replica
        assert (answer.total_messages, answer.total_parts) == (11, 14)
        found = await reports.SearchMessages(
            rs.SearchMessagesRequest(filter=rs.ReportFilter(partner="beta"))
        )
        assert found.from_replica
        assert len(found.messages) == 5
        listed = await message_service_pb2_grpc.MessageServiceStub(channel).ListMessages(
            message_service_pb2.ListMessagesRequest(partner="alpha")
        )
        assert len(listed.messages) == 5
        assert REGISTRY.get_sample_value("rcs_replica_lag_seconds") is not None
    finally:
        await channel.close()
        await server.stop(0)
        await reads.close()
        await pool.close()
