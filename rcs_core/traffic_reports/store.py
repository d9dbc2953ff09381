"""Installation reports (SPEC F17) as SQL: the traffic summary and the chronological search.

Both read one relation of every message, MT (``messages``) and MO (``inbound_messages``),
with its partner and operator. Messages do not record their operator: it is the operator
(or operators, '/'-joined) whose route uses the interface the message went out or came in
on, so an MT message never sent has none. Filters are pushed into both halves of the
UNION ALL by the planner, so day partitions prune and partner indexes serve.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from rcs_runtime.errors import RcsError, Reason

MT, MO = 1, 2  # rcs.core.v1.MessageDirection
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)

_TRAFFIC = """
WITH ops AS (
    SELECT r.interface_id, string_agg(o.name, '/' ORDER BY o.name) AS operator
      FROM operator_routes r JOIN operators o ON o.id = r.operator_id
     GROUP BY r.interface_id
), t AS (
    SELECT created_at AS at, id, 1 AS direction, partner_id, channel::int AS channel,
           destination AS number, sender, status::int AS status, error_code, interface_id,
           part_count, body
      FROM messages
    UNION ALL
    SELECT received_at, id, 2, partner_id, 1, source, destination, 0, 0, interface_id,
           part_count, body
      FROM inbound_messages
)
"""
_FROM = " FROM t LEFT JOIN partners p ON p.id = t.partner_id LEFT JOIN ops USING (interface_id)"

# Summary dimension (rcs.core.v1.SummaryDimension) -> (name, SQL expression).
DIMENSIONS: dict[int, tuple[str, str]] = {
    1: ("partner", "COALESCE(p.login, '')"),
    2: ("operator", "COALESCE(ops.operator, '')"),
    3: ("direction", "t.direction"),
    4: ("channel", "t.channel"),
    5: ("status", "t.status"),
    6: ("day", "to_char((t.at AT TIME ZONE %(zone)s)::date, 'YYYY-MM-DD')"),
}


@dataclass(frozen=True, slots=True)
class Filter:
    partner: str = ""
    number: str = ""
    sender: str = ""
    statuses: tuple[int, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    direction: int = 0  # 0 both, MT, MO

    def where(self, params: dict[str, Any]) -> str:
        """The WHERE clause (conditions joined by AND, '' for none); fills ``params``."""
        conds: list[str] = []
        if self.partner:
            conds.append("t.partner_id = (SELECT id FROM partners WHERE login = %(partner)s)")
            params["partner"] = self.partner
        if self.number:
            conds.append("t.number = %(number)s")
            params["number"] = self.number
        if self.sender:
            conds.append("t.sender = %(sender)s")
            params["sender"] = self.sender
        if self.statuses:
            conds.append("t.status = ANY(%(statuses)s::int[])")
            params["statuses"] = list(self.statuses)
        if self.since is not None:
            conds.append("t.at >= %(since)s")
            params["since"] = self.since
        if self.until is not None:
            conds.append("t.at < %(until)s")
            params["until"] = self.until
        if self.direction:
            conds.append("t.direction = %(direction)s")
            params["direction"] = self.direction
        if self.since and self.until and self.since >= self.until:
            raise RcsError(Reason.INVALID_REQUEST, "filter.since must be before filter.until")
        return " WHERE " + " AND ".join(conds) if conds else ""


@dataclass(frozen=True, slots=True)
class SummaryRow:
    keys: dict[str, Any]  # dimension name -> value (str or int)
    messages: int
    parts: int


async def summarize(
    conn: psycopg.AsyncConnection[Any], f: Filter, group_by: Sequence[int], zone: str
) -> list[SummaryRow]:
    """Rows grouped by ``group_by`` (SummaryDimension values) in that order; with no
    dimension, one grand total row."""
    names: list[str] = []
    exprs: list[str] = []
    for d in group_by:
        if d not in DIMENSIONS:
            raise RcsError(
                Reason.INVALID_REQUEST,
                f"group_by {d} is not a summary dimension: use partner, operator, direction,"
                " channel, status or day",
            )
        name, expr = DIMENSIONS[d]
        if name in names:
            raise RcsError(Reason.INVALID_REQUEST, f"group_by names {name} twice")
        names.append(name)
        exprs.append(f"{expr} AS {name}")
    params: dict[str, Any] = {"zone": zone}
    where = f.where(params)
    select = ", ".join([*exprs, "count(*)", "COALESCE(sum(GREATEST(t.part_count, 1)), 0)"])
    query = _TRAFFIC + f"SELECT {select}{_FROM}{where}"
    if names:
        order = ", ".join(str(i + 1) for i in range(len(names)))
        query += f" GROUP BY {order} ORDER BY {order}"
    cur = await conn.execute(query, params)
    n = len(names)
    return [
        SummaryRow(dict(zip(names, row[:n], strict=True)), int(row[n]), int(row[n + 1]))
        for row in await cur.fetchall()
    ]


@dataclass(frozen=True, slots=True)
class Found:
    at: dt.datetime
    id: int
    direction: int
    partner: str
    operator: str
    channel: int
    number: str
    sender: str
    status: int
    error_code: int
    parts: int
    text: str


_SEARCH_COLUMNS = (
    "SELECT t.at, t.id, t.direction, COALESCE(p.login, ''), COALESCE(ops.operator, ''),"
    " t.channel, t.number, t.sender, t.status, t.error_code, t.part_count, t.body"
)


def _search_query(f: Filter, after: tuple[dt.datetime, int] | None) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    where = f.where(params)
    if after is not None:
        where += " AND " if where else " WHERE "
        where += "(t.at, t.id) > (%(after_at)s, %(after_id)s)"
        params["after_at"], params["after_id"] = after
    return _TRAFFIC + _SEARCH_COLUMNS + _FROM + where + " ORDER BY t.at, t.id", params


async def search_page(
    conn: psycopg.AsyncConnection[Any], f: Filter, page_size: int, token: str
) -> tuple[list[Found], str]:
    """One page, oldest first, and the token of the next ('' after the last)."""
    if not 0 <= page_size <= 1000:
        raise RcsError(Reason.INVALID_REQUEST, "page_size must be 1-1000 (0: 100)")
    size = page_size or 100
    query, params = _search_query(f, decode_token(token) if token else None)
    params["limit"] = size + 1
    cur = await conn.execute(query + " LIMIT %(limit)s", params)
    rows = [Found(*r) for r in await cur.fetchall()]
    if len(rows) <= size:
        return rows, ""
    last = rows[size - 1]
    return rows[:size], encode_token(last.at, last.id)


async def search_all(
    conn: psycopg.AsyncConnection[Any],
    f: Filter,
    batch: int = 5000,
    after: tuple[dt.datetime, int] | None = None,
) -> AsyncIterator[list[Found]]:
    """Every match (after ``after``, a (time, id) already returned), oldest first, in
    batches from a server-side cursor (flat memory). Runs in a transaction of its own."""
    query, params = _search_query(f, after)
    async with conn.transaction(), conn.cursor(name="report_export") as cur:
        await cur.execute(query, params)
        while rows := await cur.fetchmany(batch):
            yield [Found(*r) for r in rows]


def encode_token(at: dt.datetime, mid: int) -> str:
    micros = (at - _EPOCH) // _MICRO
    return base64.urlsafe_b64encode(f"{micros}:{mid}".encode()).decode().rstrip("=")


def decode_token(token: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        micros, mid = raw.split(":")
        at = _EPOCH + int(micros) * _MICRO
        return at, int(mid)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RcsError(
            Reason.INVALID_REQUEST, "page_token is not one this search returned: start without it"
        ) from exc
