"""Credentials as settings rows that a cluster copies: partner API keys and administrators.

Each change is a settings revision (so a standby refuses it, like every settings write, and
its sync copies it with the hash, never the clear secret), but a rollback skips them
(``store.restore``): a settings rollback must never bring a revoked key or an old password back.
Keys are written with the master's id, so a key means the same key on every installation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypedDict, cast

from rcs_core.settings.spec import Conn
from rcs_core.settings.states import RowState

API_KEY = "api_key"
ADMIN = "admin"


class ApiKeyState(TypedDict):
    id: int
    partner: str
    key_sha256: str  # hex
    prefix: str
    note: str
    created_at: str  # ISO 8601
    revoked_at: str | None


class AdminState(TypedDict):
    login: str
    password_hash: str


def _iso(t: dt.datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


async def api_key_state(conn: Conn, key: str) -> ApiKeyState | None:
    cur = await conn.execute(
        "SELECT k.id, p.login, k.key_sha256, k.prefix, k.note, k.created_at, k.revoked_at"
        " FROM partner_api_keys k JOIN partners p ON p.id = k.partner_id WHERE k.id = %s",
        (int(key),),
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return ApiKeyState(
        id=row[0],
        partner=row[1],
        key_sha256=bytes(row[2]).hex(),
        prefix=row[3],
        note=row[4],
        created_at=str(_iso(row[5])),
        revoked_at=_iso(row[6]),
    )


async def put_api_key(conn: Conn, key: str, state: ApiKeyState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM partner_api_keys WHERE id = %s", (int(key),))
        return
    await conn.execute(
        "INSERT INTO partner_api_keys (id, partner_id, key_sha256, prefix, note, created_at,"
        " revoked_at) VALUES (%s, (SELECT id FROM partners WHERE login = %s), %s, %s, %s,"
        " %s::timestamptz, %s::timestamptz)"
        " ON CONFLICT (id) DO UPDATE SET partner_id = EXCLUDED.partner_id,"
        " key_sha256 = EXCLUDED.key_sha256, prefix = EXCLUDED.prefix, note = EXCLUDED.note,"
        " created_at = EXCLUDED.created_at, revoked_at = EXCLUDED.revoked_at",
        (
            int(key),
            state["partner"],
            bytes.fromhex(state["key_sha256"]),
            state["prefix"],
            state["note"],
            state["created_at"],
            state["revoked_at"],
        ),
    )
    # A standby promoted later issues keys after the copied ones.
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('partner_api_keys', 'id'),"
        " greatest((SELECT max(id) FROM partner_api_keys),"
        " (SELECT last_value FROM partner_api_keys_id_seq)))"
    )


async def admin_state(conn: Conn, login: str) -> AdminState | None:
    cur = await conn.execute("SELECT login, password_hash FROM admins WHERE login = %s", (login,))
    row = await cur.fetchone()
    return AdminState(login=row[0], password_hash=row[1]) if row else None


async def put_admin(conn: Conn, login: str, state: AdminState | None) -> None:
    if state is None:
        await conn.execute("DELETE FROM admins WHERE login = %s", (login,))
        return
    await conn.execute(
        "INSERT INTO admins (login, password_hash) VALUES (%s, %s)"
        " ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash",
        (login, state["password_hash"]),
    )


@dataclass(frozen=True, slots=True)
class _ApiKeySpec:
    entity: str = API_KEY
    rank: int = 1  # after its partner

    async def read_row(self, conn: Conn, key: str) -> RowState | None:
        return await api_key_state(conn, key)

    async def write_row(self, conn: Conn, key: str, state: RowState | None) -> None:
        await put_api_key(conn, key, cast("ApiKeyState | None", state))


@dataclass(frozen=True, slots=True)
class _AdminSpec:
    entity: str = ADMIN
    rank: int = 0

    async def read_row(self, conn: Conn, key: str) -> RowState | None:
        return await admin_state(conn, key)

    async def write_row(self, conn: Conn, key: str, state: RowState | None) -> None:
        await put_admin(conn, key, cast("AdminState | None", state))


API_KEY_SPEC = _ApiKeySpec()
ADMIN_SPEC = _AdminSpec()
