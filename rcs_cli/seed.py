"""Demo data for the embedded installation: partner demo/demo routed to the SMSC simulator;
the first administrator with a generated password (``ensure_admin``, issue 14: a fixed
admin/admin was open to anyone who read the README); and `rcs admin-user` to manage
administrators."""

from __future__ import annotations

import secrets

import psycopg

from rcs_core.passwords import hash_password
from rcs_core.storage import partners


async def seed_demo(dsn: str, *, smsc_host: str, smsc_port: int) -> None:
    """Idempotent: a second run keeps the data and only refreshes the demo rows."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await partners.upsert(conn, "demo", "demo", default_sender="RCS")
        cur = await conn.execute(
            "INSERT INTO operators (name, mcc, mnc) VALUES ('Demo Mobile', '250', '99')"
            " ON CONFLICT (name) DO UPDATE SET mcc = EXCLUDED.mcc RETURNING id"
        )
        row = await cur.fetchone()
        assert row is not None
        operator_id = row[0]
        cur = await conn.execute(
            "INSERT INTO directions (name, operator_id) VALUES ('Russia (demo)', %s)"
            " ON CONFLICT (name) DO UPDATE SET operator_id = EXCLUDED.operator_id RETURNING id",
            (operator_id,),
        )
        row = await cur.fetchone()
        assert row is not None
        await conn.execute(
            "INSERT INTO direction_prefixes (prefix, direction_id) VALUES ('7', %s)"
            " ON CONFLICT (prefix) DO NOTHING",
            (row[0],),
        )
        await conn.execute(
            "INSERT INTO interfaces (id, host, port, system_id, password, window_size)"
            " VALUES ('smsc-sim', %s, %s, 'rcs', 'secret', 50)"
            " ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port",
            (smsc_host, smsc_port),
        )
        await conn.execute(
            "INSERT INTO operator_routes (operator_id, interface_id) VALUES (%s, 'smsc-sim')"
            " ON CONFLICT DO NOTHING",
            (operator_id,),
        )
        await conn.execute(
            "UPDATE settings_revision SET revision = revision + 1, changed_at = now()"
        )


async def upsert_admin(dsn: str, login: str, password: str) -> None:
    """Create an administrator or reset their password."""
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO admins (login, password_hash) VALUES (%s, %s)"
            " ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash",
            (login, hash_password(password)),
        )


async def ensure_admin(dsn: str, login: str = "admin") -> str | None:
    """When the installation has no administrator yet, create ``login`` with a random
    password and return it (to be shown once); None when there is one already."""
    password = secrets.token_urlsafe(12)
    async with await psycopg.AsyncConnection.connect(dsn) as conn, conn.transaction():
        cur = await conn.execute(
            "INSERT INTO admins (login, password_hash)"
            " SELECT %s, %s WHERE NOT EXISTS (SELECT 1 FROM admins) RETURNING login",
            (login, hash_password(password)),
        )
        created = await cur.fetchone()
    return password if created else None
