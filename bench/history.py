"""Past days of traffic in a bench database, so a benchmark meets the partitions a running
installation has: one per day of retention (30 by default), each with its messages and
operator ids. A fresh database has five nearly empty partitions, which hides any statement
that looks in every partition instead of the one its row is in.
"""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

# Ids far above what the bench's own traffic allocates (nextval * 1024 + installation).
_FIRST_ID = 10**15
_TABLES = ("messages", "status_events", "operator_ids")


async def fill_history(dsn: str, days: int, per_day: int) -> None:
    """Create the partitions of the ``days`` days before yesterday and store ``per_day``
    delivered SMS in each, with their operator ids; then VACUUM and ANALYZE them, as
    autovacuum has in a running installation. (ANALYZE alone left autovacuum to vacuum
    the freshly inserted days during the run, on the CPU the run measures.)"""
    if days <= 0:
        return
    today = dt.datetime.now(dt.UTC).date()
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        cur = await conn.execute("SELECT id FROM partners ORDER BY id LIMIT 1")
        row = await cur.fetchone()
        if row is None:
            raise RuntimeError("seed the database before filling its history")
        partner = row[0]
        for n in range(2, days + 2):
            day = today - dt.timedelta(days=n)
            start = dt.datetime.combine(day, dt.time(), dt.UTC)
            for table in _TABLES:
                await conn.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                    ).format(
                        sql.Identifier(f"{table}_p{day:%Y%m%d}"),
                        sql.Identifier(table),
                        sql.Literal(start),
                        sql.Literal(start + dt.timedelta(days=1)),
                    )
                )
            first = _FIRST_ID + n * per_day
            await conn.execute(
                "INSERT INTO messages (id, created_at, partner_id, channel, destination, sender,"
                " body, valid_until, receipt_request, status, status_at, interface_id,"
                " part_count)"
                " SELECT %(first)s + g, %(start)s + g * %(step)s, %(partner)s, 1,"
                " '7916' || lpad((g %% 10000000)::text, 7, '0'), 'RCS', 'history ' || g,"
                " %(start)s + interval '1 day', 1, 3, %(start)s + g * %(step)s + interval '5 s',"
                " 'smsc-sim', 1"
                " FROM generate_series(0, %(n)s - 1) AS g",
                {
                    "first": first,
                    "start": start,
                    "step": dt.timedelta(days=1) / per_day,
                    "partner": partner,
                    "n": per_day,
                },
            )
            await conn.execute(
                "INSERT INTO operator_ids (interface_id, operator_key, alt_key, message_id,"
                " part_no, status, created_at)"
                " SELECT 'smsc-sim', to_hex(%(first)s + g), ((%(first)s + g) * 7)::text,"
                " %(first)s + g, 1, 3, %(start)s + g * %(step)s + interval '1 s'"
                " FROM generate_series(0, %(n)s - 1) AS g",
                {
                    "first": first,
                    "start": start,
                    "step": dt.timedelta(days=1) / per_day,
                    "n": per_day,
                },
            )
            # The inserts' counts reach the statistics up to 10 s after the fact: after the
            # VACUUM, they would count as rows inserted since, and autovacuum would vacuum
            # the day again during the run. Flushed first, the VACUUM clears them.
            await conn.execute("SELECT pg_stat_force_next_flush()")
            for table in _TABLES:  # not the parents: that would stamp today's empty partition
                await conn.execute(
                    sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(f"{table}_p{day:%Y%m%d}"))
                )
