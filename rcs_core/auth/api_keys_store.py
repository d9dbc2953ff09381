"""Partner API keys: issued at random, stored as SHA-256, looked up by hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string
from dataclasses import dataclass

import psycopg

KEY_LENGTH = 30  # Rapporto's REST_BATCH: at most 30 Latin letters and digits
PREFIX_LENGTH = 6
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    id: int
    partner: str
    prefix: str
    note: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def new_key() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(KEY_LENGTH))


def key_hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


async def create(
    conn: psycopg.AsyncConnection, partner_id: int, note: str
) -> tuple[ApiKeyRow, str]:
    key = new_key()
    cur = await conn.execute(
        "WITH k AS (INSERT INTO partner_api_keys (partner_id, key_sha256, prefix, note)"
        " VALUES (%s, %s, %s, %s) RETURNING *)"
        " SELECT k.id, p.login, k.prefix, k.note, k.created_at, k.revoked_at"
        " FROM k JOIN partners p ON p.id = k.partner_id",
        (partner_id, key_hash(key), key[:PREFIX_LENGTH], note),
    )
    row = await cur.fetchone()
    assert row is not None
    return ApiKeyRow(*row), key


async def of_partner(conn: psycopg.AsyncConnection, partner_id: int) -> list[ApiKeyRow]:
    cur = await conn.execute(
        "SELECT k.id, p.login, k.prefix, k.note, k.created_at, k.revoked_at"
        " FROM partner_api_keys k JOIN partners p ON p.id = k.partner_id"
        " WHERE k.partner_id = %s ORDER BY k.id DESC",
        (partner_id,),
    )
    return [ApiKeyRow(*row) for row in await cur.fetchall()]


async def revoke(conn: psycopg.AsyncConnection, partner_id: int, key_id: int) -> ApiKeyRow | None:
    cur = await conn.execute(
        "WITH k AS (UPDATE partner_api_keys SET revoked_at = coalesce(revoked_at, now())"
        " WHERE id = %s AND partner_id = %s RETURNING *)"
        " SELECT k.id, p.login, k.prefix, k.note, k.created_at, k.revoked_at"
        " FROM k JOIN partners p ON p.id = k.partner_id",
        (key_id, partner_id),
    )
    row = await cur.fetchone()
    return ApiKeyRow(*row) if row else None


async def partner_of(conn: psycopg.AsyncConnection, key: str) -> str | None:
    """The login whose working (not revoked) key this is."""
    cur = await conn.execute(
        "SELECT p.login FROM partner_api_keys k JOIN partners p ON p.id = k.partner_id"
        " WHERE k.key_sha256 = %s AND k.revoked_at IS NULL",
        (key_hash(key),),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None
