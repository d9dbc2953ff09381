"""Number-plan and ported-number imports through core's streamed SettingsService
.ImportNumberPlan against real PostgreSQL: all or nothing, replace on re-import, one revision
with its audit row, and the routing table built from the result; then the CLI, which parses
the file and streams it to core."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
import pytest

from rcs.core.v1 import settings_service_pb2 as ss
from rcs.core.v1 import settings_service_pb2_grpc
from rcs_routing.number_plan import BadFileError
from rcs_routing.number_plan_import import number_plan_chunks, ported_chunks
from rcs_routing.storage import current_revision, load_table
from rcs_runtime.grpc_client import error_reason, open_channel
from tests.support import seed_demo

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "number_plan"
DEF = (FIXTURES / "DEF-9xx.csv").read_bytes()
ABC = (FIXTURES / "ABC-3xx.csv").read_bytes()
BAD = (FIXTURES / "bad.csv").read_bytes()
POLAR = 'ООО "Полярная Связь"'
TUNDRA = 'АО "Тундра Телеком"'
NORTH = 'ПАО "Северный Мобайл"'


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as c:
        yield c


@dataclass(frozen=True, slots=True)
class Core:
    stub: Any  # the generated stub types a stream call as sync or async
    port: int


@pytest.fixture
async def core(core_port: int) -> AsyncIterator[Core]:
    channel = open_channel(f"127.0.0.1:{core_port}")
    yield Core(settings_service_pb2_grpc.SettingsServiceStub(channel), core_port)
    await channel.close()


ACTOR = ss.Actor(login="test", remote_ip="10.0.0.7")


async def import_number_plan(core: Core, data: bytes) -> ss.ImportNumberPlanResponse:
    """Parse here, stream to core, as the CLI does; BadFileError for what parsing refuses."""
    answer: ss.ImportNumberPlanResponse = await core.stub.ImportNumberPlan(
        iter(number_plan_chunks(data, ACTOR))
    )
    return answer


async def import_ported(core: Core, data: bytes) -> ss.ImportNumberPlanResponse:
    answer: ss.ImportNumberPlanResponse = await core.stub.ImportNumberPlan(
        iter(ported_chunks(data, ACTOR))
    )
    return answer


def refused_lines(err: grpc.aio.AioRpcError) -> list[str]:
    """The bad lines core names after the first line of an INVALID_REQUEST."""
    assert error_reason(err) == "INVALID_REQUEST"
    return (err.details() or "").splitlines()[1:]


async def scalar(conn: psycopg.AsyncConnection, sql: str, *args: object) -> object:
    cur = await conn.execute(sql.encode(), args or None)
    row = await cur.fetchone()
    assert row is not None
    return row[0]


async def test_import_creates_directions_per_operator_and_region_and_routes_by_range(
    conn: psycopg.AsyncConnection, database_url: str, core: Core
) -> None:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)  # prefix "7"
    before = await current_revision(conn)
    summary = await import_number_plan(core, DEF)
    assert (
        summary.row_count,
        summary.operator_count,
        summary.region_count,
        summary.direction_count,
    ) == (30, 4, 5, 20)
    assert summary.revision == before + 1 == await current_revision(conn)
    assert summary.summary == (
        f"imported 30 ranges of 4 operators in 5 regions (revision {before + 1})"
    )

    table = await load_table(conn)
    d = table.resolve("79000000123", "S", explain=True)
    assert (d.direction, d.operator) == (f"{POLAR} / Озёрный край", POLAR)
    assert d.steps[0].endswith("matched by range 79000000000-79000999999")
    assert table.resolve("79500000000", "S").direction == "Russia (demo)"  # prefix "7" still
    # One revision through the commit path of every settings write, with its audit row.
    cur = await conn.execute(
        "SELECT actor, remote_ip, summary, changes FROM settings_revisions WHERE revision = %s",
        (summary.revision,),
    )
    assert await cur.fetchone() == (
        "test",
        "10.0.0.7",
        "import number plan: 30 ranges of 4 operators",
        [],
    )
    cur = await conn.execute(
        "SELECT actor, remote_ip, action, target FROM audit_log WHERE revision = %s",
        (summary.revision,),
    )
    assert await cur.fetchall() == [
        (
            "test",
            "10.0.0.7",
            "settings.import_number_plan",
            "import number plan: 30 ranges of 4 operators",
        )
    ]


async def test_bad_file_changes_nothing_and_names_every_bad_line(
    conn: psycopg.AsyncConnection, core: Core
) -> None:
    first = await import_number_plan(core, DEF)
    with pytest.raises(BadFileError) as caught:
        await import_number_plan(core, BAD)
    assert [e.line_no for e in caught.value.errors] == [3, 4, 5, 6, 7, 9, 10, 11]
    assert await current_revision(conn) == first.revision
    assert await scalar(conn, "SELECT count(*) FROM direction_ranges") == 30
    table = await load_table(conn)
    assert table.resolve("79000000123", "S").operator == POLAR


async def test_reimport_replaces_the_plan_and_keeps_hand_made_settings(
    conn: psycopg.AsyncConnection, database_url: str, core: Core
) -> None:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)
    await import_number_plan(core, DEF)
    summary = await import_number_plan(core, ABC)
    assert (summary.row_count, summary.operator_count, summary.region_count) == (10, 4, 3)
    assert await scalar(conn, "SELECT count(*) FROM direction_ranges") == 10
    assert await scalar(conn, "SELECT count(*) FROM directions WHERE source = 'number_plan'") == 8
    assert await scalar(conn, "SELECT count(*) FROM directions WHERE source = 'manual'") == 1
    table = await load_table(conn)
    assert table.resolve("79000000123", "S").direction == "Russia (demo)"  # DEF plan gone
    d = table.resolve("73035555555", "S")
    assert (d.direction, d.operator) == (f"{TUNDRA} / Ветреный автономный округ", TUNDRA)


async def test_reimport_keeps_a_plan_direction_a_rule_still_names(
    conn: psycopg.AsyncConnection, core: Core
) -> None:
    await import_number_plan(core, DEF)
    named = await scalar(
        conn,
        "SELECT d.name FROM directions d WHERE d.source = 'number_plan' AND NOT EXISTS"
        " (SELECT 1 FROM direction_ranges r WHERE r.direction_id = d.id"
        "  AND r.range_start < 79000000000) ORDER BY d.name LIMIT 1",
    )
    await conn.execute(
        "INSERT INTO routing_rules (name, priority, action, direction)"
        " VALUES ('block-it', 1, 'reject', %s)",
        (named,),
    )
    await import_number_plan(core, ABC)  # the DEF directions leave the plan
    assert await scalar(conn, "SELECT count(*) FROM directions WHERE name = %s", named) == 1
    ranges_left = await scalar(
        conn,
        "SELECT count(*) FROM direction_ranges r JOIN directions d ON d.id = r.direction_id"
        " WHERE d.name = %s AND r.range_start >= 79000000000",
        named,
    )
    assert ranges_left == 0  # kept empty: the rule matches nothing until it goes


async def test_plan_range_overlapping_a_hand_made_range_is_refused(
    conn: psycopg.AsyncConnection, core: Core
) -> None:
    await conn.execute(
        "WITH o AS (INSERT INTO operators (name) VALUES ('Hand') RETURNING id),"
        " d AS (INSERT INTO directions (name, operator_id) SELECT 'Hand-made', id FROM o"
        " RETURNING id)"
        " INSERT INTO direction_ranges SELECT 79000500000, 79000500099, id FROM d"
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await import_number_plan(core, DEF)
    assert refused_lines(caught.value) == [
        "line 2: range 79000000000-79000999999 overlaps the hand-made range"
        " 79000500000-79000500099 of direction 'Hand-made'"
    ]
    assert await scalar(conn, "SELECT count(*) FROM direction_ranges") == 1


async def test_ported_numbers_override_the_operator_and_are_all_or_nothing(
    conn: psycopg.AsyncConnection, core: Core
) -> None:
    await import_number_plan(core, ABC)
    # 73010000005 is Tundra's in Горная область, where Северный Мобайл has its own direction;
    # 73020000005 is Tundra's in Республика Туманная, where Северный Мобайл has none.
    ported = f"number;operator\n73010000005;{NORTH}\n73020000005;{NORTH}\n".encode()
    summary = await import_ported(core, ported)
    assert summary.summary == (
        f"imported 2 ported numbers of 1 operators (revision {summary.revision})"
    )
    assert await current_revision(conn) == summary.revision

    table = await load_table(conn)
    d = table.resolve("73010000005", "S")
    assert (d.direction, d.operator) == (f"{NORTH} / Горная область", NORTH)
    d = table.resolve("73020000005", "S")
    assert (d.direction, d.operator) == (f"{TUNDRA} / Республика Туманная", NORTH)
    assert table.resolve("73010000006", "S").operator == TUNDRA

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await import_ported(core, b"73010000007;Nobody\n73010000008;Nobody\n")
    assert refused_lines(caught.value) == [
        "line 1: unknown operator 'Nobody'",
        "line 2: unknown operator 'Nobody'",
    ]
    assert await current_revision(conn) == summary.revision
    assert await scalar(conn, "SELECT count(*) FROM ported_numbers") == 2


async def _cli(port: int, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rcs_cli",
        "settings",
        *args,
        env={**os.environ, "RCS_CORE_TARGET": f"127.0.0.1:{port}", "RCS_ACTOR": "ops"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_imports_a_plan_or_lists_bad_lines_and_exits_2(
    conn: psycopg.AsyncConnection, core: Core, tmp_path: Path
) -> None:
    before = await current_revision(conn)
    code, out, err = await _cli(core.port, "import-number-plan", str(FIXTURES / "ABC-3xx.csv"))
    assert (code, out, err) == (
        0,
        f"imported 10 ranges of 4 operators in 3 regions (revision {before + 1})\n",
        "",
    )
    ported = tmp_path / "ported.csv"
    ported.write_text(f"73010000005;{NORTH}\n", encoding="utf-8")
    # The bad file is refused by the CLI's parser: core never sees it, the other goes on.
    (code, out, err), (p_code, p_out, _) = await asyncio.gather(
        _cli(core.port, "import-number-plan", str(FIXTURES / "bad.csv")),
        _cli(core.port, "import-ported", str(ported)),
    )
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0] == f"{FIXTURES / 'bad.csv'}: line 3: bad field count: expected 6, found 5"
    assert len(lines) == 9
    assert lines[-1].startswith("refused: 8 bad line(s)")
    assert (p_code, p_out) == (
        0,
        f"imported 1 ported numbers of 1 operators (revision {before + 2})\n",
    )
    assert await current_revision(conn) == before + 2


async def test_cli_prints_the_lines_core_refuses_and_exits_2(core: Core, tmp_path: Path) -> None:
    ported = tmp_path / "ported.csv"
    ported.write_text("73010000007;Nobody\n", encoding="utf-8")
    code, out, err = await _cli(core.port, "import-ported", str(ported))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{ported}: line 1: unknown operator 'Nobody'",
        f"refused: 1 bad line(s) in {ported}; nothing imported",
    ]
