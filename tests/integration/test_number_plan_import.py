"""Number-plan and ported-number imports against real PostgreSQL: all or nothing, replace on
re-import, revision bumped, and the routing table built from the result; then the CLI."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from rcs_cli.seed import seed_demo
from rcs_routing.number_plan import BadFileError, LineError
from rcs_routing.number_plan_import import import_number_plan, import_ported
from rcs_routing.storage import current_revision, load_table

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


async def scalar(conn: psycopg.AsyncConnection, sql: str, *args: object) -> object:
    cur = await conn.execute(sql.encode(), args or None)
    row = await cur.fetchone()
    assert row is not None
    return row[0]


async def test_import_creates_directions_per_operator_and_region_and_routes_by_range(
    conn: psycopg.AsyncConnection, database_url: str
) -> None:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)  # prefix "7"
    before = await current_revision(conn)
    summary = await import_number_plan(conn, DEF, actor="test")
    assert (summary.ranges, summary.operators, summary.regions, summary.directions) == (
        30,
        4,
        5,
        20,
    )
    assert summary.revision == before + 1 == await current_revision(conn)
    assert str(summary) == f"imported 30 ranges of 4 operators in 5 regions (revision {before + 1})"

    table = await load_table(conn)
    d = table.resolve("79000000123", "S", explain=True)
    assert (d.direction, d.operator) == (f"{POLAR} / Озёрный край", POLAR)
    assert d.steps[0].endswith("matched by range 79000000000-79000999999")
    assert table.resolve("79500000000", "S").direction == "Russia (demo)"  # prefix "7" still
    assert await scalar(
        conn, "SELECT summary FROM settings_revisions ORDER BY revision DESC LIMIT 1"
    ) == str(summary)


async def test_bad_file_changes_nothing_and_names_every_bad_line(
    conn: psycopg.AsyncConnection,
) -> None:
    first = await import_number_plan(conn, DEF)
    with pytest.raises(BadFileError) as caught:
        await import_number_plan(conn, BAD)
    assert [e.line_no for e in caught.value.errors] == [3, 4, 5, 6, 7, 9, 10, 11]
    assert await current_revision(conn) == first.revision
    assert await scalar(conn, "SELECT count(*) FROM direction_ranges") == 30
    table = await load_table(conn)
    assert table.resolve("79000000123", "S").operator == POLAR


async def test_reimport_replaces_the_plan_and_keeps_hand_made_settings(
    conn: psycopg.AsyncConnection, database_url: str
) -> None:
    await seed_demo(database_url, smsc_host="127.0.0.1", smsc_port=2776)
    await import_number_plan(conn, DEF)
    summary = await import_number_plan(conn, ABC)
    assert (summary.ranges, summary.operators, summary.regions) == (10, 4, 3)
    assert await scalar(conn, "SELECT count(*) FROM direction_ranges") == 10
    assert await scalar(conn, "SELECT count(*) FROM directions WHERE source = 'number_plan'") == 8
    assert await scalar(conn, "SELECT count(*) FROM directions WHERE source = 'manual'") == 1
    table = await load_table(conn)
    assert table.resolve("79000000123", "S").direction == "Russia (demo)"  # DEF plan gone
    d = table.resolve("73035555555", "S")
    assert (d.direction, d.operator) == (f"{TUNDRA} / Ветреный автономный округ", TUNDRA)


async def test_reimport_keeps_a_plan_direction_a_rule_still_names(
    conn: psycopg.AsyncConnection,
) -> None:
    await import_number_plan(conn, DEF)
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
    await import_number_plan(conn, ABC)  # the DEF directions leave the plan
    assert await scalar(conn, "SELECT count(*) FROM directions WHERE name = %s", named) == 1
    ranges_left = await scalar(
        conn,
        "SELECT count(*) FROM direction_ranges r JOIN directions d ON d.id = r.direction_id"
        " WHERE d.name = %s AND r.range_start >= 79000000000",
        named,
    )
    assert ranges_left == 0  # kept empty: the rule matches nothing until it goes


async def test_plan_range_overlapping_a_hand_made_range_is_refused(
    conn: psycopg.AsyncConnection,
) -> None:
    await conn.execute(
        "WITH o AS (INSERT INTO operators (name) VALUES ('Hand') RETURNING id),"
        " d AS (INSERT INTO directions (name, operator_id) SELECT 'Hand-made', id FROM o"
        " RETURNING id)"
        " INSERT INTO direction_ranges SELECT 79000500000, 79000500099, id FROM d"
    )
    with pytest.raises(BadFileError) as caught:
        await import_number_plan(conn, DEF)
    assert caught.value.errors == (
        LineError(
            2,
            "range 79000000000-79000999999 overlaps the hand-made range"
            " 79000500000-79000500099 of direction 'Hand-made'",
        ),
    )
    assert await scalar(conn, "SELECT count(*) FROM direction_ranges") == 1


async def test_ported_numbers_override_the_operator_and_are_all_or_nothing(
    conn: psycopg.AsyncConnection,
) -> None:
    await import_number_plan(conn, ABC)
    # 73010000005 is Tundra's in Горная область, where Северный Мобайл has its own direction;
    # 73020000005 is Tundra's in Республика Туманная, where Северный Мобайл has none.
    ported = f"number;operator\n73010000005;{NORTH}\n73020000005;{NORTH}\n".encode()
    summary = await import_ported(conn, ported)
    assert str(summary) == f"imported 2 ported numbers of 1 operators (revision {summary.revision})"
    assert await current_revision(conn) == summary.revision

    table = await load_table(conn)
    d = table.resolve("73010000005", "S")
    assert (d.direction, d.operator) == (f"{NORTH} / Горная область", NORTH)
    d = table.resolve("73020000005", "S")
    assert (d.direction, d.operator) == (f"{TUNDRA} / Республика Туманная", NORTH)
    assert table.resolve("73010000006", "S").operator == TUNDRA

    with pytest.raises(BadFileError) as caught:
        await import_ported(conn, b"73010000007;Nobody\n73010000008;Nobody\n")
    assert [e.line_no for e in caught.value.errors] == [1, 2]
    assert await current_revision(conn) == summary.revision
    assert await scalar(conn, "SELECT count(*) FROM ported_numbers") == 2


async def _cli(database_url: str, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rcs_cli",
        "settings",
        *args,
        env={**os.environ, "RCS_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_imports_a_plan_or_lists_bad_lines_and_exits_2(
    conn: psycopg.AsyncConnection, database_url: str, tmp_path: Path
) -> None:
    before = await current_revision(conn)
    code, out, err = await _cli(database_url, "import-number-plan", str(FIXTURES / "ABC-3xx.csv"))
    assert (code, out, err) == (
        0,
        f"imported 10 ranges of 4 operators in 3 regions (revision {before + 1})\n",
        "",
    )
    ported = tmp_path / "ported.csv"
    ported.write_text(f"73010000005;{NORTH}\n", encoding="utf-8")
    # Concurrent on purpose: the refused import holds the revision lock, then rolls back.
    (code, out, err), (p_code, p_out, _) = await asyncio.gather(
        _cli(database_url, "import-number-plan", str(FIXTURES / "bad.csv")),
        _cli(database_url, "import-ported", str(ported)),
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
