"""The DWH database: its schema, the installation registry, and one batch of changes
applied in one transaction together with the Kafka offsets that carried it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from operator import itemgetter
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import AsyncConnectionPool

from rcs_capture import tables
from rcs_dwh.envelope import Change
from rcs_runtime.db import connect

log = logging.getLogger(__name__)
_LOCK_KEY = 0x7263735F647768  # "rcs_dwh"

# The typed transaction tables: installation column → DWH column, in COPY order.
_TX_COLUMNS: dict[str, tuple[str, ...]] = {
    "messages": (
        "id",
        "created_at",
        "partner_id",
        "channel",
        "destination",
        "sender",
        "status",
        "error_code",
        "status_at",
        "interface_id",
        "part_count",
        "traffic_type",
        "mailing",
    ),
    "status_events": (
        "event_id",
        "created_at",
        "message_id",
        "partner_id",
        "status",
        "error_code",
    ),
}
_META = ("installation_id", "cluster", "lsn", "source_at")


async def migrate(dsn: str) -> list[str]:
    """Bring the DWH schema up to date (rcs_dwh/migrations); returns the files applied."""
    folder = resources.files("rcs_dwh") / "migrations"
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    applied: list[str] = []
    async with await connect(dsn, autocommit=True, wait=30) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS dwh_schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT name FROM dwh_schema_migrations")
            done = {r[0] for r in await cur.fetchall()}
            for name in files:
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute((folder / name).read_text(encoding="utf-8").encode())
                    await conn.execute(
                        "INSERT INTO dwh_schema_migrations (name) VALUES (%s)", (name,)
                    )
                applied.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


@dataclass(frozen=True, slots=True)
class Parked:
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class Batch:
    """What one poll brought: changes with their cluster, parked events, next offsets."""

    changes: list[tuple[str, Change]] = field(default_factory=list)  # (cluster, change)
    parked: list[Parked] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)


def _text(b: bytes | None) -> str | None:
    return None if b is None else b.decode("utf-8", "replace")


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _pk(key: tuple[Any, ...]) -> str:
    return json.dumps(list(key), separators=(",", ":"), default=str)


class DwhStore:
    def __init__(self, pool: AsyncConnectionPool, group: str) -> None:
        self._pool = pool
        self._group = group
        self._months: set[tuple[str, int, int]] = set()

    async def register(self, installations: dict[int, str]) -> None:
        """Record (or move) installations in the registry."""
        async with self._pool.connection() as conn:
            await conn.cursor().executemany(
                "INSERT INTO dwh_installations (installation_id, cluster) VALUES (%s, %s)"
                " ON CONFLICT (installation_id) DO UPDATE SET cluster = EXCLUDED.cluster,"
                " updated_at = now() WHERE dwh_installations.cluster <> EXCLUDED.cluster",
                list(installations.items()),
            )

    async def registry(self) -> dict[int, str]:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT installation_id, cluster FROM dwh_installations")
            return {int(i): str(c) for i, c in await cur.fetchall()}

    async def apply(self, batch: Batch) -> None:
        """Everything in ``batch`` and its offsets, in one transaction."""
        tx: dict[str, dict[tuple[Any, ...], tuple[str, Change]]] = {
            t: {} for t in tables.TRANSACTION_TABLES
        }
        settings: list[tuple[str, Change]] = []
        truncates: list[tuple[str, Change]] = []
        for cluster, ch in batch.changes:
            if ch.op == "t":
                truncates.append((cluster, ch))
            elif ch.table in tx:
                # One change per row and batch (an upsert may touch a row once): the one
                # with the highest LSN, the later one of equals.
                key = (ch.installation_id, *ch.key)
                seen = tx[ch.table].get(key)
                if seen is None or seen[1].lsn <= ch.lsn:
                    tx[ch.table][key] = (cluster, ch)
            else:
                settings.append((cluster, ch))
        async with self._pool.connection() as conn, conn.transaction():
            for table, latest in tx.items():
                if latest:
                    await self._ensure_partitions(conn, table, latest.values())
                    await self._upsert_tx(conn, table, list(latest.values()))
            if settings:
                await self._apply_settings(conn, settings)
            for cluster, ch in truncates:
                await self._truncate(conn, cluster, ch)
            if batch.parked:
                await conn.cursor().executemany(
                    "INSERT INTO dwh_dead_letters (topic, kafka_partition, kafka_offset, reason,"
                    " detail, record_key, record_value) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [
                        (
                            p.topic,
                            p.partition,
                            p.offset,
                            p.reason,
                            p.detail,
                            _text(p.key),
                            _text(p.value),
                        )
                        for p in batch.parked
                    ],
                )
            if batch.offsets:
                await conn.cursor().executemany(
                    "INSERT INTO dwh_offsets (consumer_group, topic, kafka_partition, next_offset)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (consumer_group, topic, kafka_partition)"
                    " DO UPDATE SET next_offset = EXCLUDED.next_offset",
                    [(self._group, t, p, o) for (t, p), o in batch.offsets.items()],
                )

    async def _ensure_partitions(
        self,
        conn: psycopg.AsyncConnection[Any],
        table: str,
        rows: Iterable[tuple[str, Change]],
    ) -> None:
        months = set()
        for _, ch in rows:
            assert ch.row is not None or ch.op == "d"
            created = str(ch.key[1])  # created_at is the second key column of both tables
            months.add((table, int(created[0:4]), int(created[5:7])))
        for t, y, m in months - self._months:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY + 1,))
            ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                ).format(
                    sql.Identifier(f"dwh_{t}_{y:04d}_{m:02d}"),
                    sql.Identifier(f"dwh_{t}"),
                    sql.Literal(f"{y:04d}-{m:02d}-01 00:00:00+00"),
                    sql.Literal(f"{ny:04d}-{nm:02d}-01 00:00:00+00"),
                )
            )
            self._months.add((t, y, m))

    async def _upsert_tx(
        self, conn: psycopg.AsyncConnection[Any], table: str, rows: Sequence[tuple[str, Change]]
    ) -> None:
        cols = _TX_COLUMNS[table]
        key_cols = tables.PRIMARY_KEYS[table]
        target = sql.Identifier(f"dwh_{table}")
        stage = sql.Identifier(f"stage_{table}")
        upserts = [(c, ch) for c, ch in rows if ch.op != "d"]
        deletes = [(c, ch) for c, ch in rows if ch.op == "d"]
        if upserts:
            # The commit time travels as Debezium's milliseconds and becomes a timestamptz in
            # PostgreSQL: no datetime made and formatted per row (with the itemgetter, write_row
            # went from 12 to 5 µs a row in a profile). Rows as JSON typed by
            # jsonb_populate_record cost PostgreSQL more than they saved here.
            picked = sql.SQL(", ").join(
                sql.Identifier(c) for c in (*cols, "installation_id", "cluster", "lsn")
            )
            await conn.execute(
                sql.SQL(
                    "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS"
                    " SELECT {}, 0::bigint AS source_ms FROM {} WITH NO DATA"
                ).format(stage, picked, target)
            )
            staged = sql.SQL(", ").join([picked, sql.Identifier("source_ms")])
            async with conn.cursor().copy(
                sql.SQL("COPY {} ({}) FROM STDIN").format(stage, staged)
            ) as copy:
                values = itemgetter(*cols)  # every one is there: envelope checked them
                for cluster, ch in upserts:
                    assert ch.row is not None
                    await copy.write_row(
                        (*values(ch.row), ch.installation_id, cluster, ch.lsn, ch.source_ts_ms)
                    )
            conflict = sql.SQL(", ").join(sql.Identifier(c) for c in ("installation_id", *key_cols))
            updates = sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                for c in (*cols, *_META, "deleted")
                if c not in key_cols and c != "installation_id"
            )
            all_cols = sql.SQL(", ").join(sql.Identifier(c) for c in (*cols, *_META))
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {t} ({cols}) SELECT {picked},"
                    " 'epoch'::timestamptz + source_ms * interval '1 millisecond' FROM {s}"
                    " ON CONFLICT ({k}) DO UPDATE SET {u}, ingested_at = clock_timestamp()"
                    " WHERE {t}.lsn <= EXCLUDED.lsn"
                ).format(t=target, s=stage, cols=all_cols, picked=picked, k=conflict, u=updates)
            )
        if deletes:
            where = sql.SQL(" AND ").join(
                sql.SQL("{} = %s").format(sql.Identifier(c)) for c in key_cols
            )
            await conn.cursor().executemany(
                sql.SQL(
                    "UPDATE {} SET deleted = true, lsn = %s, source_at = %s,"
                    " ingested_at = clock_timestamp()"
                    " WHERE installation_id = %s AND {} AND lsn <= %s"
                ).format(target, where),
                [
                    (ch.lsn, _ts(ch.source_ts_ms), ch.installation_id, *ch.key, ch.lsn)
                    for _, ch in deletes
                ],
            )

    async def _apply_settings(
        self, conn: psycopg.AsyncConnection[Any], changes: list[tuple[str, Change]]
    ) -> None:
        history = [
            (
                ch.installation_id,
                ch.table,
                _pk(ch.key),
                ch.lsn,
                ch.op,
                cluster,
                None if ch.row is None else json.dumps(ch.row),
                _ts(ch.source_ts_ms),
            )
            for cluster, ch in changes
        ]
        cur = conn.cursor()
        await cur.executemany(
            "INSERT INTO dwh_settings_history (installation_id, table_name, pk, lsn, op, cluster,"
            " data, source_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            history,
        )
        latest: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for h in history:
            inst, table, pk, lsn, op, cluster, data, at = h
            seen = latest.get((cluster, table, pk))
            if seen is None or seen[3] != inst or seen[4] <= lsn:
                latest[(cluster, table, pk)] = (
                    cluster,
                    table,
                    pk,
                    inst,
                    lsn,
                    op,
                    op == "d",
                    data,
                    at,
                )
        # A row moves on with a newer change from the same installation, or with any change
        # from another one (a new master after a failover; its LSNs are its own).
        await cur.executemany(
            "INSERT INTO dwh_settings_current (cluster, table_name, pk, installation_id, lsn, op,"
            " deleted, data, source_at) VALUES (%s, %s, %s, %s, %s, %s, %s,"
            " COALESCE(%s::jsonb, (SELECT data FROM dwh_settings_current c WHERE"
            " c.cluster = %s AND c.table_name = %s AND c.pk = %s)), %s)"
            " ON CONFLICT (cluster, table_name, pk) DO UPDATE SET"
            " installation_id = EXCLUDED.installation_id, lsn = EXCLUDED.lsn, op = EXCLUDED.op,"
            " deleted = EXCLUDED.deleted, data = EXCLUDED.data, source_at = EXCLUDED.source_at,"
            " ingested_at = clock_timestamp()"
            " WHERE dwh_settings_current.installation_id <> EXCLUDED.installation_id"
            " OR dwh_settings_current.lsn <= EXCLUDED.lsn",
            [(*v[:8], v[0], v[1], v[2], v[8]) for v in latest.values()],
        )

    async def _truncate(self, conn: psycopg.AsyncConnection[Any], cluster: str, ch: Change) -> None:
        if ch.table in tables.TRANSACTION_TABLES:
            # Journal tables are emptied by retention on the installation, not in the DWH.
            log.info(
                "dwh_truncate_kept", extra={"table": ch.table, "installation": ch.installation_id}
            )
            return
        await conn.execute(
            "UPDATE dwh_settings_current SET deleted = true, op = 't', lsn = %s, source_at = %s,"
            " ingested_at = clock_timestamp() WHERE cluster = %s AND table_name = %s"
            " AND installation_id = %s AND lsn <= %s",
            (ch.lsn, _ts(ch.source_ts_ms), cluster, ch.table, ch.installation_id, ch.lsn),
        )

    async def stored_offsets(self) -> dict[tuple[str, int], int]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT topic, kafka_partition, next_offset FROM dwh_offsets"
                " WHERE consumer_group = %s",
                (self._group,),
            )
            return {(t, int(p)): int(o) for t, p, o in await cur.fetchall()}
