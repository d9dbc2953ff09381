"""Mailings' SQL: the mailing rows, their recipients (loaded through a staging table by
COPY, so a million lines stream through in constant memory), the lines refused, progress
from the messages the recipients became, and the feeder's claim of the next recipients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from rcs_core.mailings.domain import Spec, State
from rcs_core.messages.statuses import Status
from rcs_runtime.errors import RcsError, Reason

# Platform filtering (black list, inactive number, white list): REJECTED with code 10.
FILTERED = 10


@dataclass(frozen=True, slots=True)
class MailingRow:
    id: int
    partner: str
    partner_id: int
    name: str
    source_key: str | None
    sender: str
    text: str
    state: State
    auto_start: bool
    start_at: dt.datetime | None
    end_at: dt.datetime | None
    window: tuple[int, int] | None
    window_subscriber_zone: bool
    priority: int
    rate_per_second: int
    total: int
    fed: int
    created_at: dt.datetime
    ended_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    accepted: int
    sent: int = 0
    delivered: int = 0
    undelivered: int = 0
    blocked: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    line: int
    destination: str
    reason: str


@dataclass(frozen=True, slots=True)
class RecipientStatus:
    seq: int
    line: int
    destination: str
    external_id: str
    message_id: int | None
    status: int


_COLUMNS = (
    "m.id, p.login, m.partner_id, m.name, m.source_key, m.sender, m.text, m.state,"
    " m.auto_start, m.start_at, m.end_at, m.window_begin, m.window_end,"
    " m.window_subscriber_zone, m.priority, m.rate_per_second, m.total, m.fed,"
    " m.created_at, m.ended_at"
)


def _row(r: tuple[Any, ...]) -> MailingRow:
    return MailingRow(
        id=int(r[0]),
        partner=str(r[1]),
        partner_id=int(r[2]),
        name=str(r[3]),
        source_key=r[4],
        sender=str(r[5]),
        text=str(r[6]),
        state=State(r[7]),
        auto_start=bool(r[8]),
        start_at=r[9],
        end_at=r[10],
        window=None if r[11] is None else (int(r[11]), int(r[12])),
        window_subscriber_zone=bool(r[13]),
        priority=int(r[14]),
        rate_per_second=int(r[15]),
        total=int(r[16]),
        fed=int(r[17]),
        created_at=r[18],
        ended_at=r[19],
    )


async def get(
    conn: psycopg.AsyncConnection, mailing_id: int, *, for_update: bool = False
) -> MailingRow | None:
    lock = " FOR UPDATE OF m" if for_update else ""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM mailings m JOIN partners p ON p.id = m.partner_id"  # noqa: S608 (constant columns)
        f" WHERE m.id = %s{lock}",
        (mailing_id,),
    )
    row = await cur.fetchone()
    return None if row is None else _row(row)


async def by_source(
    conn: psycopg.AsyncConnection, partner_id: int, source_key: str
) -> MailingRow | None:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM mailings m JOIN partners p ON p.id = m.partner_id"  # noqa: S608 (constant columns)
        " WHERE m.partner_id = %s AND m.source_key = %s",
        (partner_id, source_key),
    )
    row = await cur.fetchone()
    return None if row is None else _row(row)


async def list_page(
    conn: psycopg.AsyncConnection, partner_id: int | None, before_id: int | None, limit: int
) -> list[MailingRow]:
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM mailings m JOIN partners p ON p.id = m.partner_id"  # noqa: S608 (constant columns)
        " WHERE (%s::bigint IS NULL OR m.partner_id = %s) AND (%s::bigint IS NULL OR m.id < %s)"
        " ORDER BY m.id DESC LIMIT %s",
        (partner_id, partner_id, before_id, before_id, limit),
    )
    return [_row(r) for r in await cur.fetchall()]


async def insert(
    conn: psycopg.AsyncConnection, partner_id: int, spec: Spec, state: State
) -> int | None:
    """The new mailing's id; None when the partner has a mailing with this source_key
    (a concurrent creation waits for the first to commit). A name already used is
    MAILING_NAME_TAKEN."""
    begin, end = spec.window or (None, None)
    cur = await conn.execute(
        "INSERT INTO mailings (partner_id, name, source_key, sender, text, state, auto_start,"
        " start_at, end_at, window_begin, window_end, window_subscriber_zone, priority,"
        " rate_per_second) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING id",
        (
            partner_id,
            spec.name,
            spec.source_key,
            spec.sender,
            spec.text,
            int(state),
            spec.auto_start,
            spec.start_at,
            spec.end_at,
            begin,
            end,
            spec.window_subscriber_zone,
            spec.priority,
            spec.rate_per_second,
        ),
    )
    row = await cur.fetchone()
    if row is not None:
        return int(row[0])
    if spec.source_key and await by_source(conn, partner_id, spec.source_key):
        return None
    raise RcsError(
        Reason.MAILING_NAME_TAKEN,
        f"this login already has a mailing named {spec.name!r}; give the new one another name",
        field="name",
    )


async def open_staging(conn: psycopg.AsyncConnection) -> None:
    await conn.execute(
        "CREATE TEMP TABLE mailing_staging (line bigint, destination text, text text,"
        " external_id text, params text[]) ON COMMIT DROP"
    )


StagedRow = tuple[int, str, str, str | None, list[str] | None]


async def stage(conn: psycopg.AsyncConnection, rows: Sequence[StagedRow]) -> None:
    async with (
        conn.cursor() as cur,
        cur.copy(
            "COPY mailing_staging (line, destination, text, external_id, params) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            await copy.write_row(row)


async def refuse(
    conn: psycopg.AsyncConnection, mailing_id: int, refused: Sequence[Refusal]
) -> None:
    if not refused:
        return
    await conn.execute(
        "INSERT INTO mailing_refusals (mailing_id, line, destination, reason)"
        " SELECT %s, l, d, r FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS t(l, d, r)",
        (
            mailing_id,
            [r.line for r in refused],
            [r.destination for r in refused],
            [r.reason for r in refused],
        ),
    )


async def load_staged(conn: psycopg.AsyncConnection, mailing_id: int, partner_id: int) -> int:
    """Staged lines become recipients, in line order, except black-listed numbers (the
    partner's list or the global one), repeats of a number and repeats of a partner's id
    (SID files; the id becomes the message's client_ref) — the first is kept — which are
    refused. Returns how many were loaded.

    Set-wise with hashing, no sort by number: the first line of each number by GROUP BY,
    the black-listed numbers by one join with the black list (a window over the numbers
    sorted a million text keys in the collation, two thirds of a 1M-line load)."""
    # A million numbers hashed and a million lines sorted fit in memory with this (the
    # default 4 MB spills them to disk); for this transaction only.
    await conn.execute("SET LOCAL work_mem = '128MB'")
    await conn.execute("ANALYZE mailing_staging")
    await conn.execute(
        "CREATE TEMP TABLE mailing_firsts ON COMMIT DROP AS"
        " SELECT min(line) AS line FROM mailing_staging GROUP BY destination"
    )
    await conn.execute(
        "CREATE TEMP TABLE mailing_id_repeats ON COMMIT DROP AS"
        " SELECT s.line FROM mailing_staging s JOIN ("
        "  SELECT external_id, min(line) AS line FROM mailing_staging"
        "  WHERE external_id IS NOT NULL GROUP BY external_id HAVING count(*) > 1) d"
        " ON d.external_id = s.external_id AND s.line <> d.line"
    )
    await conn.execute(
        "CREATE TEMP TABLE mailing_black ON COMMIT DROP AS"
        " SELECT DISTINCT s.destination FROM mailing_staging s JOIN blacklist b"
        " ON b.number = s.destination AND (b.partner_id IS NULL OR b.partner_id = %s)",
        (partner_id,),
    )
    await conn.execute("ANALYZE mailing_firsts")
    await conn.execute("ANALYZE mailing_black")
    await conn.execute("ANALYZE mailing_id_repeats")
    await conn.execute(
        "INSERT INTO mailing_refusals (mailing_id, line, destination, reason)"
        " SELECT %s, s.line, s.destination,"
        " CASE WHEN f.line IS NULL THEN 'DUPLICATE_DESTINATION'"
        " WHEN i.line IS NOT NULL THEN 'DUPLICATE_ID' ELSE 'BLACKLISTED' END"
        " FROM mailing_staging s LEFT JOIN mailing_firsts f ON f.line = s.line"
        " LEFT JOIN mailing_id_repeats i ON i.line = s.line"
        " WHERE f.line IS NULL OR i.line IS NOT NULL"
        " OR EXISTS (SELECT 1 FROM mailing_black k WHERE k.destination = s.destination)",
        (mailing_id,),
    )
    cur = await conn.execute(
        "INSERT INTO mailing_recipients (mailing_id, seq, line, destination, text,"
        " external_id, params)"
        " SELECT %s, row_number() OVER (ORDER BY s.line), s.line, s.destination, s.text,"
        " s.external_id, s.params FROM mailing_staging s JOIN mailing_firsts f ON f.line = s.line"
        " WHERE NOT EXISTS (SELECT 1 FROM mailing_black k WHERE k.destination = s.destination)"
        " AND NOT EXISTS (SELECT 1 FROM mailing_id_repeats i WHERE i.line = s.line)",
        (mailing_id,),
    )
    total = cur.rowcount
    await conn.execute("UPDATE mailings SET total = %s WHERE id = %s", (total, mailing_id))
    return total


async def refusals(conn: psycopg.AsyncConnection, mailing_id: int) -> list[Refusal]:
    cur = await conn.execute(
        "SELECT line, destination, reason FROM mailing_refusals WHERE mailing_id = %s"
        " ORDER BY line",
        (mailing_id,),
    )
    return [Refusal(int(a), str(b), str(c)) for a, b, c in await cur.fetchall()]


async def set_state(
    conn: psycopg.AsyncConnection, mailing_id: int, state: State, *, reset_credit: bool = False
) -> None:
    """A new state; a final one records its time. ``reset_credit``: the rate counts from
    now (a start or resume does not inherit a burst from before)."""
    await conn.execute(
        "UPDATE mailings SET state = %s,"
        " ended_at = CASE WHEN %s THEN now() ELSE ended_at END,"
        " credit_at = CASE WHEN %s THEN now() ELSE credit_at END WHERE id = %s",
        (int(state), state.is_final, reset_credit, mailing_id),
    )


async def progress(conn: psycopg.AsyncConnection, m: MailingRow) -> Progress:
    """Counts by the statuses of the messages the recipients became."""
    if m.fed == 0:
        return Progress(total=m.total, accepted=0)
    cur = await conn.execute(
        "SELECT count(*) FILTER (WHERE s = %s),"
        " count(*) FILTER (WHERE s = ANY(%s)),"
        " count(*) FILTER (WHERE s = ANY(%s) OR (s = %s AND e <> %s)),"
        " count(*) FILTER (WHERE s = %s AND e = %s)"
        " FROM (SELECT m.status AS s, m.error_code AS e FROM mailing_recipients r"
        "  JOIN messages m ON m.id = r.message_id AND m.created_at = r.message_at"
        "  WHERE r.mailing_id = %s AND r.seq <= %s) AS t",
        (
            int(Status.SENT),
            [int(Status.DELIVERED), int(Status.READ)],
            [int(Status.UNDELIVERED), int(Status.EXPIRED)],
            int(Status.REJECTED),
            FILTERED,
            int(Status.REJECTED),
            FILTERED,
            m.id,
            m.fed,
        ),
    )
    row = await cur.fetchone()
    assert row is not None
    return Progress(m.total, m.fed, int(row[0]), int(row[1]), int(row[2]), int(row[3]))


async def recipients_page(
    conn: psycopg.AsyncConnection, mailing_id: int, after_seq: int, limit: int
) -> list[RecipientStatus]:
    cur = await conn.execute(
        "SELECT r.seq, r.line, r.destination, coalesce(r.external_id, ''), r.message_id,"
        " coalesce(m.status, 0) FROM mailing_recipients r"
        " LEFT JOIN messages m ON m.id = r.message_id AND m.created_at = r.message_at"
        " WHERE r.mailing_id = %s AND r.seq > %s ORDER BY r.seq LIMIT %s",
        (mailing_id, after_seq, limit),
    )
    return [
        RecipientStatus(int(a), int(b), str(c), str(d), e, int(f))
        for a, b, c, d, e, f in await cur.fetchall()
    ]


# -- the feeder -------------------------------------------------------------------------


async def active_ids(conn: psycopg.AsyncConnection) -> list[int]:
    cur = await conn.execute(
        "SELECT id FROM mailings WHERE state IN (%s, %s) ORDER BY id",
        (int(State.SCHEDULED), int(State.RUNNING)),
    )
    return [int(r[0]) for r in await cur.fetchall()]


@dataclass(frozen=True, slots=True)
class FeedClaim:
    """A running mailing locked for this transaction, with the database's clock."""

    mailing: MailingRow
    credit_at: dt.datetime
    default_ttl_seconds: int
    now: dt.datetime


async def claim(conn: psycopg.AsyncConnection, mailing_id: int) -> FeedClaim | None:
    """The mailing, locked, if it is active and no other feeder holds it."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS}, m.credit_at, p.default_ttl_seconds, now()"  # noqa: S608 (constant columns)
        " FROM mailings m JOIN partners p ON p.id = m.partner_id"
        " WHERE m.id = %s AND m.state IN (%s, %s) FOR UPDATE OF m SKIP LOCKED",
        (mailing_id, int(State.SCHEDULED), int(State.RUNNING)),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return FeedClaim(_row(row[:20]), row[20], int(row[21]), row[22])


@dataclass(frozen=True, slots=True)
class Pending:
    seq: int
    destination: str
    text: str
    params: list[str]
    external_id: str | None  # a SID file's id: the message's client_ref


async def next_recipients(
    conn: psycopg.AsyncConnection, mailing_id: int, after_seq: int, limit: int
) -> list[Pending]:
    cur = await conn.execute(
        "SELECT seq, destination, text, coalesce(params, '{}'), external_id"
        " FROM mailing_recipients WHERE mailing_id = %s AND seq > %s ORDER BY seq LIMIT %s",
        (mailing_id, after_seq, limit),
    )
    return [Pending(int(a), str(b), str(c), list(d), e) for a, b, c, d, e in await cur.fetchall()]


async def record_fed(
    conn: psycopg.AsyncConnection,
    mailing_id: int,
    seqs: Sequence[int],
    message_ids: Sequence[int],
    *,
    fed: int,
    credit_at: dt.datetime,
    state: State,
) -> None:
    """The recipients' messages and the mailing's new cursor, in the accept's transaction."""
    await conn.execute(
        "UPDATE mailing_recipients r SET message_id = t.mid, message_at = now()"
        " FROM unnest(%s::integer[], %s::bigint[]) AS t(seq, mid)"
        " WHERE r.mailing_id = %s AND r.seq = t.seq",
        (list(seqs), list(message_ids), mailing_id),
    )
    await conn.execute(
        "UPDATE mailings SET fed = %s, credit_at = %s, state = %s,"
        " ended_at = CASE WHEN %s THEN now() ELSE ended_at END WHERE id = %s",
        (fed, credit_at, int(state), state.is_final, mailing_id),
    )


async def hold(conn: psycopg.AsyncConnection, mailing_id: int, credit_at: dt.datetime) -> None:
    """Nothing fed now (window closed): the rate counts from now when it opens."""
    await conn.execute("UPDATE mailings SET credit_at = %s WHERE id = %s", (credit_at, mailing_id))
