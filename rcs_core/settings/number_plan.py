"""Core's side of the number-plan and ported-numbers imports (SettingsService.ImportNumberPlan):
apply the parsed rows, all or nothing, as one settings revision through
``store.commit_revision`` like every other settings write (so a standby refuses it alike).

The transaction first takes the settings lock (serialised with every other settings writer),
checks what only the database can tell (a plan range overlapping a hand-made range, a plan
direction name taken by a hand-made direction, an unknown operator of a ported number), and
on any problem raises ``BadFileError`` with every bad line, so the previous plan stays as it
was. Otherwise it replaces the previous plan's ranges (COPY) and commits the revision, whose
row changes are empty: the rows are the file's (import an older file to go back), kept as
the revision's payload for a cluster's standbys to import alike (``replay``); routing
reloads when it sees the new revision.

Plan directions are ``directions.source = 'number_plan'``, one per (operator, region), named
"<Operator> / <Region>"; hand-made directions, their prefixes and ranges are never touched.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rcs.core.v1 import settings_service_pb2 as ss
from rcs_core.settings import store
from rcs_core.settings.spec import Conn
from rcs_routing.number_plan import BadFileError, LineError, PlanRange, PortedNumber

PLAN = "number_plan"
_COPY_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class PlanSummary:
    ranges: int
    operators: int
    regions: int
    directions: int
    revision: int

    def __str__(self) -> str:
        return (
            f"imported {self.ranges} ranges of {self.operators} operators"
            f" in {self.regions} regions (revision {self.revision})"
        )


@dataclass(frozen=True, slots=True)
class PortedSummary:
    numbers: int
    operators: int
    revision: int

    def __str__(self) -> str:
        return (
            f"imported {self.numbers} ported numbers of {self.operators} operators"
            f" (revision {self.revision})"
        )


async def _commit(conn: Conn, actor: ss.Actor, action: str, summary: str, payload: Payload) -> int:
    return await store.commit_revision(
        conn,
        actor=actor.login,
        remote_ip=actor.remote_ip,
        summary=summary,
        changes=[],
        action=action,
        empty=True,
        payload=payload,
    )


# An import's rows as its revision keeps them (settings_revisions.payload), for a standby's
# sync to import the same rows: {"kind": PLAN | PORTED, "rows": [[…], …]}.
Payload = dict[str, object]
PORTED = "ported_numbers"


def plan_payload(ranges: Sequence[PlanRange], created_operators: list[str]) -> Payload:
    return {
        "kind": PLAN,
        "rows": [[r.line_no, r.start, r.end, r.operator, r.region] for r in ranges],
        "created_operators": created_operators,
    }


def ported_payload(numbers: Sequence[PortedNumber]) -> Payload:
    return {"kind": PORTED, "rows": [[n.line_no, n.number, n.operator] for n in numbers]}


async def replay(conn: Conn, payload: Payload) -> None:
    """Import a master's revision's rows here (a standby's sync), without a revision of its
    own; a refusal means this installation's other settings differ from the master's."""
    rows = payload.get("rows")
    if not isinstance(rows, list):
        raise ValueError(f"an import payload without rows: {str(payload)[:100]}")
    try:
        if payload.get("kind") == PLAN:
            await write_number_plan(conn, [PlanRange(*row) for row in rows])
        elif payload.get("kind") == PORTED:
            await write_ported(conn, [PortedNumber(*row) for row in rows])
        else:
            raise ValueError(f"an import payload of unknown kind {payload.get('kind')!r}")
    except BadFileError as err:
        raise ValueError("; ".join(str(e) for e in err.errors[:5])) from err


async def apply_number_plan(
    conn: Conn, ranges: Sequence[PlanRange], actor: ss.Actor
) -> PlanSummary:
    """``ranges`` as parse_number_plan returns them: sorted by start, disjoint."""
    w = await write_number_plan(conn, ranges)
    text = f"import number plan: {len(ranges)} ranges of {w.operators} operators"
    action = "settings.import_number_plan"
    payload = plan_payload(ranges, w.created_operators)
    revision = await _commit(conn, actor, action, text, payload)
    return PlanSummary(len(ranges), w.operators, w.regions, w.directions, revision)


@dataclass(frozen=True, slots=True)
class PlanWritten:
    operators: int
    regions: int
    directions: int
    created_operators: list[str]  # new with this plan: a cluster's rewind removes them


async def write_number_plan(conn: Conn, ranges: Sequence[PlanRange]) -> PlanWritten:
    """Replace the plan's rows (BadFileError on any problem)."""
    # name → (operator, region, first line); one direction per (operator, region)
    directions: dict[str, tuple[str, str, int]] = {}
    errors: list[LineError] = []
    for r in ranges:
        seen = directions.setdefault(r.direction, (r.operator, r.region, r.line_no))
        if seen[:2] != (r.operator, r.region):
            errors.append(
                LineError(
                    r.line_no,
                    f"direction name {r.direction!r} would also name the direction of line"
                    f" {seen[2]} (operator {seen[0]!r}, region {seen[1]!r})",
                )
            )
    operators = sorted({op for op, _, _ in directions.values()})
    await store.lock_settings(conn)
    errors += await _overlaps_with_hand_made(conn, ranges)
    cur = await conn.execute(
        "SELECT name FROM directions WHERE source <> %s AND name = ANY(%s)",
        (PLAN, list(directions)),
    )
    for (name,) in await cur.fetchall():
        errors.append(
            LineError(directions[name][2], f"direction name {name!r} is taken by a hand-made one")
        )
    if errors:
        raise BadFileError(errors)

    cur = await conn.execute(
        "INSERT INTO operators (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING"
        " RETURNING name",
        (operators,),
    )
    created = sorted(name for (name,) in await cur.fetchall())
    cur = await conn.execute("SELECT name, id FROM operators WHERE name = ANY(%s)", (operators,))
    operator_ids: dict[str, int] = dict(await cur.fetchall())
    names = list(directions)
    cur = await conn.execute(
        "INSERT INTO directions (name, operator_id, region, source)"
        " SELECT n, o, r, %s FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS t(n, o, r)"
        " ON CONFLICT (name) DO UPDATE"
        " SET operator_id = EXCLUDED.operator_id, region = EXCLUDED.region"
        " RETURNING name, id",
        (
            PLAN,
            names,
            [operator_ids[directions[n][0]] for n in names],
            [directions[n][1] for n in names],
        ),
    )
    direction_ids: dict[str, int] = dict(await cur.fetchall())
    await conn.execute(
        "DELETE FROM direction_ranges r USING directions d"
        " WHERE r.direction_id = d.id AND d.source = %s",
        (PLAN,),
    )
    await _copy(
        conn,
        "COPY direction_ranges (range_start, range_end, direction_id) FROM STDIN",
        (f"{r.start}\t{r.end}\t{direction_ids[r.direction]}\n" for r in ranges),
    )
    # Directions that left the plan go, unless someone hung hand-made prefixes on them
    # or a rule names them (kept without ranges: the rule then matches nothing).
    await conn.execute(
        "DELETE FROM directions d WHERE d.source = %s AND NOT (d.name = ANY(%s))"
        " AND NOT EXISTS (SELECT 1 FROM direction_prefixes p WHERE p.direction_id = d.id)"
        " AND NOT EXISTS (SELECT 1 FROM routing_rules r WHERE r.direction = d.name)"
        " AND NOT EXISTS (SELECT 1 FROM substitution_rules r WHERE r.direction = d.name)",
        (PLAN, names),
    )
    regions = len({region for _, region, _ in directions.values() if region})
    return PlanWritten(len(operators), regions, len(directions), created)


async def apply_ported(
    conn: Conn, numbers: Sequence[PortedNumber], actor: ss.Actor
) -> PortedSummary:
    """Replace the ported numbers; every recipient operator must exist already."""
    operators = await write_ported(conn, numbers)
    text = f"import ported numbers: {len(numbers)} numbers of {operators} operators"
    action = "settings.import_ported"
    revision = await _commit(conn, actor, action, text, ported_payload(numbers))
    return PortedSummary(len(numbers), operators, revision)


async def write_ported(conn: Conn, numbers: Sequence[PortedNumber]) -> int:
    """Replace the ported numbers (BadFileError on an unknown operator); returns how many
    operators they go to."""
    operators = sorted({n.operator for n in numbers})
    await store.lock_settings(conn)
    cur = await conn.execute("SELECT name, id FROM operators WHERE name = ANY(%s)", (operators,))
    operator_ids: dict[str, int] = dict(await cur.fetchall())
    errors = [
        LineError(n.line_no, f"unknown operator {n.operator!r}")
        for n in numbers
        if n.operator not in operator_ids
    ]
    if errors:
        raise BadFileError(errors)
    await conn.execute("DELETE FROM ported_numbers")
    await _copy(
        conn,
        "COPY ported_numbers (number, operator_id) FROM STDIN",
        (f"{n.number}\t{operator_ids[n.operator]}\n" for n in numbers),
    )
    return len(operators)


async def _overlaps_with_hand_made(conn: Conn, ranges: Sequence[PlanRange]) -> list[LineError]:
    """Plan ranges that overlap a range of a hand-made direction (routing refuses overlaps).

    ``ranges`` are sorted and disjoint, so their ends are sorted too: two bisections find
    the plan ranges a hand-made range touches."""
    cur = await conn.execute(
        "SELECT r.range_start, r.range_end, d.name FROM direction_ranges r"
        " JOIN directions d ON d.id = r.direction_id WHERE d.source <> %s",
        (PLAN,),
    )
    hand_made = await cur.fetchall()
    if not hand_made:
        return []
    starts = [r.start for r in ranges]
    ends = [r.end for r in ranges]
    errors = []
    for start, end, name in hand_made:
        for r in ranges[bisect.bisect_left(ends, start) : bisect.bisect_right(starts, end)]:
            errors.append(
                LineError(
                    r.line_no,
                    f"range {r.start}-{r.end} overlaps the hand-made range {start}-{end}"
                    f" of direction {name!r}",
                )
            )
    return errors


async def _copy(conn: Conn, statement: str, lines: Iterable[str]) -> None:
    """COPY text-format lines in chunks (one write per chunk, not per row)."""
    async with conn.cursor() as cur, cur.copy(statement) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) == _COPY_CHUNK:
                await copy.write("".join(chunk).encode())
                chunk.clear()
        if chunk:
            await copy.write("".join(chunk).encode())
