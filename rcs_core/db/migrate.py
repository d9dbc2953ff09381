"""Apply the ordered SQL files in rcs_core/migrations, each once, each in its own transaction.

A session advisory lock makes concurrent runs (several processes starting at once) safe.
"""

from __future__ import annotations

import logging
from importlib import resources

import psycopg

from rcs_core.db import partitions
from rcs_runtime.db import connect

log = logging.getLogger(__name__)
_LOCK_KEY = 0x7263735F6D6967  # "rcs_mig"


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("rcs_core") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name, (folder / name).read_text(encoding="utf-8")) for name in names]


async def migrate(
    dsn: str, installation_id: int, *, days_ahead: int = 3, wait: float = 30.0
) -> list[str]:
    """Bring the schema up to date; returns the names of the files applied now. Waits up to
    ``wait`` seconds for the database, as the process's pool does after it."""
    applied_now: list[str] = []
    async with await connect(dsn, autocommit=True, wait=wait) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            cur = await conn.execute("SELECT name FROM schema_migrations")
            done = {row[0] for row in await cur.fetchall()}
            for name, sql in migration_files():
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql.encode())
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                applied_now.append(name)
                log.info("migration_applied", extra={"migration": name})
            await _claim_installation_id(conn, installation_id)
            await partitions.maintain(conn, days_ahead=days_ahead, retention_days=None)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now


async def _claim_installation_id(conn: psycopg.AsyncConnection, installation_id: int) -> None:
    cur = await conn.execute("SELECT installation_id FROM installation")
    row = await cur.fetchone()
    if row is None:
        await conn.execute(
            "INSERT INTO installation (installation_id) VALUES (%s)", (installation_id,)
        )
    elif row[0] != installation_id:
        raise RuntimeError(
            f"this database belongs to installation {row[0]}, but RCS_INSTALLATION_ID is "
            f"{installation_id}: set RCS_INSTALLATION_ID={row[0]} or use another database"
        )
