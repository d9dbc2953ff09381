"""The DWH end to end, all real: installations (every component a process, traffic over
REST v6 to the SMSC simulator) → Debezium (Kafka Connect) → Kafka → rcs_dwh → reports per
cluster over DwhReportService. Two installations of cluster "east" (21 master, 22 standby)
and a lone installation 23 of cluster "west"."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import grpc
import psycopg
import pytest
from google.protobuf import json_format

from rcs.dwh.v1 import dwh_report_service_pb2 as pb
from rcs.dwh.v1 import dwh_report_service_pb2_grpc as pb_grpc
from rcs_capture.publication import (
    CaptureTarget,
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
from tests.e2e.installation import Installation, http
from tests.support import seed_demo, upsert_admin

pytestmark = pytest.mark.e2e


def _remove(target: CaptureTarget) -> None:
    asyncio.run(remove_capture(target))


def rows(dsn: str, sql: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql.encode(), args or None).fetchall()


def send(inst: Installation, n: int, tag: str) -> None:
    for i in range(n):
        body = {
            "login": "demo",
            "password": "demo",
            "id": f"{tag}-{i}",
            "destAddr": "79161234567",
            "message": {"type": "SMS", "data": {"text": "Hello", "serviceNumber": "RCS"}},
        }
        status, answer = http("POST", inst.url("/api/v6/send"), body)
        assert status == 200, answer


def running_capture(target: CaptureTarget, role: str) -> None:
    asyncio.run(configure_capture(target, role))
    wait_for(
        lambda: asyncio.run(connector_state(target)) == ("RUNNING", ["RUNNING"]),
        120,
        f"connector {target.connector_name} running",
    )


def query(cluster: str) -> pb.ReportQuery:
    q = pb.ReportQuery(cluster=cluster)
    q.start_time.FromDatetime(datetime.now(UTC) - timedelta(days=1))
    q.end_time.FromDatetime(datetime.now(UTC) + timedelta(days=1))
    return q


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, object]]:
    root = unique_root()
    with ExitStack() as es:
        dbs = {i: es.enter_context(scratch_database(f"inst{i}")) for i in (21, 22, 23)}
        dwh_db = es.enter_context(scratch_database("dwh"))
        asyncio.run(migrate_dwh(dwh_db))
        dwh = DwhProcess(
            dwh_db, kafka_bootstrap(), root, "21=east,22=east,23=west", tmp_path / "dwh.log"
        )
        insts: dict[int, Installation] = {}
        targets: dict[int, CaptureTarget] = {}
        for i, dsn in dbs.items():
            asyncio.run(migrate(dsn, installation_id=i))
            env = {"RCS_INSTALLATION_ID": str(i), "RCS_DWH_TARGET": f"127.0.0.1:{dwh.port}"}
            inst = Installation(dsn, tmp_path / f"i{i}", extra_env=env)
            asyncio.run(seed_demo(dsn, smsc_host="127.0.0.1", smsc_port=inst.ports["smsc"]))
            insts[i] = inst
            es.callback(inst.stop)
            targets[i] = CaptureTarget(connect_url(), i, dsn, root)
            es.callback(_remove, targets[i])
        asyncio.run(upsert_admin(dbs[21], "dwhadmin", "dwh-admin-pass"))
        es.callback(lambda: print(dwh.log()))
        es.callback(dwh.stop)
        yield {"dbs": dbs, "dwh_db": dwh_db, "insts": insts, "targets": targets, "dwh": dwh}


def test_two_installations_of_a_cluster_and_a_lone_one_report_per_cluster(
    stack: dict[str, object], tmp_path: Path
) -> None:
    dbs: dict[int, str] = stack["dbs"]  # type: ignore[assignment]
    insts: dict[int, Installation] = stack["insts"]  # type: ignore[assignment]
    targets: dict[int, CaptureTarget] = stack["targets"]  # type: ignore[assignment]
    dwh: DwhProcess = stack["dwh"]  # type: ignore[assignment]
    dwh_db: str = stack["dwh_db"]  # type: ignore[assignment]
    # Tariffs are settings: the masters' arrive, with their history (a price from a date).
    for i, price in ((21, "0.5000"), (23, "2.0000")):
        with psycopg.connect(dbs[i]) as conn:
            conn.execute(
                "INSERT INTO tariffs (partner, price, valid_from) VALUES"
                " ('', 9, now() - interval '10 days'), ('demo', %s, now() - interval '1 day')",
                (price,),
            )
    running_capture(targets[21], "master")
    running_capture(targets[22], "standby")
    running_capture(targets[23], "master")
    dwh.start()
    # The master delivers to its simulator; the standby and west only accept (their
    # messages stay ACCEPTED: pending in the reports), which keeps 2 shared cores usable.
    insts[21].start()
    insts[22].start("core", "rest")
    insts[23].start("core", "rest")
    insts[21].wait_ready(180)
    insts[22].wait_ready(180, smsc=False)
    insts[23].wait_ready(180, smsc=False)
    send(insts[21], 5, "a")
    send(insts[22], 3, "b")
    send(insts[23], 2, "c")

    def east_counts() -> object:
        return rows(
            dwh_db,
            "SELECT count(*) FILTER (WHERE status = 3), count(*) FROM dwh_messages"
            " WHERE cluster = 'east'",
        )[0]

    wait_for(lambda: east_counts() == (5, 8), 120, "east's 8 messages (5 delivered) in the DWH")
    wait_for(
        lambda: rows(dwh_db, "SELECT count(*) FROM dwh_messages WHERE cluster = 'west'")[0][0] == 2,
        120,
        "west's 2 messages in the DWH",
    )
    with grpc.insecure_channel(f"127.0.0.1:{dwh.port}") as ch:
        stub = pb_grpc.DwhReportServiceStub(ch)
        east = stub.GetSummaryReport(pb.GetSummaryReportRequest(query=query("east")))
        assert [(r.partner, r.channel) for r in east.rows] == [("demo", 1)]
        assert (east.total.messages, east.total.delivered, east.total.pending) == (8, 5, 3)
        west = stub.GetSummaryReport(pb.GetSummaryReportRequest(query=query("west")))
        assert (west.total.messages, west.total.delivered, west.total.pending) == (2, 0, 2)
        money = stub.GetFinancialReport(pb.GetFinancialReportRequest(query=query("east")))
        # Rows split by direction / channel / traffic type (accepted-only messages have
        # no traffic type yet); every one priced by demo's tariff.
        assert {(r.partner, Decimal(r.price)) for r in money.rows} == {("demo", Decimal("0.5"))}
        assert sum(r.messages for r in money.rows) == 8
        assert sum(Decimal(r.amount) for r in money.rows) == Decimal("4")
        west_money = stub.GetFinancialReport(pb.GetFinancialReportRequest(query=query("west")))
        assert [Decimal(r.amount) for r in west_money.rows] == [Decimal("4")]
        days = stub.GetChronologicalReport(
            pb.GetChronologicalReportRequest(query=query("east"), granularity=pb.GRANULARITY_HOUR)
        )
        assert sum(r.counts.messages for r in days.rows) == 8
        xlsx = b"".join(
            part.chunk
            for part in stub.ExportReport(
                pb.ExportReportRequest(kind=pb.REPORT_KIND_SUMMARY, query=query("east"))
            )
        )
        assert "demo" in book_strings(xlsx)
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetSummaryReport(pb.GetSummaryReportRequest(query=query("nowhere")))
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND

    # The same over the CLI, as JSON and as an Excel file.
    cli_env = {**os.environ, "RCS_DWH_TARGET": f"127.0.0.1:{dwh.port}"}
    period = ["--from", "2000-01-01", "--to", "2100-01-01"]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rcs_cli",
            "dwh",
            "report",
            "financial",
            "--cluster",
            "west",
            *period,
        ],
        env=cli_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert Decimal(json.loads(out)["rows"][0]["amount"]) == Decimal("4")
    xlsx_path = tmp_path / "east.xlsx"
    subprocess.run(
        [
            *(sys.executable, "-m", "rcs_cli", "dwh", "report", "chronological"),
            *("--cluster", "east", *period, "--granularity", "hour", "--xlsx", str(xlsx_path)),
        ],
        env=cli_env,
        check=True,
    )
    with zipfile.ZipFile(xlsx_path) as book:
        assert "xl/worksheets/sheet1.xml" in book.namelist()

    # And over the admin API of the master's REST gateway.
    admin = {"Authorization": "Basic " + base64.b64encode(b"dwhadmin:dwh-admin-pass").decode()}
    body = {"query": json_format.MessageToDict(query("east"))}
    status, answer = http(
        "POST", insts[21].url("/api/admin/v1/dwh/reports:summary"), body, headers=admin
    )
    assert status == 200, answer
    assert (answer["total"]["messages"], answer["total"]["delivered"]) == ("8", "5")
    status, answer = http(
        "POST", insts[21].url("/api/admin/v1/dwh/reports:summary"), {"query": {}}, headers=admin
    )
    assert status == 400, answer
    export = urllib.request.Request(
        insts[21].url("/api/admin/v1/dwh/reports:export"),
        data=json.dumps({"kind": "REPORT_KIND_FINANCIAL", **body}).encode(),
        headers={**admin, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(export, timeout=30) as r:
        assert r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
        assert "demo" in book_strings(r.read())

    # A settings change on the standby never arrives; the master's does.
    with psycopg.connect(dbs[22]) as conn:
        conn.execute("UPDATE partners SET default_sender = 'STANDBYX' WHERE login = 'demo'")
    with psycopg.connect(dbs[21]) as conn:
        conn.execute("UPDATE partners SET default_sender = 'MASTERX' WHERE login = 'demo'")

    def sender() -> object:
        found = rows(
            dwh_db,
            "SELECT data->>'default_sender' FROM dwh_settings_current"
            " WHERE cluster = 'east' AND table_name = 'partners'",
        )
        return found[0][0] if found else None

    wait_for(lambda: sender() == "MASTERX", 60, "the master's settings change in the DWH")
    assert rows(dwh_db, "SELECT count(*) FROM dwh_settings_history WHERE installation_id = 22") == [
        (0,)
    ]
    assert rows(
        dwh_db, "SELECT count(*) FROM dwh_settings_history WHERE data::text LIKE '%STANDBYX%'"
    ) == [(0,)]
    # Every transaction row is tagged with its cluster from the registry.
    assert rows(
        dwh_db,
        "SELECT installation_id, cluster, count(*) FROM dwh_messages GROUP BY 1, 2 ORDER BY 1",
    ) == [(21, "east", 5), (22, "east", 3), (23, "west", 2)]
    assert rows(dwh_db, "SELECT count(*) FROM dwh_dead_letters") == [(0,)]
    # Secrets stay on the installations.
    assert rows(
        dwh_db,
        "SELECT count(*) FROM dwh_settings_history WHERE data ?| "
        "array['password_hash', 'smpp_password_hash', 'password']",
    ) == [(0,)]
    assert rows(dwh_db, "SELECT count(*) FROM dwh_settings_history WHERE table_name = 'partners'")[
        0
    ][0]
    with urllib.request.urlopen(f"http://127.0.0.1:{dwh.metrics_port}/metrics") as r:
        exposed = r.read().decode()
    assert "rcs_dwh_capture_latency_seconds_count" in exposed
    assert 'rcs_dwh_events_total{outcome="applied"}' in exposed


def book_strings(xlsx: bytes) -> str:
    """The text of the first sheet and of the shared strings (constant-memory mode writes
    strings inline)."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as book:
        names = book.namelist()
        return "".join(
            book.read(n).decode()
            for n in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml")
            if n in names
        )
